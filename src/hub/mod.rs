//! The hub: connections, sessions and who gets which frame.
//!
//! `Hub` is a cheap `Clone` handle. It owns the registry of live connections and the session
//! actors; the rules it applies come from `domain`, and the state it keeps lives in the `Store`.
//! Sockets are the transport's business: the hub only sees decoded client messages and pushes
//! encoded frames into outboxes.

mod batch;
mod controls;
mod desk;
mod eligibility;
pub mod frames;
mod json;
mod liveness;
pub mod metrics;
mod nodes;
mod open;
pub mod outbox;
pub mod registry;
mod routing;
mod running;
mod send;
pub mod session;
mod splice;

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::domain::order::Carrier;
use crate::protocol::client::ClientMessage;
use crate::protocol::ids::{SessionId, ShopId, UserId};
use crate::protocol::server::SenderRole;
use crate::protocol::{ErrorCode, Role};
use crate::store::{History, SessionRecord, Store, StoreError};
use metrics::Metrics;
use registry::{ConnectionHandle, Outbound, Registry};
use running::SessionSender;
use session::{Command, SendCommand};

/// Who a connection is, as its token says. Nothing a client sends changes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: UserId,
    pub role: Role,
    /// For agents: the shop they work for.
    pub shop: Option<ShopId>,
    /// For couriers: the carrier they work for.
    pub carrier: Option<Carrier>,
}

/// Why a request failed, and so what the client is told.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The peer asked for something it may not have or that does not hold.
    #[error("{message}")]
    Peer { code: ErrorCode, message: String },
    /// Not a member, or no such session: the two are never told apart.
    #[error("no such session")]
    NotMember,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the hub is shutting down")]
    ShuttingDown,
}

impl HubError {
    pub fn peer(code: ErrorCode, message: impl Into<String>) -> Self {
        HubError::Peer {
            code,
            message: message.into(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            HubError::Peer { code, .. } => *code,
            HubError::NotMember => ErrorCode::SessionNotFound,
            HubError::Store(StoreError::Unavailable(_)) | HubError::ShuttingDown => {
                ErrorCode::Unavailable
            }
            HubError::Store(StoreError::Corrupt { .. }) => ErrorCode::Internal,
        }
    }

    /// What the client is told. Our own faults are logged, not described.
    pub fn client_message(&self) -> String {
        match self {
            HubError::Store(StoreError::Unavailable(_)) => {
                "state store unavailable; nothing was stored, try again".into()
            }
            HubError::Store(StoreError::Corrupt { .. }) => "internal error".into(),
            other => other.to_string(),
        }
    }
}

/// Tunables the hub needs from the configuration.
#[derive(Debug, Clone)]
pub struct HubSettings {
    pub outbox_capacity: usize,
    /// Messages read from the store per step of a resume.
    pub replay_batch: usize,
    pub eligibility: crate::domain::eligibility::EligibilityRules,
    pub controls: crate::domain::controls::ControlRules,
    pub splice: crate::domain::splice::SpliceRules,
    /// How long this node's heartbeat vouches for it (`store::liveness`).
    pub node_timeout: std::time::Duration,
}

#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

struct HubInner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: HubSettings,
    classifier: crate::domain::intent::Classifier,
    registry: Registry,
    metrics: Metrics,
    /// Running session actors. Held only for map operations.
    sessions: Mutex<crate::FastMap<SessionId, SessionSender>>,
    /// Serialises `open` per (buyer, shop) stripe, so one buyer never gets two sessions with one
    /// shop. A tokio mutex because the critical section awaits the store; striped to stay small.
    opening: Vec<tokio::sync::Mutex<()>>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    /// One courier-queue drain at a time, so offers go out longest-waiting first.
    draining: tokio::sync::Mutex<()>,
    /// One courier choice at a time on this node, so its sessions do not race for one courier
    /// and pass it over. Across nodes the store's atomic claim (`Store::claim_courier`) is what
    /// keeps a courier within its limit.
    assigning: tokio::sync::Mutex<()>,
    /// This node's id, so it ignores its own wake-ups.
    node: uuid::Uuid,
    /// Agents and couriers connected here (`liveness`). Held only for map operations.
    held: Mutex<crate::FastMap<crate::protocol::ids::UserId, liveness::Held>>,
    /// A hold did not reach the store: the next beat holds everyone here again.
    hold_again: std::sync::atomic::AtomicBool,
}

