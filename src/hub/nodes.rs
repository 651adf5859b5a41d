//! Several hub nodes on one shared store: wake-ups between nodes and who counts as present.
//!
//! A node that stores a message delivers it to its own connections and publishes a wake-up with
//! the session and `seq` (a chat message's commit publishes it in the same step, with the
//! changed waiting counts; platform and robot messages through `announce_stored`). Every other
//! node passes the wake-up to its connections of that session's members, and each connection reads what it has not written yet from the log, so a
//! lost wake-up only delays delivery until the next one (or a `Resync` after the subscription
//! came back). With a store of its own, a node has nobody to wake.

use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use crate::hub::Hub;
use crate::hub::registry::Outbound;
use crate::protocol::ids::{SessionId, UserId};
use crate::store::Notification;

impl Hub {
    /// Tells the other nodes a message was stored. Failure is logged: their connections catch
    /// up at the next wake-up or resume.
    pub(crate) async fn announce_stored(&self, session_id: SessionId, seq: u64) {
        let store = self.store();
        if !store.is_shared() {
            return;
        }
        let node = self.inner.node;
        let notification = Notification::Message {
            session_id,
            seq,
            node,
        };
        if let Err(error) = store.publish(&notification).await {
            tracing::debug!(%session_id, %error, "wake-up not published");
        }
    }

    /// Sends a frame to every connection of `user`: here, and on the other nodes when the
    /// store is shared (published in the background; a lost one is not retried, as these
    /// frames describe state a client can read again with `resume` or on reconnect).
    pub(crate) fn tell(&self, user: &UserId, outbound: &Outbound) {
        self.inner.registry.push_to_user(user, outbound, None);
        let Outbound::Frame(frame) = outbound else {
            return;
        };
        if !self.store().is_shared() {
            return;
        }
        let notification = Notification::Frame {
            user: user.clone(),
            frame: frame.to_string(),
            node: self.inner.node,
        };
        let store = self.store().clone();
        self.inner.tasks.spawn(async move {
            if let Err(error) = store.publish(&notification).await {
                tracing::debug!(%error, "frame not published to other nodes");
            }
        });
    }

    /// Whether `user` may be treated as connected for routing and courier picks. With a shared
    /// store the user may be connected to another node, so its stored presence decides.
    pub(crate) fn is_present(&self, user: &UserId) -> bool {
        self.store().is_shared() || self.inner.registry.is_connected(user)
    }

    /// Whether `user` is connected to this node.
    pub(crate) fn is_present_here(&self, user: &UserId) -> bool {
        self.inner.registry.is_connected(user)
    }

    /// Starts passing other nodes' wake-ups to this node's connections.
    pub(super) fn listen_to_other_nodes(&self) {
        let Some(receiver) = self.store().subscribe() else {
            return;
        };
        let hub = self.clone();
        let shutdown = self.inner.shutdown.clone();
        self.inner.tasks.spawn(async move {
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = hub.relay_notifications(receiver) => {}
            }
        });
    }

    async fn relay_notifications(&self, mut receiver: broadcast::Receiver<Notification>) {
        loop {
            match receiver.recv().await {
                Ok(Notification::Message {
                    session_id,
                    seq,
                    node,
                }) if node != self.inner.node => self.wake_members(session_id, seq).await,
                Ok(Notification::Frame { user, frame, node }) if node != self.inner.node => {
                    let outbound = Outbound::Frame(frame.into());
                    self.inner.registry.push_to_user(&user, &outbound, None);
                }
                Ok(Notification::Waiting {
                    agent,
                    buyers_waiting,
                    node,
                }) if node != self.inner.node => {
                    let outbound = Outbound::Frame(super::frames::waiting(buyers_waiting));
                    self.inner.registry.push_to_user(&agent, &outbound, None);
                }
                Ok(
                    Notification::Message { .. }
                    | Notification::Frame { .. }
                    | Notification::Waiting { .. },
                ) => {}
                Ok(Notification::Resync) | Err(RecvError::Lagged(_)) => {
                    self.inner.registry.push_to_all(&Outbound::Resync);
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    async fn wake_members(&self, session_id: SessionId, seq: u64) {
        let record = match self.store().session(session_id).await {
            Ok(Some(record)) => record,
            Ok(None) => return,
            Err(error) => {
                tracing::debug!(%session_id, %error, "wake-up not passed on");
                return;
            }
        };
        let wake = Outbound::Wake { session_id, seq };
        for member in &record.members {
            self.inner.registry.push_to_user(&member.user, &wake, None);
        }
    }
}
