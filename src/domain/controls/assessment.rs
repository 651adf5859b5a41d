//! Service assessment, per session: each buyer message starts the shop's response clock, and a
//! shop agent's reply in that session stops it, in time when it comes within the response
//! window (3 minutes by default; a reply at exactly the window is in time).
//!
//! This module owns [`ResponseLedger`], the per-session state the hub stores, and the records it
//! emits. Turning records into a report is `report`'s job; storing them is the hub's.
//!
//! Decisions:
//! - Every buyer message gets exactly one [`ResponseRecord`]. A shop reply answers every buyer
//!   message still pending before it. Messages left unanswered leave the ledger through
//!   [`ResponseLedger::expire`] (past the window) or [`ResponseLedger::close`] (session ends)
//!   without an answer; the report decides at its `now` whether such a one is late or pending.
//! - An unanswered message has no agent, so it counts for the shop but for no agent.
//! - While a courier is a member, buyer messages start no clock. A session that had a courier as
//!   a member at any time is a logistics session: the ledger emits one [`LogisticsRecord`] when
//!   the courier first joins, and the report lists the session apart. Buyer messages sent
//!   before the courier joined (or after it left) are still assessed for the shop, and a shop
//!   reply while the courier is a member still answers them.
//! - Only shop agents' replies answer; the courier's messages do not.

use chrono::{DateTime, TimeDelta, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::exemption::Exemptions;
use crate::protocol::ids::{SessionId, ShopId, UserId};

/// The outcome of one assessed buyer message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ResponseRecord {
    pub shop: ShopId,
    pub session: SessionId,
    pub buyer_message_at: DateTime<Utc>,
    /// The shop reply that answered it; `None` while or when unanswered.
    pub answer: Option<Answer>,
}

/// A shop reply that answered a buyer message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Answer {
    pub agent: UserId,
    pub at: DateTime<Utc>,
    /// Whether it came within the response window in force when it was given.
    pub in_time: bool,
}

/// A session that had a courier as a member: left out of assessment, listed apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LogisticsRecord {
    pub shop: ShopId,
    pub session: SessionId,
    pub courier_joined_at: DateTime<Utc>,
}

/// Whether a reply at `answered_at` to a buyer message at `buyer_message_at` is in time.
pub fn is_in_time(
    buyer_message_at: DateTime<Utc>,
    answered_at: DateTime<Utc>,
    window: TimeDelta,
) -> bool {
    answered_at - buyer_message_at <= window
}

/// One session's running response clocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseLedger {
    shop: ShopId,
    session: SessionId,
    /// Buyer messages awaiting a shop reply, oldest first.
    pending: Vec<DateTime<Utc>>,
    /// A courier has been a member at some time.
    is_logistics: bool,
}

impl ResponseLedger {
    pub fn new(shop: ShopId, session: SessionId) -> Self {
        Self {
            shop,
            session,
            pending: Vec::new(),
            is_logistics: false,
        }
    }

    /// Membership changed at `at`; call with the exemptions that hold from then on. Returns the
    /// logistics record the first time the session becomes exempt from assessment.
    pub fn on_membership(
        &mut self,
        at: DateTime<Utc>,
        exemptions: &Exemptions,
    ) -> Option<LogisticsRecord> {
        if !exemptions.skip_assessment || self.is_logistics {
            return None;
        }
        self.is_logistics = true;
        Some(LogisticsRecord {
            shop: self.shop.clone(),
            session: self.session,
            courier_joined_at: at,
        })
    }

    /// A buyer message at `at` starts a response clock, unless the session is exempt.
    pub fn on_buyer_message(&mut self, at: DateTime<Utc>, exemptions: &Exemptions) {
        if exemptions.skip_assessment || exemptions.skip_response_clock {
            return;
        }
        let index = self.pending.partition_point(|pending| *pending <= at);
        self.pending.insert(index, at);
    }

    /// A shop agent replied at `at`: every buyer message pending before it is answered.
    pub fn on_shop_reply(
        &mut self,
        agent: &UserId,
        at: DateTime<Utc>,
        window: TimeDelta,
    ) -> Vec<ResponseRecord> {
        let answered = self.pending.partition_point(|pending| *pending <= at);
        let answered: Vec<_> = self.pending.drain(..answered).collect();
        answered
            .into_iter()
            .map(|buyer_message_at| {
                let in_time = is_in_time(buyer_message_at, at, window);
                let answer = Answer {
                    agent: agent.clone(),
                    at,
                    in_time,
                };
                self.record(buyer_message_at, Some(answer))
            })
            .collect()
    }

    /// Takes out the buyer messages unanswered past the window at `now`: they are late whatever
    /// happens next, and a later reply no longer answers them.
    pub fn expire(&mut self, now: DateTime<Utc>, window: TimeDelta) -> Vec<ResponseRecord> {
        let expired = self.pending.partition_point(|at| now - *at > window);
        let expired: Vec<_> = self.pending.drain(..expired).collect();
        expired
            .into_iter()
            .map(|at| self.record(at, None))
            .collect()
    }

    /// The session ended: every pending buyer message leaves unanswered.
    pub fn close(self) -> Vec<ResponseRecord> {
        self.pending_records()
    }

    /// The pending buyer messages as unanswered records, for a report made before they settle.
    pub fn pending_records(&self) -> Vec<ResponseRecord> {
        self.pending
            .iter()
            .map(|at| self.record(*at, None))
            .collect()
    }

