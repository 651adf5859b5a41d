//! Sending chat messages: the checks, every effect computed up front, one commit, then the
//! acks and deliveries.
//!
//! The actor does not read its session before a send: it computes the message's effects from
//! the state it holds (on copies) and commits them with the version it last saw
//! (`store::commit`). When another node's actor of the same session wrote in between, the
//! commit is refused with nothing written and answers with the session as it is now; the actor
//! takes that and runs the send again from its checks. With Redis a send is then one command,
//! plus one read before it for a buyer's text in a two-party session with an order shown (the
//! order and the shop's settings, for the eligibility decision), an order card (the order) or
//! a marketing message (the tally).
//!
//! Sends that queued while the actor was busy go together ([`SessionActor::send_all`]): each is
//! planned on the state the one before it left, and as many as plan cleanly are stored in one
//! commit, their effects folded into one (`Effects::then`). A batch ends before a send that is
//! refused or fails its checks, that repeats a `client_msg_id` of the batch, or whose effects do
//! not fold; and after one with work to do after its commit (an invite, the robot's answer).
//! The send that ended it then goes alone, as if it had come alone. A batch the store refuses
//! (another node wrote the session, or a message was stored before) is sent again one by one.

use chrono::{DateTime, Utc};

use crate::domain::eligibility::{MentionSource, OrderMention};
use crate::domain::intent::Intent;
use crate::hub::registry::Outbound;
use crate::hub::session::{SendCommand, SessionActor, acked};
use crate::hub::{HubError, frames};
use crate::protocol::ErrorCode;
use crate::protocol::ids::MessageId;
use crate::protocol::server::{Body, SenderRole, SessionStatus};
use crate::store::{
    Committed, Effects, MessageCommit, NewMessage, SessionState, StoredMessage, WaitingCount,
};

/// Commits refused for a changed session before the send gives up with `unavailable`. Each
/// refusal means another node wrote this session in between: rare, except when members on
/// two nodes send at once, where each attempt wins about half the time.
const CONFLICT_ATTEMPTS: usize = 16;

/// How one attempt ended.
enum Attempt {
    /// Acknowledged (stored now or before) or refused with an answer already sent.
    Done,
    /// The session changed under the attempt; nothing was written. Here it is now.
    Conflict(Box<SessionState>),
}

/// Work that follows the commit and may store more (rare, so it costs its own commands).
pub(super) enum After {
    Nothing,
    /// An eligible decision: invite the courier.
    Eligible(crate::domain::eligibility::Decision),
    /// The robot serves the session: answer the buyer's text.
    Robot(String),
}

/// A send checked and planned on the state the actor holds, ready to commit.
pub(super) struct Planned {
    pub(super) message: NewMessage,
    pub(super) effects: Effects,
    pub(super) after: After,
}

/// How planning a send ended.
// Returned once per send and unpacked at once: boxing the plan would cost an allocation per
// message to save a move.
#[allow(clippy::large_enum_variant)]
pub(super) enum Plan {
    Ready(Planned),
    /// The controls refuse it (answered with `refuse_unless_repeat`).
    Refused(HubError),
}

impl SessionActor {
    pub(super) async fn try_send(&mut self, command: &SendCommand) -> Result<(), HubError> {
        for _ in 0..CONFLICT_ATTEMPTS {
            match self.send_once(command).await? {
                Attempt::Done => return Ok(()),
                Attempt::Conflict(state) => {
                    self.hub.inner.metrics.commit_conflict();
                    self.adopt_state(*state)?;
                }
            }
        }
        Err(HubError::peer(
            ErrorCode::Unavailable,
            "the session kept changing while this message was stored; send it again",
        ))
    }

    async fn send_once(&mut self, command: &SendCommand) -> Result<Attempt, HubError> {
        let planned = match self.plan(command).await? {
            Plan::Ready(planned) => planned,
            Plan::Refused(refusal) => {
                self.refuse_unless_repeat(command, refusal).await?;
                return Ok(Attempt::Done);
            }
        };
        let sent_at = planned.message.sent_at;
        let commit = self.commit_of(vec![planned.message], planned.effects);
        let (stored, waiting) = match self.hub.store().commit_message(&commit).await? {
            Committed::Conflict(state) => return Ok(Attempt::Conflict(Box::new(state))),
            Committed::Duplicate(original) => {
                let ack = frames::ack(self.record.id, command.request_id.clone(), &original);
                command
                    .connection
                    .push(acked(self.record.id, &original, ack));
                return Ok(Attempt::Done);
            }
            Committed::New {
                stored,
                version,
                waiting,
            } => {
                self.take_committed(version, commit.effects);
                (stored, waiting)
            }
        };
        for stored in &stored {
            self.acknowledge(command, stored);
        }
        self.push_waiting_here(&waiting);
        self.after_commit(planned.after, sent_at).await;
        Ok(Attempt::Done)
    }

