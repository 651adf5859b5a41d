//! Chat messages and everything they change, written in one atomic step.
//!
//! A session actor computes every effect of a message before storing it, on copies of its
//! state: the session's new controls, whom its buyer now waits on, the response records the
//! message settles, the recent contact, the marketing tally, the eligibility decision. The
//! store then writes the message and those effects in one step (`Store::commit_message`: one
//! `EVALSHA` on Redis, one lock-held step in memory), or nothing at all when:
//!
//! - a `client_msg_id` was seen before: the original comes back, nothing else is written;
//! - the session's version is not the one the effects were computed from (another node's actor
//!   of the same session wrote in between): the store answers with the session as it is now,
//!   and the actor recomputes from it.
//!
//! The version is a counter per session, bumped by every write of its record or controls
//! (`put_session`, `put_controls`, a commit that writes them). It replaces reading the session
//! before every send: an actor keeps the version it last saw and finds out it is stale only
//! when a commit is refused.
//!
//! A commit may carry several messages of one session, one after the other: the messages an
//! actor found queued, planned each on the state the one before left, with their effects folded
//! into one ([`Effects::then`]). Under load that is one store step for many messages instead of
//! one each (`hub::send`).
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

/// Messages to store, in order, and what storing them changes.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageCommit {
    pub session: SessionId,
    /// The session's version the effects were computed from.
    pub version: u64,
    /// The session's shop and buyer, whose records (contacts, tallies) the effects touch.
    pub shop: ShopId,
    pub buyer: UserId,
    /// One or more, each `client_msg_id` at most once; they get consecutive `seq`s.
    pub messages: Vec<NewMessage>,
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

impl Effects {
    /// Folds in the effects of the message after this one, for one commit of both; or hands
    /// `next` back, with these unchanged, when that commit would not store what committing the
    /// two one after the other would.
    ///
    /// Later writes replace earlier ones (the record, the controls, the decision, the marketing
    /// tally, the contact), since the later message was planned on the state the earlier one
    /// left; whom the buyer waits on follows the last change; settled responses add up. Agents'
    /// waiting counts then change once, to where the two messages leave them, where they would
    /// have moved twice.
    ///
    /// Refused: recent contacts of two different agents (a commit carries one), and two
    /// marketing tallies (the second message's was read before the first was stored).
    pub fn then(&mut self, next: Effects) -> Result<(), Box<Effects>> {
        if !self.folds(&next) {
            return Err(Box::new(next));
        }
        let Effects {
            record,
            controls,
            waiting,
            responses,
            contact,
            marketing,
            decision,
        } = next;
        replace_if_some(&mut self.record, record);
        replace_if_some(&mut self.controls, controls);
        if waiting != WaitingChange::Unchanged {
            self.waiting = waiting;
        }
        self.responses.extend(responses);
        replace_if_some(&mut self.contact, contact);
        replace_if_some(&mut self.marketing, marketing);
        replace_if_some(&mut self.decision, decision);
        Ok(())
    }
}

impl Effects {
    /// Whether [`Effects::then`] takes `next`.
    fn folds(&self, next: &Effects) -> bool {
        let contacts_differ = match (&self.contact, &next.contact) {
            (Some((earlier, _)), Some((later, _))) => earlier != later,
            _ => false,
        };
        let two_tallies = self.marketing.is_some() && next.marketing.is_some();
        !contacts_differ && !two_tallies
    }
}

fn replace_if_some<T>(earlier: &mut Option<T>, later: Option<T>) {
    if later.is_some() {
        *earlier = later;
    }
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
    /// Stored under new `seq`s with every effect.
    New {
        /// One per message, in order. Shared with the memory store's log, which keeps the same
        /// message: a chat message is copied once, not once for the log and once for the
        /// caller.
        stored: Vec<Arc<StoredMessage>>,
        /// The session's version now.
        version: u64,
        /// The agents whose waiting count changed, with their new counts.
        waiting: Vec<WaitingCount>,
    },
    /// A message's `client_msg_id` was seen before: nothing written, here is the original (of
    /// the first such message).
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("time")
    }

    fn user(name: &str) -> UserId {
        name.parse().expect("user id")
    }

    fn controls(shop: &str) -> SessionControls {
        SessionControls::new(shop.parse().expect("shop"), SessionId::new())
    }

    fn unanswered(seconds: i64) -> ResponseRecord {
        ResponseRecord {
            shop: "s1".parse().expect("shop"),
            session: SessionId::new(),
            buyer_message_at: at(seconds),
            answer: None,
        }
    }

    #[test]
    fn later_writes_win_and_responses_add_up() {
        let (earlier, later) = (controls("s1"), controls("s2"));
        let (one, two) = (unanswered(1), unanswered(2));
        let mut effects = Effects {
            controls: Some(earlier),
            waiting: WaitingChange::On(user("a1")),
            contact: Some((user("a1"), at(1))),
            responses: vec![one.clone()],
            ..Effects::default()
        };
        let next = Effects {
            controls: Some(later.clone()),
            responses: vec![two.clone()],
            contact: Some((user("a1"), at(2))),
            marketing: Some(MarketingTally::default()),
            ..Effects::default()
        };
        effects.then(next).expect("merges");
        assert_eq!(effects.controls, Some(later.clone()));
        assert_eq!(
            effects.waiting,
            WaitingChange::On(user("a1")),
            "unchanged keeps the last"
        );
        assert_eq!(effects.contact, Some((user("a1"), at(2))));
        assert_eq!(effects.marketing, Some(MarketingTally::default()));
        assert_eq!(effects.responses, [one.clone(), two.clone()]);
        let last = Effects {
            waiting: WaitingChange::Nobody,
            ..Effects::default()
        };
        effects.then(last).expect("merges");
        assert_eq!(effects.waiting, WaitingChange::Nobody);
        assert_eq!(effects.controls, Some(later), "none keeps the earlier");
        assert_eq!(effects.responses, [one, two]);
        assert_eq!(effects.contact, Some((user("a1"), at(2))));
    }

    #[test]
    fn two_contacts_or_two_tallies_do_not_merge() {
        let contact = |agent: &str| Effects {
            contact: Some((user(agent), at(1))),
            ..Effects::default()
        };
        let mut effects = contact("a1");
        let refused = effects.then(contact("a2")).expect_err("two agents");
        assert_eq!(*refused, contact("a2"));
        assert_eq!(effects, contact("a1"), "left as it was");
        let tally = || Effects {
            marketing: Some(MarketingTally::default()),
            ..Effects::default()
        };
        let mut effects = tally();
        assert!(effects.then(tally()).is_err());
        assert_eq!(effects, tally());
    }
}
