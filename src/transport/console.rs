//! The browser console at `/console` (issue 9): a page with a buyer, a shop agent and a courier
//! side by side, each a real WebSocket client of this hub.
//!
//! Owns serving the page's static files (`static/console/`: the page, its three ES modules and
//! its stylesheet), which are compiled into the binary (no build step), and, in development mode only (`console.dev_mode`), `POST /console/demo`: it seeds a
//! demo shop and a shipped order and mints the tokens the page connects with. Everything the
//! page shows comes from the ordinary protocol and admin API; nothing here talks to sessions.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use super::AppState;
use super::admin::ApiError;
use super::auth::{self, Claims, expiry_in};
use crate::config::ConsoleConfig;
use crate::domain::order::{Carrier, Order, OrderStatus, Parcel};
use crate::domain::shop::{ChosenCarrier, Enrollment, ShopLogistics};
use crate::protocol::Role;
use crate::protocol::ids::{OrderId, ShopId, UserId};

const INDEX_HTML: &str = include_str!("../../static/console/index.html");
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// The page's other files: name under `/console/`, content type, text.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.js",
        JAVASCRIPT,
        include_str!("../../static/console/app.js"),
    ),
    (
        "pane.js",
        JAVASCRIPT,
        include_str!("../../static/console/pane.js"),
    ),
    (
        "render.js",
        JAVASCRIPT,
        include_str!("../../static/console/render.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../static/console/style.css"),
    ),
];

/// Only the page's own files run and load; it connects back to this hub only (HTTP and
/// WebSocket), and nobody may frame it.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The demo's fixed names. Buyer and order get a fresh suffix per demo (see `seed_demo`).
const DEMO_SHOP: &str = "demo-shop";
const DEMO_SUB_ACCOUNT: &str = "demo-shop-zto";
const DEMO_AGENT: &str = "demo-agent";
const DEMO_COURIER: &str = "demo-courier";
const DEMO_ADMIN: &str = "demo-admin";
/// How long demo tokens live: a working day of trying things.
const DEMO_TOKEN_TTL: Duration = Duration::from_secs(12 * 3600);

/// The console's routes. Warns once when development mode hands out tokens to anyone.
pub fn routes(config: &ConsoleConfig) -> Router<AppState> {
    if config.dev_mode {
        tracing::warn!(
            "console.dev_mode is on: POST /console/demo mints tokens, admin included, for anyone \
             who can reach the hub; never turn it on in production"
        );
    }
    Router::new()
        .route("/console", get(index))
        .route("/console/", get(index))
        .route("/console/{asset}", get(asset_route))
        .route("/console/demo", post(demo))
}

fn asset(content_type: &'static str, body: impl IntoResponse) -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    (headers, body).into_response()
}

/// The page, told whether development mode is on and whether its own Origin will be let in:
/// a browser cannot see the 403 of a refused upgrade, so the page warns up front instead.
async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let allowed = &state.config.server.allowed_origins;
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_allowed = host.is_none_or(|host| {
        ["http", "https"]
            .iter()
            .any(|scheme| auth::is_origin_allowed(Some(&format!("{scheme}://{host}")), allowed))
    });
    let page = INDEX_HTML
        .replace("{{dev_mode}}", bool_text(state.config.console.dev_mode))
        .replace("{{origin_allowed}}", bool_text(origin_allowed));
    asset("text/html; charset=utf-8", page)
}