/// What the transport should do after a request the hub accepted.
#[derive(Debug)]
pub enum Reply {
    None,
    /// Replay the session's log to this connection from `after_seq` (a `resume`).
    Replay {
        session_id: SessionId,
        after_seq: u64,
        request_id: Option<crate::protocol::ids::RequestId>,
        /// For a courier in the session: its context card again, to write after the replay
        /// (a courier desk that reloaded has lost the one it got on joining).
        context: Option<registry::Frame>,
    },
    /// A `resume` of a session the store does not know: answer `recovered: false`.
    NotRecovered {
        session_id: SessionId,
        after_seq: u64,
        request_id: Option<crate::protocol::ids::RequestId>,
    },
}

impl Hub {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: HubSettings,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Hub {
        let metrics = Metrics::new(store.command_counter());
        let inner = HubInner {
            store,
            clock,
            settings,
            classifier: crate::domain::intent::Classifier::builtin(),
            registry: Registry::default(),
            metrics,
            sessions: Mutex::default(),
            opening: (0..64).map(|_| tokio::sync::Mutex::new(())).collect(),
            shutdown,
            tasks,
            draining: tokio::sync::Mutex::new(()),
            assigning: tokio::sync::Mutex::new(()),
            node: uuid::Uuid::new_v4(),
            held: Mutex::default(),
            hold_again: std::sync::atomic::AtomicBool::new(false),
        };
        let hub = Hub {
            inner: Arc::new(inner),
        };
        hub.listen_to_other_nodes();
        hub.start_beating();
        hub
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Tells every connection the server is shutting down. A connection that registers after
    /// this finds the shutdown token cancelled instead (it is cancelled before this runs); one
    /// whose outbox is full closes as the slow reader it is (4001).
    pub fn shut_down_connections(&self) {
        self.inner.registry.push_to_all(&Outbound::Shutdown);
    }

