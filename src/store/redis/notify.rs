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

/// Reads one notification, or a batch's in order (`lua::Lua::batched` publishes its commits'
/// wake-ups as one JSON array), and passes them on.
///
/// Each item of a batch is read on its own, so one that cannot be read costs only itself. An
/// item of a kind this node does not know (a newer node's, during an upgrade) is skipped: there
/// is nothing here it could wake. Anything else unreadable may have been a wake-up this node
/// needed, and which session it was for is not known: the hub is told to resync, as after a
/// lost subscription, so its connections catch up from the logs.
fn forward(sender: &broadcast::Sender<Notification>, message: &redis::Msg) {
    let read = read(message.get_payload_bytes());
    for notification in read.notifications {
        // Nobody listening yet is fine: there is nothing to wake.
        drop(sender.send(notification));
    }
    if read.unreadable > 0 {
        tracing::warn!(
            unreadable = read.unreadable,
            "unreadable notifications on {CHANNEL}; resyncing"
        );
        drop(sender.send(Notification::Resync));
    }
}

/// What one published message held.
#[derive(Debug, Default, PartialEq)]
struct Read {
    notifications: Vec<Notification>,
    /// Items that could not be read, kinds unknown here aside.
    unreadable: usize,
}

/// The kinds of `Notification`, as they are tagged on the wire.
const KINDS: [&str; 4] = ["message", "waiting", "frame", "resync"];

fn read(payload: &[u8]) -> Read {
    let mut read = Read::default();
    if payload.trim_ascii_start().first() != Some(&b'[') {
        read_item(payload, &mut read);
        return read;
    }
    match serde_json::from_slice::<Vec<&serde_json::value::RawValue>>(payload) {
        Ok(items) => {
            for item in items {
                read_item(item.get().as_bytes(), &mut read);
            }
        }
        Err(_) => read.unreadable += 1,
    }
    read
}

fn read_item(item: &[u8], read: &mut Read) {
    #[derive(serde::Deserialize)]
    struct Tag<'a> {
        #[serde(borrow)]
        kind: Option<&'a str>,
    }
    match serde_json::from_slice::<Notification>(item) {
        Ok(notification) => read.notifications.push(notification),
        Err(error) => {
            let kind = serde_json::from_slice::<Tag>(item)
                .ok()
                .and_then(|tag| tag.kind);
            match kind {
                Some(kind) if !KINDS.contains(&kind) => {
                    tracing::debug!(kind, "notification of a kind unknown here; skipped");
                }
                _ => {
                    tracing::debug!(%error, "unreadable notification");
                    read.unreadable += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ids::{SessionId, UserId};

    fn examples() -> Vec<Notification> {
        let node = uuid::Uuid::new_v4();
        vec![
            Notification::Message {
                session_id: SessionId::new(),
                seq: 7,
                node,
            },
            Notification::Waiting {
                agent: UserId::new("a1").expect("valid id"),
                buyers_waiting: 2,
                node,
            },
            Notification::Frame {
                user: UserId::new("b1").expect("valid id"),
                frame: r#"{"type":"notice"}"#.into(),
                node,
            },
            Notification::Resync,
        ]
    }

    #[test]
    fn every_kind_is_known() {
        let kinds: Vec<String> = examples()
            .iter()
            .map(|example| {
                let json = serde_json::to_value(example).expect("json");
                json["kind"].as_str().expect("a kind").to_string()
            })
            .collect();
        assert_eq!(kinds, KINDS);
    }

    #[test]
    fn one_notification_and_a_batch_read_in_order() {
        let examples = examples();
        let one = serde_json::to_vec(&examples[0]).expect("json");
        assert_eq!(
            read(&one),
            Read {
                notifications: vec![examples[0].clone()],
                unreadable: 0
            }
        );
        let batch = serde_json::to_vec(&examples).expect("json");
        assert_eq!(
            read(&batch),
            Read {
                notifications: examples,
                unreadable: 0
            }
        );
    }

    #[test]
    fn a_bad_item_costs_only_itself_and_asks_for_a_resync() {
        let examples = examples();
        let good = serde_json::to_string(&examples[0]).expect("json");
        let also_good = serde_json::to_string(&examples[1]).expect("json");
        let payload = format!(
            r#"[{good},{{"kind":"message","seq":"not a number"}},{{"kind":"hologram","x":1}},7,{also_good}]"#
        );
        let read = read(payload.as_bytes());
        assert_eq!(
            read.notifications,
            vec![examples[0].clone(), examples[1].clone()]
        );
        // The broken message and the bare 7; the unknown kind is skipped without a resync.
        assert_eq!(read.unreadable, 2);
        for broken in [&b"not json"[..], b"[{\"kind\":\"message\"}", b"{}"] {
            let read = super::read(broken);
            assert_eq!((read.notifications.len(), read.unreadable), (0, 1));
        }
        let unknown = super::read(br#"{"kind":"hologram"}"#);
        assert_eq!(unknown, Read::default());
    }
}
