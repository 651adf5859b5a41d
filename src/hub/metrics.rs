//! Counters for `GET /metrics`, in the Prometheus text format.

use prometheus_client::encoding::EncodeLabelSet;
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
}

impl Metrics {
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
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &registry) {
            tracing::error!(%error, "metrics did not encode");
        }
        text
    }
}