    /// Sends `Tick` to the connections due one (see [`Registry::tick`]).
    pub fn tick_connections(&self, now_ms: u64, interval_ms: u64) {
        self.inner.registry.tick(now_ms, interval_ms);
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn settings(&self) -> &HubSettings {
        &self.inner.settings
    }

    /// Registers a connection and queues its `welcome` frame.
    /// Registers a connection whose token expires at `expires_at` (seconds since the epoch).
    pub async fn connect(
        &self,
        identity: Identity,
        expires_at: u64,
    ) -> Result<(Arc<ConnectionHandle>, outbox::Receiver<Outbound>), HubError> {
        // A store outage does not refuse the connection: the welcome goes out without the
        // session list, followed by an `unavailable` error, and requests work once it is back.
        let sessions = self.inner.store.sessions_of(&identity.user).await;
        let capacity = self.inner.settings.outbox_capacity;
        let (handle, receiver) = self.inner.registry.connect(identity, capacity, expires_at);
        self.inner.metrics.connected();
        let (sessions, failure) = match sessions {
            Ok(sessions) => (sessions, None),
            Err(error) => (Vec::new(), Some(HubError::Store(error))),
        };
        self.hold(&handle.identity).await;
        handle.push(Outbound::Frame(frames::welcome(&handle.identity, sessions)));
        if let Some(error) = failure {
            handle.push(Outbound::Frame(frames::error(None, None, &error)));
        }
        Ok((handle, receiver))
    }

    pub async fn disconnect(&self, handle: &ConnectionHandle) {
        let remaining = self.inner.registry.disconnect(handle);
        self.inner.metrics.disconnected();
        if remaining == 0 {
            self.let_go(&handle.identity).await;
        }
    }

    /// Applies one client message. Errors are for the caller to send back.
    pub async fn handle(
        &self,
        connection: &Arc<ConnectionHandle>,
        message: ClientMessage,
    ) -> Result<Reply, HubError> {
        match message {
            ClientMessage::Open {
                request_id,
                shop_id,
                order_id,
                item_id,
                topic,
            } => {
                let entry = crate::store::Entry {
                    item: item_id,
                    topic,
                };
                self.open(connection, request_id, shop_id, order_id, entry)
                    .await
            }
            ClientMessage::Transfer {
                session_id,
                to_agent,
                to_group,
                ..
            } => {
                let identity = &connection.identity;
                let (Role::Agent, Some(shop)) = (identity.role, &identity.shop) else {
                    return Err(HubError::NotMember);
                };
                self.transfer(&identity.user, shop, session_id, to_agent, to_group)
                    .await?;
                Ok(Reply::None)
            }
            ClientMessage::Send {
                request_id,
                session_id,
                client_msg_id,
                body,
                marketing,
                intent,
            } => {
                let send = SendCommand {
                    connection: Arc::clone(connection),
                    request_id,
                    client_msg_id,
                    body,
                    marketing,
                    intent,
                };
                running::send(self, session_id, send).await?;
                Ok(Reply::None)
            }
            ClientMessage::Resume {
                request_id,
                session_id,
                after_seq,
            } => {
                self.check_member(connection, session_id, request_id, after_seq)
                    .await
            }
            ClientMessage::Presence { status, .. } => self.presence(connection, status).await,
            ClientMessage::Leave { session_id, .. } => self.leave(connection, session_id).await,
            ClientMessage::AnswerInvite {
                request_id,
                invite_id,
                accept,
            } => {
                self.answer_invite(connection, request_id, invite_id, accept)
                    .await
            }
            ClientMessage::Evaluate {
                request_id,
                invite_id,
                score,
                comment,
            } => {
                self.evaluate(connection, request_id, invite_id, score, comment)
                    .await
            }
            ClientMessage::RateShop {
                request_id,
                session_id,
                score,
                comment,
            } => {
                self.rate_shop(connection, request_id, session_id, score, comment)
                    .await
            }
        }
    }

    async fn check_member(
        &self,
        connection: &ConnectionHandle,
        session_id: SessionId,
        request_id: Option<crate::protocol::ids::RequestId>,
        after_seq: u64,
    ) -> Result<Reply, HubError> {
        let record = self.inner.store.session(session_id).await?;
        if record.is_none() {
            // Unknown, e.g. lost with a store that kept nothing: say so rather than start over.
            return Ok(Reply::NotRecovered {
                session_id,
                after_seq,
                request_id,
            });
        }
        let member = record
            .as_ref()
            .and_then(|record| record.member(&connection.identity.user))
            .ok_or(HubError::NotMember)?;
        // A courier reads only what came after it joined.
        let joined_after = member.visible_from_seq.saturating_sub(1);
        let after_seq = after_seq.max(joined_after);
        let context = match member.role {
            SenderRole::Courier => {
                let courier = &connection.identity.user;
                self.context_again(session_id, courier, joined_after).await
            }
            _ => None,
        };
        Ok(Reply::Replay {
            session_id,
            after_seq,
            request_id,
            context,
        })
    }

    /// A stored message as `viewer` sees it, for replays and catching up: shop agents get the
    /// buyer's prompt flag and see a courier as the shop's logistics sub-account.
    pub async fn frame_for(
        &self,
        viewer: Role,
        session_id: SessionId,
        stored: &crate::store::StoredMessage,
    ) -> registry::Frame {
        if viewer != Role::Agent {
            return frames::message(session_id, stored, None);
        }
        let sender = match stored.sender.role {
            SenderRole::Courier => self.shop_view_of_courier(session_id, &stored.sender).await,
            _ => stored.sender.clone(),
        };
        frames::message_as(session_id, stored, &sender, stored.prompt)
    }

    /// The courier as the shop sees it: its logistics sub-account for that carrier. Without
    /// one on record the carrier alone is shown, never the courier's own account.
    async fn shop_view_of_courier(
        &self,
        session_id: SessionId,
        courier: &crate::protocol::Member,
    ) -> crate::protocol::Member {
        let fallback = || crate::protocol::Member {
            user: UserId::new("courier").expect("a literal, valid id"),
            role: SenderRole::Courier,
            carrier: courier.carrier,
        };
        let Ok(Some(record)) = self.store().session(session_id).await else {
            return fallback();
        };
        let Ok(settings) = self.store().shop_logistics(&record.shop).await else {
            return fallback();
        };
        let chosen = courier
            .carrier
            .and_then(|c| settings.and_then(|s| s.chosen(c).cloned()));
        match chosen {
            Some(chosen) => crate::protocol::Member {
                user: chosen.sub_account,
                role: SenderRole::Courier,
                carrier: courier.carrier,
            },
            None => fallback(),
        }
    }

    /// A page of a session's log, for a resume.
    pub async fn history(
        &self,
        session_id: SessionId,
        after_seq: u64,
    ) -> Result<History, HubError> {
        let batch = self.inner.settings.replay_batch;
        Ok(self
            .inner
            .store
            .messages_after(session_id, after_seq, batch)
            .await?)
    }

    /// Sends the session frame, with the log's current end, to every connection of `user`.
    async fn announce_session(&self, record: &SessionRecord, user: &UserId) {
        let viewer = record.member(user).map_or(SenderRole::Buyer, |m| m.role);
        let frame = self.session_frame(record, None, viewer).await;
        self.tell(user, &Outbound::Frame(frame));
    }

    /// The session frame for a member, with the log's current end.
    async fn session_frame(
        &self,
        record: &SessionRecord,
        request_id: Option<crate::protocol::ids::RequestId>,
        viewer: SenderRole,
    ) -> registry::Frame {
        let end = self
            .inner
            .store
            .messages_after(record.id, u64::MAX, 0)
            .await;
        let last_seq = match end {
            Ok(history) => history.last_seq,
            Err(error) => {
                tracing::warn!(session = %record.id, %error, "session frame without last_seq");
                0
            }
        };
        let message = session::server_message_for_join(record, request_id, last_seq, viewer);
        frames::encode(&message)
    }

    async fn session_sender(&self, session_id: SessionId) -> Result<SessionSender, HubError> {
        if let Some(sender) = self.running_session(session_id) {
            return Ok(sender);
        }
        if self.inner.shutdown.is_cancelled() {
            return Err(HubError::ShuttingDown);
        }
        let state = self.inner.store.session_state(session_id).await?;
        let record = state.record.ok_or(HubError::NotMember)?;
        let controls = state
            .controls
            .unwrap_or_else(|| crate::store::SessionControls::new(record.shop.clone(), record.id));
        let version = state.version;
        let mut sessions = self
            .inner
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let sender = sessions
            .entry(session_id)
            .or_insert_with(|| running::spawn(self.clone(), record, controls, version));
        Ok(sender.clone())
    }

    fn running_session(&self, session_id: SessionId) -> Option<SessionSender> {
        let sessions = self
            .inner
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        sessions
            .get(&session_id)
            .filter(|s| !s.is_closed())
            .cloned()
    }

    /// Drops the map entry for a session actor that stopped, if it is still that actor's.
    fn forget_session(&self, session_id: SessionId, sender: &SessionSender) {
        let mut sessions = self
            .inner
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if sessions
            .get(&session_id)
            .is_some_and(|s| running::Session::is_same(s, sender))
        {
            sessions.remove(&session_id);
        }
    }

    /// Hands a command that reached a stopping actor to a fresh one. During shutdown it is
    /// dropped: its caller gets no ack, so the client will resend it elsewhere.
    async fn requeue(&self, session_id: SessionId, command: Command) {
        if self.inner.shutdown.is_cancelled() {
            return;
        }
        if let Err(error) = running::dispatch(self, session_id, command).await {
            tracing::warn!(session = %session_id, %error, "command lost while its actor stopped");
        }
    }
}
