//! The splice record: one invite card and everything that follows from it, with the transition
//! log the admin endpoint shows.
//!
//! This module owns the record's types, how a record is opened (`Splice::invite`) and the
//! questions asked of it (`is_open_invite`, `is_active`, `closed_at`). How events move it from
//! state to state is in `transitions`; whether an invite may go out at all is in `policy`.

use chrono::{DateTime, TimeDelta, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::intent::Intent;
use crate::domain::order::{Carrier, OrderStatus};
use crate::protocol::ids::{InviteId, OrderId, SessionId, ShopId, UserId};

/// The longest evaluation comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 500;

/// Where a splice stands. `eligible` is not a state: it is the first recorded transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SpliceState {
    Invited,
    Accepted,
    Declined,
    Expired,
    Queued,
    Joined,
    Left,
    Evaluated,
    NoCourier,
}

/// The name of one recorded transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransitionName {
    Eligible,
    Invited,
    Accepted,
    Declined,
    Expired,
    Queued,
    Joined,
    Left,
    CourierLost,
    NoCourier,
    Evaluated,
}

/// Who caused a transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    Platform,
    Buyer { user: UserId },
    Courier { user: UserId },
}

/// One entry of the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Transition {
    pub state: TransitionName,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    /// The courier concerned: on `joined`, `left` and `courier_lost`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub courier: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The buyer's logistics evaluation, kept apart from the shop's own rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Evaluation {
    /// 1 to 5.
    #[schemars(range(min = 1, max = 5))]
    pub score: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 500))]
    pub comment: Option<String>,
    pub at: DateTime<Utc>,
}

impl Evaluation {
    /// Checks the score range and the comment length.
    pub fn validate(&self) -> Result<(), SpliceError> {
        if !(1..=5).contains(&self.score) {
            return Err(SpliceError::BadScore);
        }
        let length = self
            .comment
            .as_deref()
            .map_or(0, |text| text.chars().count());
        if length > MAX_COMMENT_CHARS {
            return Err(SpliceError::CommentTooLong);
        }
        Ok(())
    }

    /// Whether `other` says the same thing (the time of saying it does not count).
    pub fn is_same_answer(&self, other: &Evaluation) -> bool {
        self.score == other.score && self.comment == other.comment
    }
}

/// What the hub knows when it sends an invite: the eligible message's facts and a fresh id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteFacts {
    pub invite_id: InviteId,
    pub session_id: SessionId,
    pub shop: ShopId,
    pub buyer: UserId,
    pub order_id: OrderId,
    pub carrier: Carrier,
    pub waybill: String,
    pub order_status: OrderStatus,
    pub intent: Intent,
}

/// One splice: the invite card, the answer, the courier and the evaluation, with the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Splice {
    pub invite_id: InviteId,
    pub session_id: SessionId,
    pub shop: ShopId,
    pub buyer: UserId,
    pub order_id: OrderId,
    pub carrier: Carrier,
    pub waybill: String,
    pub order_status: OrderStatus,
    pub intent: Intent,
    pub invited_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub state: SpliceState,
    /// The courier who joined; kept after `left` so the evaluation can name them.
    pub courier: Option<UserId>,
    /// When the buyer started waiting for a courier (again, after a courier was lost).
    pub queued_at: Option<DateTime<Utc>>,
    pub evaluation: Option<Evaluation>,
    /// Every transition, oldest first.
    pub transitions: Vec<Transition>,
}

/// An event the hub applies to a splice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Accept,
    Decline,
    Expire,
    Queue,
    Join {
        courier: UserId,
    },
    /// The courier stayed disconnected past `courier_return_timeout`; names the courier so a
    /// late timer for a courier who was already replaced changes nothing.
    CourierLost {
        courier: UserId,
    },
    NoCourier,
    Leave,
    Evaluate(Evaluation),
}

impl Event {
    /// The event's name, as errors report it.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Accept => "accept",
            Event::Decline => "decline",
            Event::Expire => "expire",
            Event::Queue => "queue",
            Event::Join { .. } => "join",
            Event::CourierLost { .. } => "courier_lost",
            Event::NoCourier => "no_courier",
            Event::Leave => "leave",
            Event::Evaluate(_) => "evaluate",
        }
    }
}

