//! One actor per active session: the single writer of its record and log on this node.
//!
//! Sends, joins and leaves for a session are applied one at a time (`hub::running` says by
//! whom; sends queued together are stored together, in order, `hub::batch`), so `seq` order is
//! delivery order and membership never races a send. The actor
//! caches the session record and controls with their version, writes every change through to
//! the store, and exits after a quiet spell; the next command starts a fresh one from the store.
//!
//! With a store other nodes share, another node's actor of the same session may write it too.
//! Rare commands (joins, leaves, invites, ...) read the session again before acting; a send does
//! not: its commit carries the version the actor holds and is refused when the session moved on
//! (see `hub::send`).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::domain::intent::Intent;
use crate::hub::registry::{ConnectionHandle, Outbound};
use crate::hub::{Hub, HubError, frames};
use crate::protocol::client::ClientBody;
use crate::protocol::ids::{ClientMsgId, InviteId, RequestId, SessionId};
use crate::protocol::server::{Body, SenderRole, ServerMessage, SessionStatus};
use crate::protocol::{ErrorCode, Member};
use crate::store::{MemberRecord, SessionControls, SessionRecord, SessionState, StoredMessage};

pub struct SendCommand {
    pub connection: Arc<ConnectionHandle>,
    pub request_id: Option<RequestId>,
    pub client_msg_id: ClientMsgId,
    pub body: ClientBody,
    pub marketing: bool,
    /// An intent the buyer picked from a menu.
    pub intent: Option<Intent>,
}

pub enum Command {
    Send(SendCommand),
    /// Adds a member (a shop agent taking the session, a courier joining).
    Join {
        member: MemberRecord,
        done: oneshot::Sender<Result<(), HubError>>,
    },
    /// Removes a member. A buyer leaving closes the session.
    Leave {
        member: Member,
        done: oneshot::Sender<Result<(), HubError>>,
    },
    AnswerInvite {
        connection: Arc<ConnectionHandle>,
        request_id: Option<RequestId>,
        invite_id: InviteId,
        accept: bool,
    },
    Evaluate {
        connection: Arc<ConnectionHandle>,
        request_id: Option<RequestId>,
        invite_id: InviteId,
        evaluation: crate::domain::splice::Evaluation,
    },
    /// A courier freed up: take it if this queued invite still waits. Answers whether the
    /// queue may move on (true) or no courier was free after all (false).
    OfferCourier {
        invite_id: InviteId,
        done: oneshot::Sender<bool>,
    },
    QueueTimeout {
        invite_id: InviteId,
    },
    /// Hands the buyer from `from` (an agent or the robot) to `to`.
    Transfer {
        from: crate::protocol::ids::UserId,
        to: Option<MemberRecord>,
        done: oneshot::Sender<Result<(), HubError>>,
    },
    /// A courier disconnected and its grace to return is over.
    CourierLost {
        courier: crate::protocol::ids::UserId,
    },
    /// The buyer re-entered the session from an order's page.
    Mention {
        mention: crate::domain::eligibility::OrderMention,
        done: oneshot::Sender<Result<SessionRecord, HubError>>,
    },
}

pub(super) struct SessionActor {
    pub(super) hub: Hub,
    pub(super) record: SessionRecord,
    pub(super) controls: SessionControls,
    /// The store's version of the session that `record` and `controls` are (see
    /// `store::commit`).
    pub(super) version: u64,
    /// The last message or join, for letting an idle courier go.
    pub(super) last_activity: Instant,
    /// The shared store no longer knows the session: every command is refused.
    pub(super) is_lost: bool,
    /// Its task stopped: commands go to a fresh actor (see `running`).
    pub(super) is_stopped: bool,
}

impl SessionActor {
    pub(super) fn new(
        hub: Hub,
        record: SessionRecord,
        controls: SessionControls,
        version: u64,
    ) -> SessionActor {
        SessionActor {
            hub,
            record,
            controls,
            version,
            last_activity: Instant::now(),
            is_lost: false,
            is_stopped: false,
        }
    }

    /// Applies a command that came through the queue.
    pub(super) async fn apply_queued(&mut self, command: Command) {
        // A send finds out from its commit whether the session moved on.
        let is_send = matches!(command, Command::Send(_));
        if let Err(gone) = self.refresh_unless(is_send).await {
            reject(command, gone);
            return;
        }
        self.apply(command).await;
    }