    /// Checks a send and computes its message and effects on the state the actor holds now.
    /// Writes nothing: the store reads it makes (an order card's order, a marketing tally, an
    /// eligibility decision's facts) are reads.
    pub(super) async fn plan(&self, command: &SendCommand) -> Result<Plan, HubError> {
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
            Err(refusal) => return Ok(Plan::Refused(refusal)),
        };
        let prompt = (sender.role == SenderRole::Buyer)
            .then(|| crate::domain::controls::prompt::prompt_for(&self.exemptions()));
        let message = NewMessage {
            msg_id: MessageId::new(),
            client_msg_id: Some(command.client_msg_id.clone()),
            sender,
            body,
            sent_at: self.hub.now(),
            prompt,
        };
        let mut effects = self.plan_controls(&message.sender, message.sent_at, checked);
        let after = self
            .plan_buyer(&message, command.intent, &mut effects)
            .await?;
        Ok(Plan::Ready(Planned {
            message,
            effects,
            after,
        }))
    }

    /// The commit of `messages` with `effects` on the version the actor holds.
    pub(super) fn commit_of(&self, messages: Vec<NewMessage>, effects: Effects) -> MessageCommit {
        MessageCommit {
            session: self.record.id,
            version: self.version,
            shop: self.record.shop.clone(),
            buyer: self.record.buyer.clone(),
            messages,
            origin: self.hub.inner.node,
            effects,
        }
    }

    /// A commit went in: the actor holds the state it wrote.
    pub(super) fn take_committed(&mut self, version: u64, effects: Effects) {
        self.version = version;
        if let Some(record) = effects.record {
            self.record = record;
        }
        if let Some(controls) = effects.controls {
            self.controls = controls;
        }
    }

    /// The ack to the sender and the message to the session's other connections.
    pub(super) fn acknowledge(&mut self, command: &SendCommand, stored: &StoredMessage) {
        let ack = frames::ack(self.record.id, command.request_id.clone(), stored);
        command.connection.push(acked(self.record.id, stored, ack));
        self.touch();
        self.hub.inner.metrics.message();
        self.deliver(stored, Some(command.connection.id));
    }

    /// A buyer's order card becomes an order mention; a buyer's text in a two-party session
    /// gets its eligibility decision (or the robot's answer, when the robot serves).
    async fn plan_buyer(
        &self,
        message: &NewMessage,
        intent: Option<Intent>,
        effects: &mut Effects,
    ) -> Result<After, HubError> {
        if message.sender.role != SenderRole::Buyer {
            return Ok(After::Nothing);
        }
        match &message.body {
            Body::OrderCard { order_id } => {
                let mut record = self.record.clone();
                record.mentions.push(OrderMention {
                    order_id: order_id.clone(),
                    at: message.sent_at,
                    source: MentionSource::OrderCard,
                });
                effects.record = Some(record);
                Ok(After::Nothing)
            }
            Body::Text { text } if self.is_robot_serving() => Ok(After::Robot(text.clone())),
            Body::Text { text } if !self.record.has_role(SenderRole::Courier) => {
                let decision = self.take_decision(text, intent, message.sent_at).await?;
                let after = match decision.eligible {
                    true => After::Eligible(decision.clone()),
                    false => After::Nothing,
                };
                effects.decision = Some(std::sync::Arc::new(decision));
                Ok(after)
            }
            _ => Ok(After::Nothing),
        }
    }

    /// Tells this node's connections of each agent whose count changed. Other nodes get it
    /// from the store's wake-up (`Notification::Waiting`), published by the commit.
    pub(super) fn push_waiting_here(&self, counts: &[WaitingCount]) {
        for count in counts {
            let frame = frames::waiting(count.buyers_waiting);
            let registry = &self.hub.inner.registry;
            registry.push_to_user(&count.agent, &Outbound::Frame(frame), None);
        }
    }

    /// The message is acknowledged already: failures here are logged, not returned.
    pub(super) async fn after_commit(&mut self, after: After, now: DateTime<Utc>) {
        let result = match after {
            After::Nothing => Ok(()),
            After::Eligible(decision) => self.on_eligible(&decision, now).await,
            After::Robot(text) => self.robot_reply(&text).await,
        };
        if let Err(error) = result {
            tracing::warn!(session = %self.record.id, %error, "after-commit step failed");
        }
    }
}
