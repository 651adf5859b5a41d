//! logistics-bridge: a marketplace's customer-service chat hub that brings a carrier's courier
//! agent into a buyer–shop conversation when the buyer's complaint is really about the parcel.
//!
//! The data flows socket → protocol → hub → domain → store:
//!
//! - [`transport`]: the WebSocket upgrade (token, Origin), the per-connection loop, the admin
//!   HTTP API. Thin: decodes, checks who is calling, hands over to the hub.
//! - [`protocol`]: wire types only — client and server messages, ids, error and close codes.
//! - [`hub`]: connections, session actors, outboxes; applies domain decisions, keeps state in
//!   the store.
//! - [`domain`]: pure rules — intent, eligibility, routing, controls. `(input, rules, now)`.
//! - [`store`]: the `Store` trait, the embedded in-memory store and the Redis store.
//! - [`config`], [`clock`]: validated configuration and the time source.
//! - [`cli`]: the offline `classify` and `check` commands.
//! - [`load`]: the load generator and bare relay of the benchmarks; not used by the hub.

#![forbid(unsafe_code)]

pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod hub;
pub mod load;
pub mod protocol;
pub mod store;
pub mod transport;

/// The hash map of the hub's hot paths (connections by user, running sessions, what each
/// connection delivered): looked up on every message, where SipHash showed in profiles.
/// foldhash's `RandomState` is seeded per process and per map, so ids that clients choose
/// still cannot be picked to collide.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// The set that goes with `FastMap`.
pub type FastSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, StoreConfig};
use crate::hub::{Hub, HubSettings};
use crate::store::{MemoryStore, Store};
use crate::transport::AppState;
use crate::transport::auth::Authenticator;
use crate::transport::limits::Limits;

/// Why `run` could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configured store cannot be used (a Redis URL the client cannot parse).
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// What `run` needs besides the listener and config; tests swap the clock and store.
pub struct Parts {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

impl Parts {
    /// The store the config asks for, and the system clock.
    ///
    /// Async because the Redis store tries its first connection here. An unreachable Redis does
    /// not stop the hub (the store answers `unavailable` until Redis is back); only a URL the
    /// client cannot parse does.
    pub async fn from_config(config: &Config) -> Result<Parts, RunError> {
        let retained = config.history.retained_messages;
        let store: Arc<dyn Store> = match &config.store {
            StoreConfig::Memory => Arc::new(MemoryStore::new(retained)),
            StoreConfig::Redis { url } => {
                Arc::new(store::RedisStore::connect(url, retained).await?)
            }
        };
        Ok(Parts {
            store,
            clock: Arc::new(SystemClock),
        })
    }
}

/// Serves until `shutdown` resolves, then closes every connection with 1001 and waits up to
/// `server.shutdown_grace` for them to finish.
pub async fn run(
    listener: TcpListener,
    config: Config,
    parts: Parts,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let cancel = CancellationToken::new();
    let tasks = TaskTracker::new();
    let settings = HubSettings {
        outbox_capacity: config.server.outbox_capacity,
        replay_batch: 512,
        eligibility: config.logistics.eligibility.clone(),
        controls: config.controls.clone(),
        splice: config.splice.clone(),
        node_timeout: config.server.node_timeout,
    };
    let hub = Hub::new(
        parts.store,
        parts.clock,
        settings,
        cancel.clone(),
        tasks.clone(),
    );
    // Connections hear of the shutdown through their outboxes: a `select!` arm on the token
    // in each would be part of every idle connection's memory.
    let closing = hub.clone();
    let shutting_down = cancel.clone();
    tasks.spawn(async move {
        shutting_down.cancelled().await;
        closing.shut_down_connections();
    });
    crate::transport::keepalive::spawn(
        hub.clone(),
        config.server.ping_interval,
        cancel.clone(),
        &tasks,
    );
    let limits = Limits::new(&config.limits);
    let grace = config.server.shutdown_grace;
    let state = AppState::new(crate::transport::AppStateInner {
        hub,
        auth: Authenticator::new(&config.auth.secret, config.auth.leeway),
        config: Arc::new(config),
        limits: limits.clone(),
        shutdown: cancel.clone(),
        tasks: tasks.clone(),
    });
    tasks.spawn(prune_limits(limits, cancel.clone()));
    let app = transport::router(state);
    let stop = cancel.clone();
    // Chat frames are small and latency matters: no Nagle delay on accepted sockets.
    let listener = axum::serve::ListenerExt::tap_io(listener, |socket| {
        if let Err(error) = socket.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set");
        }
    });
    let serve = axum::serve(listener, app.into_make_service()).with_graceful_shutdown(async move {
        shutdown.await;
        stop.cancel();
    });
    let served = serve.await;
    cancel.cancel();
    tasks.close();
    if tokio::time::timeout(grace, tasks.wait()).await.is_err() {
        tracing::warn!(
            ?grace,
            "some tasks did not finish within the shutdown grace"
        );
    }
    served.map_err(RunError::Io)
}

async fn prune_limits(limits: Limits, cancel: CancellationToken) {
    let mut every_minute = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = every_minute.tick() => limits.prune(),
        }
    }
}

/// Resolves on SIGINT or SIGTERM (SIGINT only where there is no SIGTERM).
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = terminate.recv() => {},
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
