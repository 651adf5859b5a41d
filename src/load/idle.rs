//! Holding many authenticated idle connections, to measure what each costs the server.
//!
//! Against the hub each connection is a buyer `{prefix}i{k}` with its own token, held past its
//! `welcome` frame; against the relay each joins its own session. Connections keep reading (so
//! they answer the server's pings) and send nothing. `ready` is called once every connection
//! is up (or failed); they are held until `stop` resolves or `hold` passes.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use super::connect::{Connector, Endpoint, Socket};
use super::hub_session::{HubSetup, Tokens};
use super::{LoadError, Target, relay_session};
use crate::protocol::Role;

#[derive(Debug, Clone)]
pub struct IdleConfig {
    pub target: Target,
    pub url: String,
    pub secret: String,
    pub prefix: String,
    pub connections: usize,
    pub hold: Duration,
    pub connect_concurrency: usize,
    pub bind_ips: Vec<IpAddr>,
    pub read_buffer: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdleReport {
    pub connected: u64,
    pub failed: u64,
    /// Connections the server closed while they were held.
    pub dropped: u64,
    pub errors: BTreeMap<String, u64>,
}

pub async fn run(
    config: &IdleConfig,
    ready: impl FnOnce(&IdleReport),
    stop: impl Future<Output = ()>,
) -> Result<IdleReport, LoadError> {
    let endpoint = Endpoint::parse(&config.url)?;
    let connector = Arc::new(Connector::new(
        endpoint,
        config.bind_ips.clone(),
        config.read_buffer,
    ));
    let mut report = IdleReport::default();
    let sockets = open_all(config, &connector, &mut report).await;
    ready(&report);
    let cancel = CancellationToken::new();
    let mut holders = JoinSet::new();
    for socket in sockets {
        holders.spawn(hold(socket, cancel.clone()));
    }
    tokio::select! {
        () = stop => {},
        () = tokio::time::sleep(config.hold) => {},
    }
    cancel.cancel();
    while let Some(result) = holders.join_next().await {
        report.dropped += u64::from(!result.unwrap_or(true));
    }
    Ok(report)
}

async fn open_all(
    config: &IdleConfig,
    connector: &Arc<Connector>,
    report: &mut IdleReport,
) -> Vec<Socket> {
    let tokens = Arc::new(Tokens::new(&config.secret));
    let permits = Arc::new(Semaphore::new(config.connect_concurrency.max(1)));
    let mut opening = JoinSet::new();
    for index in 0..config.connections {
        let (connector, tokens, permits) = (connector.clone(), tokens.clone(), permits.clone());
        let (target, prefix) = (config.target, config.prefix.clone());
        opening.spawn(async move {
            let _permit = permits.acquire_owned().await;
            open_one(target, &connector, &tokens, &prefix, index).await
        });
    }
    let mut sockets = Vec::with_capacity(config.connections);
    while let Some(result) = opening.join_next().await {
        match result {
            Ok(Ok(socket)) => sockets.push(socket),
            Ok(Err(error)) => {
                report.failed += 1;
                *report.errors.entry(error.to_string()).or_default() += 1;
            }
            Err(error) => {
                report.failed += 1;
                *report.errors.entry(error.to_string()).or_default() += 1;
            }
        }
    }
    report.connected = sockets.len() as u64;
    sockets
}

async fn open_one(
    target: Target,
    connector: &Connector,
    tokens: &Tokens,
    prefix: &str,
    index: usize,
) -> Result<Socket, LoadError> {
    match target {
        Target::Hub => {
            let token = tokens.mint(Role::Buyer, &format!("{prefix}i{index}"), None, None)?;
            let setup = HubSetup {
                connector,
                tokens,
                prefix,
                splice_timeout: Duration::ZERO,
            };
            setup.connect(&token).await
        }
        Target::Relay => {
            let path = relay_session::path(connector, &format!("{prefix}idle{index}"));
            connector.connect(&path, None).await
        }
    }
}

/// Reads (answering pings) until cancelled; false if the server closed the connection first.
async fn hold(mut socket: Socket, cancel: CancellationToken) -> bool {
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            next = socket.next() => match next {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return false,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.send(Message::Close(None))).await;
    true
}
