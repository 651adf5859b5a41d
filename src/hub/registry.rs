//! Who is connected: each user's live connections and their outboxes.
//!
//! An outbox is a bounded queue of encoded frames that the connection's task writes to its
//! socket. Policy for a slow reader: pushing never waits; when an outbox is full it is marked
//! overflowed and the connection's task closes the connection with 4001. The client resumes
//! from its last `seq` on reconnect, so a slow reader loses nothing, and nobody else waits for
//! it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use super::outbox::TrySendError;

use crate::hub::Identity;
use crate::protocol::ids::{SessionId, UserId};

/// An encoded text frame, shared by every recipient without copying.
pub type Frame = tokio_tungstenite::tungstenite::Utf8Bytes;

/// What a connection's task is asked to write.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A frame outside any session's sequence (acks, errors, notices).
    Frame(Frame),
    /// A session message; the task skips it when it already wrote that `seq` (after a resume),
    /// and reads any `seq` it skipped over from the log first.
    Message {
        session_id: SessionId,
        seq: u64,
        frame: Frame,
    },
    /// The ack of this connection's own message: it counts as written, so it is never read
    /// back from the log as a gap.
    Ack {
        session_id: SessionId,
        seq: u64,
        frame: Frame,
    },
    /// Another node stored `seq` in the session: read what is not yet written from the log.
    Wake { session_id: SessionId, seq: u64 },
    /// Wake-ups may have been lost: catch up every session this connection follows.
    Resync,
    /// Time to ping and to check for silence, or to close: the token has `expired` (see
    /// [`Registry::tick`]).
    Tick { expired: bool },
    /// The server is shutting down: close with 1001 once what is queued before it is written.
    Shutdown,
}

/// One live connection, as the rest of the hub sees it.
#[derive(Debug)]
pub struct ConnectionHandle {
    pub id: u64,
    pub identity: Identity,
    outbox: super::outbox::Sender<Outbound>,
    /// When the connection's token expires, in milliseconds since the epoch.
    expires_at_ms: u64,
    /// When the connection is due its next `Tick`, in milliseconds since the epoch.
    next_tick_ms: AtomicU64,
}

impl ConnectionHandle {
    /// Queues `outbound` without waiting. Returns false when the connection is gone or has
    /// just been marked as a slow reader.
    pub fn push(&self, outbound: Outbound) -> bool {
        match self.outbox.try_send(outbound) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Closed(_)) => false,
        }
    }

    /// Whether the outbox ever overflowed (the connection is then closing as a slow reader).
    pub fn is_overflowed(&self) -> bool {
        self.outbox.is_overflowed()
    }
}

#[derive(Debug, Default)]
pub struct Registry {
    next_id: AtomicU64,
    /// Held only for map operations, never across an await.
    users: RwLock<crate::FastMap<UserId, Vec<Arc<ConnectionHandle>>>>,
}

impl Registry {
    /// Registers a connection; returns its handle and the receiving end of its outbox.
    /// `expires_at` is when the token expires, in seconds since the epoch.
    pub fn connect(
        &self,
        identity: Identity,
        capacity: usize,
        expires_at: u64,
    ) -> (Arc<ConnectionHandle>, super::outbox::Receiver<Outbound>) {
        let (outbox, receiver) = super::outbox::channel(capacity);
        let handle = Arc::new(ConnectionHandle {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            identity,
            outbox,
            expires_at_ms: expires_at.saturating_mul(1000),
            next_tick_ms: AtomicU64::new(0),
        });
        let mut users = self.users.write().unwrap_or_else(PoisonError::into_inner);
        // Most users have one connection: room for exactly one, not the four `push` reserves.
        let list = users
            .entry(handle.identity.user.clone())
            .or_insert_with(|| Vec::with_capacity(1));
        list.push(Arc::clone(&handle));
        (handle, receiver)
    }

    /// Removes a connection; returns how many connections its user still has.
    pub fn disconnect(&self, handle: &ConnectionHandle) -> usize {
        let mut users = self.users.write().unwrap_or_else(PoisonError::into_inner);
        let user = &handle.identity.user;
        let Some(list) = users.get_mut(user) else {
            return 0;
        };
        list.retain(|other| other.id != handle.id);
        let remaining = list.len();
        if remaining == 0 {
            users.remove(user);
        }
        remaining
    }

    /// The user's live connections.
    pub fn connections(&self, user: &UserId) -> Vec<Arc<ConnectionHandle>> {
        let users = self.users.read().unwrap_or_else(PoisonError::into_inner);
        users.get(user).cloned().unwrap_or_default()
    }