    /// When a joined courier will have idled too long, if one is a member.
    pub(super) fn courier_idle_deadline(&self) -> Option<Instant> {
        self.record.has_role(SenderRole::Courier).then(|| {
            let idle = self.hub.inner.settings.splice.courier_idle_timeout;
            self.last_activity + idle.to_std().unwrap_or(Duration::MAX / 4)
        })
    }

    /// With a store other nodes share, another node's actor may have changed this session:
    /// read it again before acting (unless `skip`). One node's store is ours alone, and the
    /// cache is the truth.
    async fn refresh_unless(&mut self, skip: bool) -> Result<(), HubError> {
        if skip || !self.hub.store().is_shared() {
            return Ok(());
        }
        self.refresh().await
    }

    /// Reads the session, its controls and its version again (one round trip).
    async fn refresh(&mut self) -> Result<(), HubError> {
        let state = self.hub.store().session_state(self.record.id).await?;
        self.adopt_state(state)
    }

    /// Takes the session as the store holds it now.
    pub(super) fn adopt_state(&mut self, state: SessionState) -> Result<(), HubError> {
        let SessionState {
            record,
            controls,
            version,
        } = state;
        let Some(record) = record else {
            // The store lost the session (a Redis that kept nothing): never start it over.
            self.is_lost = true;
            return Err(HubError::NotMember);
        };
        self.record = record;
        if let Some(controls) = controls {
            self.controls = controls;
        }
        self.version = version;
        Ok(())
    }

    /// Takes the version a write of ours returned, when it follows the one we held; otherwise
    /// someone else wrote in between, and the next commit is refused and reads again.
    pub(super) fn adopt_version(&mut self, written: u64) {
        if written == self.version + 1 {
            self.version = written;
        }
    }

    /// Notes activity, which keeps a joined courier in the session.
    pub(super) fn touch(&mut self) {
        self.last_activity = Instant::now();
    }

    pub(super) async fn let_idle_courier_go(&mut self) {
        let courier = self
            .record
            .members
            .iter()
            .find(|m| m.role == SenderRole::Courier);
        let Some(courier) = courier.map(MemberRecord::view) else {
            return;
        };
        if let Err(error) = self.leave(courier).await {
            tracing::warn!(session = %self.record.id, %error, "idle courier not let go");
        }
    }

    async fn apply(&mut self, command: Command) {
        match command {
            Command::Send(send) => self.send(send).await,
            Command::Join { member, done } => {
                let _ = done.send(self.join(member).await);
            }
            Command::Leave { member, done } => {
                let _ = done.send(self.leave(member).await);
            }
            Command::Mention { mention, done } => {
                self.record.mentions.push(mention);
                let saved = self.save().await.map(|()| self.record.clone());
                let _ = done.send(saved);
            }
            Command::AnswerInvite {
                connection,
                request_id,
                invite_id,
                accept,
            } => {
                let result = self.answer_invite(&connection, request_id.clone(), invite_id, accept);
                reply_error(&connection, request_id, "answer_invite", result.await);
            }
            Command::Evaluate {
                connection,
                request_id,
                invite_id,
                evaluation,
            } => {
                let result = self.evaluate(&connection, request_id.clone(), invite_id, evaluation);
                reply_error(&connection, request_id, "evaluate", result.await);
            }
            Command::OfferCourier { invite_id, done } => {
                let offered = self.offer_courier(invite_id).await;
                let _ = done.send(offered.unwrap_or_else(|error| {
                    tracing::warn!(%invite_id, %error, "courier offer failed");
                    true
                }));
            }
            Command::QueueTimeout { invite_id } => {
                if let Err(error) = self.queue_timed_out(invite_id).await {
                    tracing::warn!(%invite_id, %error, "queue timeout not applied");
                }
            }
            Command::Transfer { from, to, done } => {
                let _ = done.send(self.transfer(&from, to).await);
            }
            Command::CourierLost { courier } => {
                if let Err(error) = self.courier_lost(&courier).await {
                    tracing::warn!(%courier, %error, "lost courier not replaced");
                }
            }
        }
    }

    pub(super) async fn send(&mut self, command: SendCommand) {
        if let Err(error) = self.try_send(&command).await {
            self.answer_failed_send(&command, &error);
        }
    }

    /// The error frame of a send that was not stored.
    pub(super) fn answer_failed_send(&self, command: &SendCommand, error: &HubError) {
        let frame = frames::error(command.request_id.clone(), Some("send"), error);
        self.hub.inner.metrics.error(error.code());
        command.connection.push(Outbound::Frame(frame));
    }

