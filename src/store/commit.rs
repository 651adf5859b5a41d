//! One chat message and everything it changes, written in one atomic step.
//!
//! A session actor computes every effect of a message before storing it, on copies of its
//! state: the session's new controls, whom its buyer now waits on, the response records the
//! message settles, the recent contact, the marketing tally, the eligibility decision. The
//! store then writes the message and those effects in one step (`Store::commit_message`: one
//! `EVALSHA` on Redis, one lock-held step in memory), or nothing at all when:
//!
//! - the `client_msg_id` was seen before: the original comes back, nothing else is written;
//! - the session's version is not the one the effects were computed from (another node's actor
//!   of the same session wrote in between): the store answers with the session as it is now,
//!   and the actor recomputes from it.
//!
//! The version is a counter per session, bumped by every write of its record or controls
//! (`put_session`, `put_controls`, a commit that writes them). It replaces reading the session
//! before every send: an actor keeps the version it last saw and finds out it is stale only
//! when a commit is refused.
//!
//! This module owns the types; the rules that fill them are `domain::controls` and
//! `domain::eligibility`, applied by the hub.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{NewMessage, SessionControls, SessionRecord, StoredMessage};
use crate::domain::controls::assessment::ResponseRecord;
use crate::domain::controls::marketing::MarketingTally;
use crate::domain::eligibility::Decision;
use crate::protocol::ids::{SessionId, ShopId, UserId};

/// A message to store and what storing it changes.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageCommit {
    pub session: SessionId,
    /// The session's version the effects were computed from.
    pub version: u64,
    /// The session's shop and buyer, whose records (contacts, tallies) the effects touch.
    pub shop: ShopId,
    pub buyer: UserId,
    pub message: NewMessage,
    /// The hub node storing it, so that the wake-up other nodes get names it and it ignores its
    /// own.
    pub origin: uuid::Uuid,
    pub effects: Effects,
}

/// The writes a message brings besides the message itself. `Effects::default()` writes
/// nothing more.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    /// The session record, when the message changed it. Only its order mentions may differ
    /// from the stored one: members and status (which the indexes follow) never change with a
    /// message, so the indexes are left alone.
    pub record: Option<SessionRecord>,
    /// The session's controls after the message.
    pub controls: Option<SessionControls>,
    pub waiting: WaitingChange,
    /// Buyer messages the message answered (each settled exactly once).
    pub responses: Vec<ResponseRecord>,
    /// A shop agent to remember as the buyer's recent contact, and when.
    pub contact: Option<(UserId, DateTime<Utc>)>,
    /// The shop's marketing tally for the buyer after a marketing message.
    pub marketing: Option<MarketingTally>,
    /// The eligibility decision taken on the message.
    pub decision: Option<std::sync::Arc<Decision>>,
}

/// Whom the session's buyer waits on after the message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum WaitingChange {
    /// As before.
    #[default]
    Unchanged,
    /// The buyer waits on this agent (counted once per session).
    On(UserId),
    /// The buyer waits on nobody (a shop reply).
    Nobody,
}

/// An agent whose count of waiting buyers the commit changed, and the new count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingCount {
    pub agent: UserId,
    pub buyers_waiting: u32,
}

/// What `commit_message` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Committed {
    /// Stored under a new `seq` with every effect.
    New {
        /// Shared with the memory store's log, which keeps the same message: a chat message
        /// is copied once, not once for the log and once for the caller.
        stored: Arc<StoredMessage>,
        /// The session's version now.
        version: u64,
        /// The agents whose waiting count changed, with their new counts.
        waiting: Vec<WaitingCount>,
    },
    /// The `client_msg_id` was seen before: nothing written, here is the original.
    Duplicate(Arc<StoredMessage>),
    /// The session's version was not the expected one (or the session is gone): nothing
    /// written. Here is the session as stored now (read in the same step, which saves the
    /// caller a round trip: a retry costs one command, as much as the other node's next
    /// commit, so neither node starves the other); recompute from it.
    Conflict(SessionState),
}

/// A session, its controls and its version, read together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionState {
    pub record: Option<SessionRecord>,
    pub controls: Option<SessionControls>,
    /// 0 for a session never written with a version.
    pub version: u64,
}
