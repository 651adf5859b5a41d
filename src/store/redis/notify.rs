//! Wake-ups between hub nodes over Redis pub/sub.
//!
//! Pub/sub is only a wake-up: a message's truth is its session's Stream. A subscriber task
//! forwards notifications from the channel into a broadcast channel for the hub; when its
//! connection drops it reconnects, and then sends `Resync` so the hub catches every session up
//! from the Streams. The task stops when the last clone of the store is dropped.

use std::time::Duration;

use futures_util::StreamExt;
use redis::Client;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::store::Notification;

/// The pub/sub channel every node publishes to and subscribes on.
pub const CHANNEL: &str = "lb:events";
/// Notifications buffered for a slow hub before it is told to resync instead.
const BUFFER: usize = 4096;
const RETRY: Duration = Duration::from_millis(500);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Subscriber {
    pub sender: broadcast::Sender<Notification>,
    /// Cancels the task when the store goes away.
    pub _stop: tokio_util::sync::DropGuard,
}

pub fn start(client: Client) -> Subscriber {
    let (sender, _) = broadcast::channel(BUFFER);
    let cancel = CancellationToken::new();
    tokio::spawn(run(client, sender.clone(), cancel.clone()));
    Subscriber {
        sender,
        _stop: cancel.drop_guard(),
    }
}

async fn run(client: Client, sender: broadcast::Sender<Notification>, cancel: CancellationToken) {
    let mut has_connected = false;
    loop {
        if let Some(pubsub) = connect(&client).await {
            if has_connected {
                let _ = sender.send(Notification::Resync);
            }
            has_connected = true;
            let mut messages = pubsub.into_on_message();
            loop {
                let message = tokio::select! {
                    () = cancel.cancelled() => return,
                    message = messages.next() => message,
                };
                let Some(message) = message else { break };
                forward(&sender, &message);
            }
            tracing::warn!("redis subscription lost; reconnecting");
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(RETRY) => {}
        }
    }
}

async fn connect(client: &Client) -> Option<redis::aio::PubSub> {
    let attempt = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(CHANNEL).await?;
        Ok::<_, redis::RedisError>(pubsub)
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(Ok(pubsub)) => Some(pubsub),
        Ok(Err(error)) => {
            tracing::debug!(%error, "redis subscription failed");
            None
        }
        Err(_) => None,
    }
}

/// Reads one notification, or a batch's in order: `lua::Lua::batched` publishes its commits'
/// wake-ups as one JSON array.
fn forward(sender: &broadcast::Sender<Notification>, message: &redis::Msg) {
    let payload = message.get_payload_bytes();
    let parsed = match payload.trim_ascii_start().first() {
        Some(b'[') => serde_json::from_slice::<Vec<Notification>>(payload),
        _ => serde_json::from_slice::<Notification>(payload).map(|one| vec![one]),
    };
    let notifications = match parsed {
        Ok(notifications) => notifications,
        Err(error) => {
            tracing::warn!(%error, "unreadable notification on {CHANNEL}");
            return;
        }
    };
    for notification in notifications {
        // Nobody listening yet is fine: there is nothing to wake.
        drop(sender.send(notification));
    }
}