fn bool_text(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

async fn asset_route(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(file, _, _)| *file == name) {
        Some((_, content_type, text)) => asset(content_type, *text),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

/// What `POST /console/demo` answers: the names it seeded and a token for each pane.
#[derive(Debug, Serialize)]
pub struct Demo {
    pub shop_id: ShopId,
    pub order_id: OrderId,
    pub carrier: Carrier,
    pub waybill: String,
    pub users: DemoUsers,
    pub tokens: DemoTokens,
}

#[derive(Debug, Serialize)]
pub struct DemoUsers {
    pub buyer: UserId,
    pub agent: UserId,
    pub courier: UserId,
}

#[derive(Debug, Serialize)]
pub struct DemoTokens {
    pub buyer: String,
    pub agent: String,
    pub courier: String,
    /// For the decision panel: `GET /v1/sessions/{id}/eligibility` needs an admin token.
    pub admin: String,
}

/// Seeds a fresh demo and mints its tokens; 404 unless development mode is on, so a production
/// hub does not even admit the route exists.
async fn demo(State(state): State<AppState>) -> Result<Response, ApiError> {
    if !state.config.console.dev_mode {
        return Err(ApiError::not_found("no such route"));
    }
    let demo = seed_demo(&state).await?;
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    Ok((StatusCode::OK, no_store, Json(demo)).into_response())
}

/// The shop `demo-shop` with ZTO chosen, its agent `demo-agent` and the ZTO courier
/// `demo-courier` are the same every time, like a real desk. The buyer and the shipped order
/// are new on every call, so each demo starts a fresh conversation: a declined invite's
/// cool-down or a finished splice of an earlier demo never gets in the way.
async fn seed_demo(state: &AppState) -> Result<Demo, ApiError> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let run = &run[..6];
    let shop_id = demo_id::<ShopId>(DEMO_SHOP)?;
    let settings = ShopLogistics {
        enrollment: Enrollment::OptedIn,
        carriers: vec![ChosenCarrier {
            carrier: Carrier::Zto,
            sub_account: demo_id(DEMO_SUB_ACCOUNT)?,
        }],
    };
    let store = state.hub.store();
    store.put_shop_logistics(&shop_id, &settings).await?;
    let buyer = demo_id::<UserId>(&format!("demo-buyer-{run}"))?;
    let waybill = format!("ZT{}", u32::from_str_radix(run, 16).unwrap_or(0));
    let order = Order {
        order_id: demo_id(&format!("demo-order-{run}"))?,
        buyer: buyer.clone(),
        shop: shop_id.clone(),
        status: OrderStatus::Shipped,
        parcels: vec![Parcel {
            carrier: Carrier::Zto,
            waybill: waybill.clone(),
        }],
        updated_at: state.hub.now(),
    };
    order
        .validate()
        .map_err(|error| internal(format!("demo order: {error}")))?;
    store.put_order(&order).await?;
    let users = DemoUsers {
        buyer,
        agent: demo_id(DEMO_AGENT)?,
        courier: demo_id(DEMO_COURIER)?,
    };
    let tokens = mint_tokens(state, &users, &shop_id)?;
    Ok(Demo {
        shop_id,
        order_id: order.order_id,
        carrier: Carrier::Zto,
        waybill,
        users,
        tokens,
    })
}

fn mint_tokens(state: &AppState, users: &DemoUsers, shop: &ShopId) -> Result<DemoTokens, ApiError> {
    let mint = |sub: &UserId, role, shop: Option<&ShopId>, carrier| {
        let claims = Claims {
            sub: sub.clone(),
            role,
            shop: shop.cloned(),
            carrier,
            exp: expiry_in(DEMO_TOKEN_TTL),
        };
        state
            .auth
            .mint(&claims)
            .map_err(|error| internal(format!("minting a demo token: {error}")))
    };
    Ok(DemoTokens {
        buyer: mint(&users.buyer, Role::Buyer, None, None)?,
        agent: mint(&users.agent, Role::Agent, Some(shop), None)?,
        courier: mint(&users.courier, Role::Courier, None, Some(Carrier::Zto))?,
        admin: mint(&demo_id(DEMO_ADMIN)?, Role::Admin, None, None)?,
    })
}

/// The demo's names are ours and valid; a failure here is our bug, not the caller's.
fn demo_id<T: std::str::FromStr>(raw: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    raw.parse()
        .map_err(|error| internal(format!("demo id {raw:?}: {error}")))
}

fn internal(message: String) -> ApiError {
    tracing::error!(%message, "console demo failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error",
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::net::SocketAddr;

    use serde_json::Value;
    use tokio::sync::oneshot;

    use crate::config::Config;
    use crate::transport::auth::Authenticator;
    use crate::{Parts, run};

    /// The real hub on 127.0.0.1:0 with `[console] dev_mode` as given.
    async fn hub(dev_mode: bool) -> (SocketAddr, Config, oneshot::Sender<()>) {
        let mut config = Config::parse("", &HashMap::new()).expect("defaults are valid");
        config.console.dev_mode = dev_mode;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let parts = Parts::from_config(&config).await.expect("memory store");
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        tokio::spawn(run(listener, config.clone(), parts, shutdown));
        (addr, config, stop)
    }

    async fn get(addr: SocketAddr, path: &str) -> reqwest::Response {
        reqwest::get(format!("http://{addr}{path}"))
            .await
            .expect("request")
    }

    #[tokio::test]
    async fn serves_the_page_and_its_files_with_their_types_and_a_policy() {
        let (addr, _, _stop) = hub(false).await;
        let cases = [
            ("/console", "text/html; charset=utf-8", "id=\"panes\""),
            (
                "/console/app.js",
                "text/javascript; charset=utf-8",
                "DecisionPanel",
            ),
            (
                "/console/pane.js",
                "text/javascript; charset=utf-8",
                "WebSocket",
            ),
            (
                "/console/render.js",
                "text/javascript; charset=utf-8",
                "textContent",
            ),
            ("/console/style.css", "text/css; charset=utf-8", ".pane"),
        ];
        for (path, content_type, marker) in cases {
            let response = get(addr, path).await;
            assert_eq!(response.status(), 200, "{path}");
            let headers = response.headers().clone();
            assert_eq!(headers["content-type"], content_type, "{path}");
            let policy = headers["content-security-policy"].to_str().expect("ascii");
            assert!(policy.contains("script-src 'self'"), "{path}: {policy}");
            assert_eq!(headers["x-content-type-options"], "nosniff");
            let body = response.text().await.expect("body");
            assert!(body.contains(marker), "{path} lacks {marker:?}");
        }
        assert_eq!(get(addr, "/console/secrets.txt").await.status(), 404);
    }

    #[tokio::test]
    async fn the_page_says_whether_dev_mode_is_on_and_its_origin_is_allowed() {
        let (addr, _, _stop) = hub(false).await;
        // Requests go to 127.0.0.1:<random port>, an Origin the defaults do not list.
        let page = get(addr, "/console").await.text().await.expect("body");
        assert!(page.contains("data-dev-mode=\"false\""));
        assert!(page.contains("data-origin-allowed=\"false\""));
        assert!(!page.contains("{{"), "every placeholder is filled");
    }

    #[tokio::test]
    async fn without_dev_mode_the_demo_route_does_not_exist() {
        let (addr, _, _stop) = hub(false).await;
        let response = reqwest::Client::new()
            .post(format!("http://{addr}/console/demo"))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 404);
    }

    #[tokio::test]
    async fn in_dev_mode_the_demo_seeds_a_fresh_order_and_mints_working_tokens() {
        let (addr, config, _stop) = hub(true).await;
        let client = reqwest::Client::new();
        let seed = || async {
            let response = client
                .post(format!("http://{addr}/console/demo"))
                .send()
                .await
                .expect("request");
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.expect("json")
        };
        let (first, second) = (seed().await, seed().await);
        assert_ne!(
            first["order_id"], second["order_id"],
            "a fresh order each time"
        );
        assert_eq!(first["shop_id"], "demo-shop");
        assert_eq!(first["users"]["agent"], "demo-agent");
        let auth = Authenticator::new(&config.auth.secret, config.auth.leeway);
        for role in ["buyer", "agent", "courier", "admin"] {
            let token = first["tokens"][role].as_str().expect("token");
            assert!(auth.verify(token).is_ok(), "{role}");
        }
        let admin = first["tokens"]["admin"].as_str().expect("token");
        let order_path = format!(
            "http://{addr}/v1/orders/{}",
            first["order_id"].as_str().unwrap_or("")
        );
        let order: Value = client
            .get(order_path)
            .bearer_auth(admin)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert_eq!(order["status"], "shipped");
        assert_eq!(order["buyer"], first["users"]["buyer"]);
        assert_eq!(order["parcels"][0]["carrier"], "ZTO");
    }
}
