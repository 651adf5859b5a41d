//! Sockets and HTTP: the WebSocket upgrade with auth and Origin checks, the connection loop
//! that turns frames into protocol messages, and the admin HTTP API.
//!
//! Everything here is thin: it decodes, checks who is calling, and hands over to the hub.

pub mod admin;
pub mod auth;
pub mod console;
mod delivered;
pub mod keepalive;
pub mod limits;
pub mod logistics;
pub mod read_ahead;
pub mod routing;
pub mod shops;
pub mod ws;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, put};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::hub::Hub;
use auth::Authenticator;
use limits::Limits;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl AppState {
    pub fn new(inner: AppStateInner) -> Self {
        AppState(Arc::new(inner))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppStateInner;
    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

/// What `AppState` holds, behind one `Arc`: each connection task keeps 8 bytes of it rather
/// than a few hundred (a task's size is what an idle connection costs).
pub struct AppStateInner {
    pub hub: Hub,
    pub auth: Authenticator,
    pub config: Arc<Config>,
    pub limits: Limits,
    pub shutdown: CancellationToken,
    pub tasks: TaskTracker,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/ws", get(ws::upgrade))
        .merge(console::routes(&state.config.console))
        .route("/healthz", get(admin::healthz))
        .route("/metrics", get(admin::metrics))
        .route(
            "/v1/orders/{order_id}",
            put(admin::put_order).get(admin::get_order),
        )
        .route(
            "/v1/shops/{shop_id}/logistics",
            put(shops::put_logistics).get(shops::get_logistics),
        )
        .route(
            "/v1/shops/{shop_id}/service-report",
            get(shops::service_report_route),
        )
        .route(
            "/v1/sessions/{session_id}/eligibility",
            get(shops::get_eligibility),
        )
        .route(
            "/v1/sessions/{session_id}/logistics",
            get(logistics::session_logistics),
        )
        .route(
            "/v1/carriers/{carrier}/evaluations",
            get(logistics::carrier_evaluations),
        )
        .route("/v1/shops/{shop_id}/account", put(logistics::put_account))
        .route("/v1/shops/{shop_id}/ratings", get(logistics::shop_ratings))
        .route(
            "/v1/shops/{shop_id}/routing",
            put(routing::put_routing).get(routing::get_routing),
        )
        .route(
            "/v1/shops/{shop_id}/buyers/{buyer}",
            put(routing::put_buyer),
        )
        .route(
            "/v1/shops/{shop_id}/agents/{agent}/stats",
            put(routing::put_agent_stats),
        )
        .route(
            "/v1/sessions/{session_id}/routing",
            get(routing::session_routing),
        )
        .with_state(state)
}
