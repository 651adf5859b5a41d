//! One actor per active session: the single writer of its record and log on this node.
//!
//! Sends, joins and leaves for a session queue on its bounded command channel and are applied
//! one at a time, so `seq` order is delivery order and membership never races a send. The actor
//! caches the session record, writes every change through to the store, and exits after a quiet
//! spell; the next command starts a fresh one from the store.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::domain::intent::Intent;
use crate::hub::controls::Checked;
use crate::hub::registry::{ConnectionHandle, Outbound};
use crate::hub::{Hub, HubError, frames};
use crate::protocol::client::ClientBody;
use crate::protocol::ids::{ClientMsgId, MessageId, RequestId, SessionId};
use crate::protocol::server::{Body, SenderRole, ServerMessage, SessionStatus};
use crate::protocol::{ErrorCode, Member};
use crate::store::{
    Appended, MemberRecord, NewMessage, SessionControls, SessionRecord, StoredMessage,
};

/// Commands queued per session before senders wait.
const COMMAND_CAPACITY: usize = 256;
/// An actor with nothing to do for this long exits.
const IDLE_EXIT: Duration = Duration::from_secs(120);

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
    /// The buyer re-entered the session from an order's page.
    Mention {
        mention: crate::domain::eligibility::OrderMention,
        done: oneshot::Sender<Result<SessionRecord, HubError>>,
    },
}

pub type SessionSender = mpsc::Sender<Command>;

pub fn spawn(hub: Hub, record: SessionRecord, controls: SessionControls) -> SessionSender {
    let (sender, receiver) = mpsc::channel(COMMAND_CAPACITY);
    let actor = SessionActor {
        hub,
        record,
        controls,
    };
    let tracker = actor.hub.inner.tasks.clone();
    tracker.spawn(actor.run(receiver, sender.clone()));
    sender
}

pub(super) struct SessionActor {
    pub(super) hub: Hub,
    pub(super) record: SessionRecord,
    pub(super) controls: SessionControls,
}

