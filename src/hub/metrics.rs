//! Counters for `GET /metrics`, in the Prometheus text format.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::protocol::ErrorCode;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    code: &'static str,
}

#[derive(Debug, Default)]
pub struct Metrics {
    connections_open: Gauge,
    connections: Counter,
    sessions_opened: Counter,
    messages: Counter,
    errors: Family<ErrorLabels, Counter>,
    commit_conflicts: Counter,
    /// The store's own count of commands sent, when it sends any (Redis).
    store_commands: Option<Arc<AtomicU64>>,
}

impl Metrics {
    pub fn new(store_commands: Option<Arc<AtomicU64>>) -> Self {
        Metrics {
            store_commands,
            ..Metrics::default()
        }
    }

    pub fn connected(&self) {
        self.connections_open.inc();
        self.connections.inc();
    }

    pub fn disconnected(&self) {
        self.connections_open.dec();
    }

    pub fn session_opened(&self) {
        self.sessions_opened.inc();
    }

    pub fn message(&self) {
        self.messages.inc();
    }

    /// A message's commit was refused because another node wrote its session in between.
    pub fn commit_conflict(&self) {
        self.commit_conflicts.inc();
    }

    pub fn error(&self, code: ErrorCode) {
        let labels = ErrorLabels {
            code: code.as_str(),
        };
        self.errors.get_or_create(&labels).inc();
    }

    /// Renders every metric in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut registry = Registry::with_prefix("logistics_bridge");
        registry.register(
            "connections_open",
            "WebSocket connections open now",
            self.connections_open.clone(),
        );
        registry.register(
            "connections",
            "WebSocket connections accepted",
            self.connections.clone(),
        );
        registry.register(
            "sessions_opened",
            "Sessions opened",
            self.sessions_opened.clone(),
        );
        registry.register("messages", "Chat messages stored", self.messages.clone());
        registry.register("errors", "Error replies by code", self.errors.clone());
        registry.register(
            "commit_conflicts",
            "Message commits refused for a session changed by another node, then retried",
            self.commit_conflicts.clone(),
        );
        if let Some(commands) = &self.store_commands {
            registry.register(
                "store_commands",
                "Commands sent to the store (Redis); a pipeline of n counts n",
                ConstCounter::new(commands.load(Ordering::Relaxed)),
            );
        }
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &registry) {
            tracing::error!(%error, "metrics did not encode");
        }
        text
    }
}