    /// A refused message may be the retry of one stored before the controls tightened: that
    /// gets its original ack, not the refusal.
    pub(super) async fn refuse_unless_repeat(
        &self,
        command: &SendCommand,
        refusal: HubError,
    ) -> Result<(), HubError> {
        let store = self.hub.store();
        let original = store.message_by_client_id(self.record.id, &command.client_msg_id);
        let Some(original) = original.await? else {
            return Err(refusal);
        };
        let ack = frames::ack(self.record.id, command.request_id.clone(), &original);
        command
            .connection
            .push(acked(self.record.id, &original, ack));
        Ok(())
    }

    /// Checks what a body claims against facts the hub holds. An order card must name an order
    /// the feed gave for this session's buyer and shop.
    pub(super) async fn check_body(&self, body: &ClientBody) -> Result<Body, HubError> {
        match body {
            ClientBody::Text { text } => Ok(Body::Text { text: text.clone() }),
            ClientBody::OrderCard { order_id } => {
                let order = self.hub.store().order(order_id).await?;
                let order = order.ok_or_else(|| {
                    HubError::peer(ErrorCode::OrderNotFound, format!("no order {order_id}"))
                })?;
                if order.buyer != self.record.buyer || order.shop != self.record.shop {
                    return Err(HubError::peer(
                        ErrorCode::OrderForbidden,
                        format!("order {order_id} is not this buyer's order with this shop"),
                    ));
                }
                Ok(Body::OrderCard {
                    order_id: order_id.clone(),
                })
            }
        }
    }

    /// Pushes a stored message to every member's connections, except the sending connection,
    /// which got an ack instead. Each audience's frame is encoded once, and only when one of
    /// its members is connected here.
    pub(super) fn deliver(&self, stored: &StoredMessage, skip_connection: Option<u64>) {
        let session = self.record.id;
        let registry = &self.hub.inner.registry;
        let (mut plain, mut for_shop) = (None, None);
        for member in &self.record.members {
            registry.push_to_user_with(&member.user, skip_connection, || {
                let frame = match member.role {
                    SenderRole::Agent => for_shop.get_or_insert_with(|| self.shop_frame(stored)),
                    _ => plain.get_or_insert_with(|| frames::message(session, stored, None)),
                };
                Outbound::Message {
                    session_id: session,
                    seq: stored.seq,
                    frame: frame.clone(),
                }
            });
        }
    }

    /// The message as the shop side sees it: with its `prompt`, and a courier shown as the
    /// shop's logistics sub-account.
    fn shop_frame(&self, stored: &StoredMessage) -> crate::hub::registry::Frame {
        let session = self.record.id;
        match self.record.member(&stored.sender.user) {
            Some(sender) if sender.sub_account.is_some() => {
                let seen = sender.view_for(SenderRole::Agent);
                frames::message_as(session, stored, &seen, stored.prompt)
            }
            _ => frames::message(session, stored, stored.prompt),
        }
    }

    pub(super) async fn join(&mut self, member: MemberRecord) -> Result<(), HubError> {
        if self.record.status == SessionStatus::Closed {
            return Err(HubError::peer(
                ErrorCode::SessionClosed,
                "the session is closed",
            ));
        }
        if self.record.member(&member.user).is_some() {
            return Ok(());
        }
        let view = member.view();
        let joined = member.clone();
        self.record.members.push(member);
        if matches!(view.role, SenderRole::Agent | SenderRole::Robot) {
            self.record.status = SessionStatus::Open;
        }
        self.save().await?;
        self.after_membership_change().await?;
        for other in self.record.members.iter().filter(|m| m.user != view.user) {
            let seen = joined.view_for(other.role);
            let frame = Outbound::Frame(frames::member_joined(self.record.id, &seen));
            self.hub.tell(&other.user, &frame);
        }
        self.hub.announce_session(&self.record, &view.user).await;
        Ok(())
    }