/// What applying an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Changed,
    /// The same transition was applied before: nothing changed and the hub does nothing.
    Unchanged,
}

/// Why an event is refused. Every variant is the peer's or a late timer's doing, not ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpliceError {
    #[error("invite_expired")]
    Expired,
    #[error("the invite was already answered (accepted: {accepted})")]
    AlreadyAnswered { accepted: bool },
    #[error("the evaluation was already given")]
    AlreadyEvaluated,
    #[error("{event} is not allowed from {from:?}")]
    NotAllowed {
        from: SpliceState,
        event: &'static str,
    },
    #[error("only the invited buyer may do that")]
    NotTheBuyer,
    #[error("score must be 1 to 5")]
    BadScore,
    #[error("comment is longer than {MAX_COMMENT_CHARS} characters")]
    CommentTooLong,
}

impl Splice {
    /// Opens a splice: records `eligible` and `invited` at `now`, by the platform; the invite
    /// expires `ttl` later.
    pub fn invite(facts: InviteFacts, now: DateTime<Utc>, ttl: TimeDelta) -> Splice {
        let mut splice = Splice {
            invite_id: facts.invite_id,
            session_id: facts.session_id,
            shop: facts.shop,
            buyer: facts.buyer,
            order_id: facts.order_id,
            carrier: facts.carrier,
            waybill: facts.waybill,
            order_status: facts.order_status,
            intent: facts.intent,
            invited_at: now,
            expires_at: now + ttl,
            state: SpliceState::Invited,
            courier: None,
            queued_at: None,
            evaluation: None,
            transitions: Vec::new(),
        };
        let eligible = Transition::new(TransitionName::Eligible, now, Actor::Platform);
        splice.push(eligible.with_detail(facts.intent.label()));
        splice.push(Transition::new(
            TransitionName::Invited,
            now,
            Actor::Platform,
        ));
        splice
    }

    /// Whether the invite can still be answered: invited and `now` before `expires_at`.
    pub fn is_open_invite(&self, now: DateTime<Utc>) -> bool {
        self.state == SpliceState::Invited && now < self.expires_at
    }

    /// Whether the splice still holds the session: an open invite, or accepted, queued, joined.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        use SpliceState::*;
        matches!(self.state, Accepted | Queued | Joined) || self.is_open_invite(now)
    }

    /// When the invite ended without a courier: the time of its `declined`, `expired` or
    /// `no_courier` transition, or `expires_at` for an invite nobody expired explicitly. `None`
    /// while the invite is open and for a splice a courier joined.
    pub fn closed_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let name = match self.state {
            SpliceState::Invited if now >= self.expires_at => return Some(self.expires_at),
            SpliceState::Declined => TransitionName::Declined,
            SpliceState::Expired => TransitionName::Expired,
            SpliceState::NoCourier => TransitionName::NoCourier,
            _ => return None,
        };
        let transition = self.transitions.iter().rev().find(|t| t.state == name);
        transition.map(|t| t.at)
    }

    /// Whether the record holds a `name` transition concerning `courier` (any, when `None`).
    pub fn has_transition(&self, name: TransitionName, courier: Option<&UserId>) -> bool {
        let concerns = |t: &Transition| courier.is_none() || t.courier.as_ref() == courier;
        self.transitions
            .iter()
            .any(|t| t.state == name && concerns(t))
    }

    pub(super) fn push(&mut self, transition: Transition) {
        self.transitions.push(transition);
    }
}

impl Transition {
    /// A transition with no courier and no detail.
    pub fn new(state: TransitionName, at: DateTime<Utc>, actor: Actor) -> Transition {
        Transition {
            state,
            at,
            actor,
            courier: None,
            detail: None,
        }
    }

    pub fn with_courier(mut self, courier: Option<UserId>) -> Transition {
        self.courier = courier;
        self
    }

    pub fn with_detail(mut self, detail: &str) -> Transition {
        self.detail = Some(detail.to_string());
        self
    }
}