impl SessionActor {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>, me: SessionSender) {
        let shutdown = self.hub.inner.shutdown.clone();
        loop {
            let command = tokio::select! {
                command = commands.recv() => command,
                () = tokio::time::sleep(IDLE_EXIT) => None,
                () = shutdown.cancelled() => None,
            };
            let Some(command) = command else { break };
            self.apply(command).await;
        }
        self.hub.forget_session(self.record.id, &me);
        // Whatever raced in after we chose to stop goes to a fresh actor.
        commands.close();
        while let Ok(command) = commands.try_recv() {
            self.hub.requeue(self.record.id, command).await;
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
        }
    }

    async fn send(&mut self, command: SendCommand) {
        let connection = Arc::clone(&command.connection);
        let request_id = command.request_id.clone();
        if let Err(error) = self.try_send(command).await {
            let frame = frames::error(request_id, Some("send"), &error);
            self.hub.inner.metrics.error(error.code());
            connection.push(Outbound::Frame(frame));
        }
    }

    async fn try_send(&mut self, command: SendCommand) -> Result<(), HubError> {
        let identity = &command.connection.identity;
        let sender = self
            .record
            .member(&identity.user)
            .ok_or(HubError::NotMember)?;
        if self.record.status == SessionStatus::Closed {
            return Err(HubError::peer(
                ErrorCode::SessionClosed,
                "the session is closed",
            ));
        }
        let sender = sender.view();
        let body = self.check_body(&command.body).await?;
        let checked = match self.check_controls(&sender, &body, command.marketing).await {
            Ok(checked) => checked,
            Err(refusal) => return self.refuse_unless_repeat(&command, refusal).await,
        };
        let message = NewMessage {
            msg_id: MessageId::new(),
            client_msg_id: Some(command.client_msg_id.clone()),
            sender,
            body,
            sent_at: self.hub.now(),
        };
        let appended = self.hub.store().append(self.record.id, message).await?;
        let (stored, is_new) = match appended {
            Appended::New(stored) => (stored, true),
            Appended::Duplicate(original) => (original, false),
        };
        let ack = frames::ack(self.record.id, command.request_id, &stored);
        command.connection.push(Outbound::Frame(ack));
        if is_new {
            self.hub.inner.metrics.message();
            self.deliver(&stored, Some(command.connection.id));
            self.after_stored(&stored, checked, command.intent).await;
        }
        Ok(())
    }

    /// A refused message may be the retry of one stored before the controls tightened: that
    /// gets its original ack, not the refusal.
    async fn refuse_unless_repeat(
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
        command.connection.push(Outbound::Frame(ack));
        Ok(())
    }

    /// Checks what a body claims against facts the hub holds. An order card must name an order
    /// the feed gave for this session's buyer and shop.
    async fn check_body(&self, body: &ClientBody) -> Result<Body, HubError> {
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

    /// Bookkeeping once a message is stored: the controls' state, a buyer's order card as an
    /// order mention, and an eligibility decision on a buyer's text in a two-party session.
    /// The message is already acknowledged, so failures here are logged, not returned.
    async fn after_stored(
        &mut self,
        stored: &StoredMessage,
        checked: Checked,
        intent: Option<Intent>,
    ) {
        if let Err(error) = self.after_stored_controls(stored, checked).await {
            tracing::warn!(session = %self.record.id, %error, "controls state not saved");
        }
        if stored.sender.role != SenderRole::Buyer {
            return;
        }
        let result = match &stored.body {
            Body::OrderCard { order_id } => self.mention_card(order_id, stored.sent_at).await,
            Body::Text { text } if !self.record.has_role(SenderRole::Courier) => {
                self.on_buyer_text(text, intent, stored.sent_at).await
            }
            _ => Ok(()),
        };
        if let Err(error) = result {
            tracing::warn!(session = %self.record.id, %error, "after-store step failed");
        }
    }

    async fn mention_card(
        &mut self,
        order_id: &crate::protocol::ids::OrderId,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), HubError> {
        use crate::domain::eligibility::{MentionSource, OrderMention};
        self.record.mentions.push(OrderMention {
            order_id: order_id.clone(),
            at,
            source: MentionSource::OrderCard,
        });
        self.save().await
    }

    /// Pushes a stored message to every member's connections, except the sending connection,
    /// which got an ack instead.
    fn deliver(&self, stored: &StoredMessage, skip_connection: Option<u64>) {
        let plain = frames::message(self.record.id, stored, None);
        let prompt = crate::domain::controls::prompt::prompt_for(&self.exemptions());
        let prompted = (stored.sender.role == SenderRole::Buyer)
            .then(|| frames::message(self.record.id, stored, Some(prompt)));
        let registry = &self.hub.inner.registry;
        for member in &self.record.members {
            let frame = match (&prompted, member.role) {
                (Some(prompted), SenderRole::Agent) => prompted.clone(),
                _ => plain.clone(),
            };
            let outbound = Outbound::Message {
                session_id: self.record.id,
                seq: stored.seq,
                frame,
            };
            registry.push_to_user(&member.user, &outbound, skip_connection);
        }
    }

    async fn join(&mut self, member: MemberRecord) -> Result<(), HubError> {
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
        self.record.members.push(member);
        if view.role == SenderRole::Agent {
            self.record.status = SessionStatus::Open;
        }
        self.save().await?;
        self.after_membership_change().await?;
        self.broadcast_except(&view, frames::member_joined(self.record.id, &view));
        self.hub.announce_session(&self.record, &view.user).await;
        Ok(())
    }

    async fn leave(&mut self, member: Member) -> Result<(), HubError> {
        if self.record.member(&member.user).is_none() {
            return Err(HubError::NotMember);
        }
        self.record.members.retain(|m| m.user != member.user);
        match member.role {
            SenderRole::Buyer => self.record.status = SessionStatus::Closed,
            SenderRole::Agent if !self.record.has_role(SenderRole::Agent) => {
                self.record.status = SessionStatus::WaitingForAgent;
            }
            _ => {}
        }
        self.save().await?;
        self.after_membership_change().await?;
        if self.record.status == SessionStatus::Closed {
            self.settle_on_close().await?;
        }
        let frame = frames::member_left(self.record.id, &member);
        self.broadcast_except(&member, frame.clone());
        self.hub
            .inner
            .registry
            .push_to_user(&member.user, &Outbound::Frame(frame), None);
        Ok(())
    }

    /// A closed session's pending buyer messages are settled unanswered, and its buyer waits
    /// on nobody any more.
    async fn settle_on_close(&mut self) -> Result<(), HubError> {
        let (shop, session) = (self.record.shop.clone(), self.record.id);
        let ledger =
            std::mem::replace(&mut self.controls, SessionControls::new(shop, session)).ledger;
        let store = self.hub.store().clone();
        store.add_responses(&ledger.close()).await?;
        store.put_controls(session, &self.controls).await?;
        let changed = store.set_waiting(session, None).await?;
        self.hub.push_waiting_counts(&changed).await;
        Ok(())
    }

    fn broadcast_except(&self, except: &Member, frame: crate::hub::registry::Frame) {
        let outbound = Outbound::Frame(frame);
        for member in self.record.members.iter().filter(|m| m.user != except.user) {
            self.hub
                .inner
                .registry
                .push_to_user(&member.user, &outbound, None);
        }
    }

    async fn save(&self) -> Result<(), HubError> {
        Ok(self.hub.store().put_session(&self.record).await?)
    }
}

/// Sends `command` to the session's actor, starting one when none runs.
pub async fn dispatch(hub: &Hub, session_id: SessionId, command: Command) -> Result<(), HubError> {
    let sender = hub.session_sender(session_id).await?;
    if let Err(mpsc::error::SendError(command)) = sender.send(command).await {
        // The actor stopped between lookup and send; a fresh one takes the command.
        hub.forget_session(session_id, &sender);
        let sender = hub.session_sender(session_id).await?;
        sender
            .send(command)
            .await
            .map_err(|_| HubError::ShuttingDown)?;
    }
    Ok(())
}

pub fn is_same(a: &SessionSender, b: &SessionSender) -> bool {
    a.same_channel(b)
}

pub fn server_message_for_join(
    record: &SessionRecord,
    request_id: Option<RequestId>,
    last_seq: u64,
) -> ServerMessage {
    ServerMessage::Session {
        request_id,
        session_id: record.id,
        shop_id: record.shop.clone(),
        buyer: record.buyer.clone(),
        status: record.status,
        members: record.members.iter().map(MemberRecord::view).collect(),
        entry_order_id: record.entry_order().cloned(),
        last_seq,
    }
}