    pub fn pending(&self) -> &[DateTime<Utc>] {
        &self.pending
    }

    pub fn is_logistics(&self) -> bool {
        self.is_logistics
    }

    fn record(&self, buyer_message_at: DateTime<Utc>, answer: Option<Answer>) -> ResponseRecord {
        ResponseRecord {
            shop: self.shop.clone(),
            session: self.session,
            buyer_message_at,
            answer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::controls::exemption::exemptions;

    const WINDOW: TimeDelta = TimeDelta::minutes(3);

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + TimeDelta::seconds(seconds)
    }

    fn agent(name: &str) -> UserId {
        UserId::new(name).expect("valid id")
    }

    fn ledger() -> ResponseLedger {
        ResponseLedger::new(ShopId::new("s1").expect("valid id"), SessionId::new())
    }

    #[test]
    fn reply_window_boundaries() {
        // (reply delay in seconds, in time)
        let cases = [
            (0, true),
            (179, true),
            (180, true),
            (181, false),
            (600, false),
        ];
        for (delay, expected) in cases {
            let mut ledger = ledger();
            ledger.on_buyer_message(at(0), &exemptions(false));
            let records = ledger.on_shop_reply(&agent("a1"), at(delay), WINDOW);
            let in_time: Vec<_> = records
                .iter()
                .map(|r| r.answer.as_ref().map(|a| a.in_time))
                .collect();
            assert_eq!(in_time, vec![Some(expected)], "reply after {delay}s");
            assert!(ledger.pending().is_empty());
        }
    }

    #[test]
    fn one_reply_answers_every_pending_message() {
        let mut ledger = ledger();
        for second in [0, 60, 120] {
            ledger.on_buyer_message(at(second), &exemptions(false));
        }
        let records = ledger.on_shop_reply(&agent("a1"), at(200), WINDOW);
        let in_time: Vec<_> = records
            .iter()
            .map(|r| r.answer.as_ref().map(|a| a.in_time))
            .collect();
        assert_eq!(in_time, vec![Some(false), Some(true), Some(true)]);
        assert!(
            records
                .iter()
                .all(|r| r.answer.as_ref().map(|a| &a.agent) == Some(&agent("a1")))
        );
        assert!(
            ledger
                .on_shop_reply(&agent("a1"), at(210), WINDOW)
                .is_empty()
        );
    }

    #[test]
    fn a_reply_does_not_answer_a_later_message() {
        let mut ledger = ledger();
        ledger.on_buyer_message(at(100), &exemptions(false));
        assert!(
            ledger
                .on_shop_reply(&agent("a1"), at(99), WINDOW)
                .is_empty()
        );
        assert_eq!(ledger.pending(), &[at(100)]);
    }

    #[test]
    fn courier_membership_table() {
        // (name, courier a member at each of three buyer messages at 0s, 10s, 20s, clocks started)
        let cases = [
            ("ordinary", [false, false, false], 3),
            ("courier throughout", [true, true, true], 0),
            ("courier joins after the first", [false, true, true], 1),
            ("courier leaves mid-session", [true, true, false], 1),
        ];
        for (name, membership, expected) in cases {
            let mut ledger = ledger();
            for (index, member) in membership.iter().enumerate() {
                ledger.on_buyer_message(at(10 * index as i64), &exemptions(*member));
            }
            assert_eq!(ledger.pending().len(), expected, "{name}");
        }
    }

    #[test]
    fn courier_joining_marks_the_session_once() {
        let mut ledger = ledger();
        assert_eq!(ledger.on_membership(at(5), &exemptions(false)), None);
        ledger.on_buyer_message(at(10), &exemptions(false));
        let mark = ledger
            .on_membership(at(20), &exemptions(true))
            .expect("first join");
        assert_eq!(mark.courier_joined_at, at(20));
        assert_eq!(ledger.on_membership(at(30), &exemptions(false)), None);
        assert_eq!(
            ledger.on_membership(at(40), &exemptions(true)),
            None,
            "rejoin"
        );
        assert!(ledger.is_logistics());
        // The message from before the courier joined is still answered, in time.
        let records = ledger.on_shop_reply(&agent("a1"), at(50), WINDOW);
        assert_eq!(records.len(), 1);
    }

    #[test]
    fn expire_and_close_leave_unanswered() {
        let mut ledger = ledger();
        for second in [0, 100, 200] {
            ledger.on_buyer_message(at(second), &exemptions(false));
        }
        // At 280s: 0s is past the window, 100s is exactly at it (still answerable in time).
        let expired = ledger.expire(at(280), WINDOW);
        assert_eq!(
            expired
                .iter()
                .map(|r| r.buyer_message_at)
                .collect::<Vec<_>>(),
            vec![at(0)]
        );
        assert!(expired.iter().all(|r| r.answer.is_none()));
        assert_eq!(ledger.pending_records().len(), 2);
        let closed = ledger.close();
        assert_eq!(closed.len(), 2);
        assert!(closed.iter().all(|r| r.answer.is_none()));
    }

    #[test]
    fn ledger_round_trips_through_json() {
        let mut ledger = ledger();
        ledger.on_buyer_message(at(0), &exemptions(false));
        ledger.on_membership(at(1), &exemptions(true));
        let json = serde_json::to_string(&ledger).expect("serialise");
        let back: ResponseLedger = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, ledger);
    }
}