    pub(super) async fn leave(&mut self, member: Member) -> Result<(), HubError> {
        let Some(record) = self.record.member(&member.user).cloned() else {
            return Err(HubError::NotMember);
        };
        if member.role == SenderRole::Buyer {
            self.let_courier_go().await?;
        }
        self.record.members.retain(|m| m.user != member.user);
        let is_served =
            self.record.has_role(SenderRole::Agent) || self.record.has_role(SenderRole::Robot);
        match member.role {
            SenderRole::Buyer => self.record.status = SessionStatus::Closed,
            SenderRole::Agent | SenderRole::Robot if !is_served => {
                self.record.status = SessionStatus::WaitingForAgent;
            }
            _ => {}
        }
        self.save().await?;
        self.after_membership_change().await?;
        if self.record.status == SessionStatus::Closed {
            self.settle_on_close().await?;
        }
        for other in &self.record.members {
            let seen = record.view_for(other.role);
            let frame = Outbound::Frame(frames::member_left(self.record.id, &seen));
            self.hub.tell(&other.user, &frame);
        }
        let frame = Outbound::Frame(frames::member_left(self.record.id, &member));
        self.hub.tell(&member.user, &frame);
        if member.role == SenderRole::Courier {
            self.courier_left(&member.user).await?;
        }
        Ok(())
    }

    /// A session closing lets its courier go first, so the evaluation card still reaches the
    /// buyer.
    async fn let_courier_go(&mut self) -> Result<(), HubError> {
        let courier = self
            .record
            .members
            .iter()
            .find(|m| m.role == SenderRole::Courier);
        match courier.map(MemberRecord::view) {
            Some(courier) => Box::pin(self.leave(courier)).await,
            None => Ok(()),
        }
    }

    /// A closed session's pending buyer messages are settled unanswered, and its buyer waits
    /// on nobody any more.
    async fn settle_on_close(&mut self) -> Result<(), HubError> {
        let (shop, session) = (self.record.shop.clone(), self.record.id);
        let ledger =
            std::mem::replace(&mut self.controls, SessionControls::new(shop, session)).ledger;
        let store = self.hub.store().clone();
        store.add_responses(&ledger.close()).await?;
        let written = store.put_controls(session, &self.controls).await?;
        self.adopt_version(written);
        let changed = store.set_waiting(session, None).await?;
        self.hub.push_waiting_counts(&changed).await;
        Ok(())
    }

    async fn save(&mut self) -> Result<(), HubError> {
        let written = self.hub.store().put_session(&self.record).await?;
        self.adopt_version(written);
        Ok(())
    }
}

pub(super) fn acked(
    session_id: SessionId,
    stored: &StoredMessage,
    frame: crate::hub::registry::Frame,
) -> Outbound {
    Outbound::Ack {
        session_id,
        seq: stored.seq,
        frame,
    }
}

/// Answers a command that cannot be applied (the store failed, or lost the session).
pub(super) fn reject(command: Command, error: HubError) {
    let code = error.code();
    let again = || HubError::peer(code, error.client_message());
    match command {
        Command::Send(send) => reply_error(&send.connection, send.request_id, "send", Err(error)),
        Command::AnswerInvite {
            connection,
            request_id,
            ..
        } => reply_error(&connection, request_id, "answer_invite", Err(error)),
        Command::Evaluate {
            connection,
            request_id,
            ..
        } => reply_error(&connection, request_id, "evaluate", Err(error)),
        Command::Join { done, .. } | Command::Leave { done, .. } => drop(done.send(Err(again()))),
        Command::Transfer { done, .. } => drop(done.send(Err(again()))),
        Command::Mention { done, .. } => drop(done.send(Err(again()))),
        Command::OfferCourier { done, .. } => drop(done.send(true)),
        Command::QueueTimeout { .. } | Command::CourierLost { .. } => {}
    }
}

/// Sends the error of a command that has no other way to answer.
fn reply_error(
    connection: &ConnectionHandle,
    request_id: Option<RequestId>,
    kind: &str,
    result: Result<(), HubError>,
) {
    if let Err(error) = result {
        connection.push(Outbound::Frame(frames::error(
            request_id,
            Some(kind),
            &error,
        )));
    }
}

/// The session frame as `viewer` sees the members.
pub fn server_message_for_join(
    record: &SessionRecord,
    request_id: Option<RequestId>,
    last_seq: u64,
    viewer: SenderRole,
) -> ServerMessage {
    ServerMessage::Session {
        request_id,
        session_id: record.id,
        shop_id: record.shop.clone(),
        buyer: record.buyer.clone(),
        status: record.status,
        members: record.members.iter().map(|m| m.view_for(viewer)).collect(),
        entry_order_id: record.entry_order().cloned(),
        last_seq,
    }
}