    pub fn is_connected(&self, user: &UserId) -> bool {
        let users = self.users.read().unwrap_or_else(PoisonError::into_inner);
        users.contains_key(user)
    }

    /// Sends `Tick` to each connection due one: every `interval_ms`, and whenever its token has
    /// expired. One sweep for all connections replaces a timer in each (each timer is part of
    /// every idle connection's memory); it costs a read lock and a comparison per connection.
    pub fn tick(&self, now_ms: u64, interval_ms: u64) {
        let users = self.users.read().unwrap_or_else(PoisonError::into_inner);
        for connection in users.values().flatten() {
            let due = connection.next_tick_ms.load(Ordering::Relaxed);
            let expired = now_ms >= connection.expires_at_ms;
            if now_ms >= due || expired {
                let next = now_ms.saturating_add(interval_ms);
                connection.next_tick_ms.store(next, Ordering::Relaxed);
                connection.push(Outbound::Tick { expired });
            }
        }
    }

    /// Pushes to every live connection.
    pub fn push_to_all(&self, outbound: &Outbound) {
        let users = self.users.read().unwrap_or_else(PoisonError::into_inner);
        for connection in users.values().flatten() {
            connection.push(outbound.clone());
        }
    }

    /// Pushes what `make` returns to every connection of `user` except `skip`; `make` runs
    /// only when there is one (a frame is encoded only for someone connected here).
    pub fn push_to_user_with(
        &self,
        user: &UserId,
        skip: Option<u64>,
        make: impl FnOnce() -> Outbound,
    ) {
        let users = self.users.read().unwrap_or_else(PoisonError::into_inner);
        let Some(list) = users.get(user) else {
            return;
        };
        let mut targets = list.iter().filter(|c| Some(c.id) != skip).peekable();
        if targets.peek().is_none() {
            return;
        }
        let outbound = make();
        for connection in targets {
            connection.push(outbound.clone());
        }
    }

    /// Pushes to every connection of `user` except `skip`.
    pub fn push_to_user(&self, user: &UserId, outbound: &Outbound, skip: Option<u64>) {
        let users = self.users.read().unwrap_or_else(PoisonError::into_inner);
        let Some(list) = users.get(user) else {
            return;
        };
        for connection in list.iter().filter(|c| Some(c.id) != skip) {
            connection.push(outbound.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Role;

    fn identity(user: &str) -> Identity {
        Identity {
            user: UserId::new(user).expect("valid id"),
            role: Role::Buyer,
            shop: None,
            carrier: None,
        }
    }

    #[test]
    fn a_full_outbox_marks_the_connection_overflowed() {
        let registry = Registry::default();
        let (handle, _receiver) = registry.connect(identity("b1"), 2, u64::MAX / 1000);
        let frame = Outbound::Frame(Frame::from("x"));
        assert!(handle.push(frame.clone()));
        assert!(handle.push(frame.clone()));
        assert!(!handle.is_overflowed());
        assert!(!handle.push(frame));
        assert!(handle.is_overflowed());
    }

    #[test]
    fn disconnect_counts_what_is_left() {
        let registry = Registry::default();
        let (first, _r1) = registry.connect(identity("b1"), 1, u64::MAX / 1000);
        let (second, _r2) = registry.connect(identity("b1"), 1, u64::MAX / 1000);
        assert_eq!(registry.connections(&first.identity.user).len(), 2);
        assert_eq!(registry.disconnect(&first), 1);
        assert_eq!(registry.disconnect(&second), 0);
        assert!(!registry.is_connected(&first.identity.user));
    }

    #[tokio::test]
    async fn ticks_come_every_interval_and_once_the_token_expired() {
        use crate::hub::outbox::Next;
        let registry = Registry::default();
        let (_live, mut live) = registry.connect(identity("b1"), 8, 100);
        let (_expired, mut expired) = registry.connect(identity("b2"), 8, 10);
        registry.tick(50_000, 1_000);
        assert_eq!(
            live.try_recv().map(|o| matches!(o, Outbound::Tick { .. })),
            Some(true)
        );
        assert!(expired.try_recv().is_some());
        registry.tick(50_500, 1_000);
        assert!(
            live.try_recv().is_none(),
            "not due again within the interval"
        );
        assert!(
            expired.try_recv().is_some(),
            "an expired token is due every sweep"
        );
        registry.tick(51_000, 1_000);
        assert!(matches!(
            live.recv().await,
            Next::Value(Outbound::Tick { .. })
        ));
    }
}
