//! Load generation and the bare relay it is compared with (issue 8).
//!
//! Owns the `loadgen` and `relay` binaries' logic; the binaries only parse arguments. Nothing
//! here is used by the hub itself.
//!
//! - [`generator`]: an open-loop load run. Opens sessions of a buyer, an agent and sometimes a
//!   courier, sends at a fixed rate whatever the replies do, and reports throughput, latency
//!   from the scheduled send time, errors, and acknowledged messages that never arrived.
//! - [`idle`]: holds many authenticated idle connections, for resident-memory measurements.
//! - [`relay`]: a minimal tokio-tungstenite server that forwards each text frame to the other
//!   members of its session: no identity, store or rules. The yardstick of the stack.
//! - [`hub_session`], [`relay_session`]: how one load session is set up on each target.
//! - [`driver`]: the per-connection sender and receiver tasks of a running session (the
//!   receiving half is in `receiver`).
//! - [`compare`]: hub against relay, pair by pair: the ratios and targets of the issue.
//! - [`payload`], [`stats`], [`procfs`], [`connect`], [`admin`]: the pieces those share.
//! - [`scrape`]: the hub's `/metrics` at the window's edges (store commands per message).
//!
//! Targets only loopback addresses in practice: the bench script points it at 127.0.0.0/8.

pub mod admin;
pub mod compare;
pub mod connect;
pub mod driver;
pub mod generator;
pub mod hub_session;
pub mod idle;
pub mod payload;
pub mod procfs;
mod receiver;
pub mod relay;
pub mod relay_session;
pub mod scrape;
pub mod stats;

use std::time::Duration;

/// Which server a run talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The hub's real protocol: tokens, `presence`, `open`, `send`, acks.
    Hub,
    /// The bare relay: `/ws?session=KEY`, raw text payloads, no acks.
    Relay,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Hub => "hub",
            Target::Relay => "relay",
        }
    }
}

impl std::str::FromStr for Target {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, String> {
        match value {
            "hub" => Ok(Target::Hub),
            "relay" => Ok(Target::Relay),
            other => Err(format!("{other:?} is not a target: hub or relay")),
        }
    }
}

/// Why a connection or a session setup failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("bad url {0:?}: expected ws://HOST:PORT/PATH")]
    Url(String),
    #[error("connect: {0}")]
    Connect(#[from] std::io::Error),
    #[error("websocket: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("timed out after {0:.1?} waiting for {1}")]
    Timeout(Duration, &'static str),
    #[error("the server closed the connection while waiting for {0}")]
    Closed(&'static str),
    #[error("unexpected reply: {0}")]
    Protocol(String),
    #[error("token: {0}")]
    Token(String),
}
