//! Which order a session is explicitly about.
//!
//! Owns the choice among a session's order mentions: order cards the buyer sent, and the entry
//! order (the order page the session was opened or re-entered from). It does not fetch or judge
//! the order's facts (see `checks`).
//!
//! Decisions:
//! - A card counts while `now - sent_at <= window`: 23:59:59 and exactly 24:00:00 ago count with
//!   the default window, 24:00:01 does not. The entry order has no window.
//! - A mention later than `now` (clock skew, bad data) never counts, card or entry.
//! - Among the mentions that count, the most recent wins, whatever the order's facts: the buyer's
//!   latest reference is what the message is about. An expired card is not a mention that counts,
//!   so it does not hide an older entry order.
//! - On equal times the mention listed last wins.

use chrono::{DateTime, TimeDelta, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::protocol::ids::OrderId;

/// How an order came to be mentioned in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MentionSource {
    /// The buyer sent an order card in the chat.
    OrderCard,
    /// The session was opened (or re-entered) from the order's page.
    EntryPage,
}

/// One mention of an order in a session, at the time it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderMention {
    pub order_id: OrderId,
    pub at: DateTime<Utc>,
    pub source: MentionSource,
}

impl OrderMention {
    /// True when this mention may be chosen at `now`.
    pub fn counts(&self, window: TimeDelta, now: DateTime<Utc>) -> bool {
        let age = now - self.at;
        let is_past = age >= TimeDelta::zero();
        match self.source {
            MentionSource::OrderCard => is_past && age <= window,
            MentionSource::EntryPage => is_past,
        }
    }
}

/// The mention the session is about at `now`, if any. Call it first so that the caller can fetch
/// that order's facts before calling `decide`.
pub fn chosen_order(
    mentions: &[OrderMention],
    window: TimeDelta,
    now: DateTime<Utc>,
) -> Option<&OrderMention> {
    let counting = mentions
        .iter()
        .filter(|mention| mention.counts(window, now));
    counting.max_by_key(|mention| mention.at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::eligibility::fixtures::{at, order_id};

    fn mention(id: &str, time: &str, source: MentionSource) -> OrderMention {
        OrderMention {
            order_id: order_id(id),
            at: at(time),
            source,
        }
    }

    fn card(id: &str, time: &str) -> OrderMention {
        mention(id, time, MentionSource::OrderCard)
    }

    fn entry(id: &str, time: &str) -> OrderMention {
        mention(id, time, MentionSource::EntryPage)
    }

    #[test]
    fn chooses_the_most_recent_counting_mention() {
        let now = "2026-11-22T12:00:00Z";
        let cases: &[(&str, Vec<OrderMention>, Option<&str>)] = &[
            ("no mentions", vec![], None),
            (
                "card 23:59:59 ago",
                vec![card("a", "2026-11-21T12:00:01Z")],
                Some("a"),
            ),
            (
                "card exactly 24:00:00 ago",
                vec![card("a", "2026-11-21T12:00:00Z")],
                Some("a"),
            ),
            (
                "card 24:00:01 ago",
                vec![card("a", "2026-11-21T11:59:59Z")],
                None,
            ),
            ("card sent now", vec![card("a", now)], Some("a")),
            (
                "card in the future",
                vec![card("a", "2026-11-22T12:00:01Z")],
                None,
            ),
            (
                "entry a week ago",
                vec![entry("e", "2026-11-15T12:00:00Z")],
                Some("e"),
            ),
            (
                "entry in the future",
                vec![entry("e", "2026-11-22T12:00:01Z")],
                None,
            ),
            (
                "two cards, newer wins",
                vec![
                    card("old", "2026-11-22T08:00:00Z"),
                    card("new", "2026-11-22T09:00:00Z"),
                ],
                Some("new"),
            ),
            (
                "two cards listed newest first, newer wins",
                vec![
                    card("new", "2026-11-22T09:00:00Z"),
                    card("old", "2026-11-22T08:00:00Z"),
                ],
                Some("new"),
            ),
            (
                "entry newer than card",
                vec![
                    card("c", "2026-11-22T08:00:00Z"),
                    entry("e", "2026-11-22T09:00:00Z"),
                ],
                Some("e"),
            ),
            (
                "card newer than entry",
                vec![
                    entry("e", "2026-11-22T08:00:00Z"),
                    card("c", "2026-11-22T09:00:00Z"),
                ],
                Some("c"),
            ),
            (
                "expired card does not hide an older entry",
                vec![
                    entry("e", "2026-11-19T08:00:00Z"),
                    card("c", "2026-11-20T08:00:00Z"),
                ],
                Some("e"),
            ),
            (
                "future card does not hide a current one",
                vec![
                    card("c", "2026-11-22T08:00:00Z"),
                    card("f", "2026-11-23T08:00:00Z"),
                ],
                Some("c"),
            ),
            (
                "equal times, last listed wins",
                vec![
                    card("c", "2026-11-22T08:00:00Z"),
                    entry("e", "2026-11-22T08:00:00Z"),
                ],
                Some("e"),
            ),
        ];
        for (name, mentions, expected) in cases {
            let chosen = chosen_order(mentions, TimeDelta::hours(24), at(now));
            let chosen_id = chosen.map(|mention| mention.order_id.as_str());
            assert_eq!(chosen_id, *expected, "{name}");
        }
    }
}
