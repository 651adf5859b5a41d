//! May a new invite go out for this session and order now?
//!
//! Owns the invite policy: at most one open invite per session, no invite while a splice holds
//! the session, and a cool-down per order after an invite ended without a courier, so a repeated
//! complaint does not spam the buyer. It does not decide eligibility (see `eligibility`).
//!
//! Decisions:
//! - Open invites and active splices block the whole session, whatever their order.
//! - The cool-down is per order. It runs from the `declined`, `expired` or `no_courier`
//!   transition (or `expires_at` for an invite nobody expired explicitly) and ends at exactly
//!   that time plus `cooldown`: at the end an invite is allowed again. `no_courier` counts too:
//!   re-inviting a buyer just told no courier is free would be the spam the cool-down prevents.
//! - Several ended splices: the latest end wins.

use chrono::{DateTime, TimeDelta, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::state::{Splice, SpliceState};
use crate::protocol::ids::OrderId;

/// How long an invite lasts and how long to wait after one ended without a courier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvitePolicy {
    pub ttl: TimeDelta,
    pub cooldown: TimeDelta,
}

impl Default for InvitePolicy {
    /// 10 minutes to answer, 30 minutes of cool-down.
    fn default() -> Self {
        InvitePolicy {
            ttl: TimeDelta::minutes(10),
            cooldown: TimeDelta::minutes(30),
        }
    }
}

/// Why no invite may go out now.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, thiserror::Error,
)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Blocked {
    #[error("the session has an open invite")]
    OpenInvite,
    #[error("a courier splice is under way in the session")]
    Active,
    #[error("an invite for this order ended recently; cooling down until {until}")]
    CoolingDown { until: DateTime<Utc> },
}

/// Whether an invite for `order_id` may go out in the session whose splices are given.
pub fn may_invite(
    splices_of_session: &[Splice],
    order_id: &OrderId,
    now: DateTime<Utc>,
    policy: &InvitePolicy,
) -> Result<(), Blocked> {
    if splices_of_session.iter().any(|s| s.is_open_invite(now)) {
        return Err(Blocked::OpenInvite);
    }
    if splices_of_session.iter().any(holds_session) {
        return Err(Blocked::Active);
    }
    match cooldown_end(splices_of_session, order_id, now, policy.cooldown) {
        Some(until) if until > now => Err(Blocked::CoolingDown { until }),
        _ => Ok(()),
    }
}

fn holds_session(splice: &Splice) -> bool {
    use SpliceState::*;
    matches!(splice.state, Accepted | Queued | Joined)
}

/// The latest end of a cool-down for `order_id`, if any splice of it ended without a courier.
fn cooldown_end(
    splices: &[Splice],
    order_id: &OrderId,
    now: DateTime<Utc>,
    cooldown: TimeDelta,
) -> Option<DateTime<Utc>> {
    splices
        .iter()
        .filter(|splice| &splice.order_id == order_id)
        .filter_map(|splice| splice.closed_at(now))
        .map(|closed| closed + cooldown)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::splice::state::{Actor, Event};
    use crate::domain::splice::transition_tests::{at, buyer, invite, user};

    const T0: &str = "2026-11-22T04:00:00Z";

    fn minutes(count: i64) -> DateTime<Utc> {
        at(T0) + TimeDelta::minutes(count)
    }

    /// A splice for `order` invited at T0, then taken through `events` at minute `minute`.
    fn splice(order: &str, events: &[Event], minute: i64) -> Splice {
        let mut splice = invite(order, at(T0));
        for event in events {
            let actor = match event {
                Event::Accept | Event::Decline => buyer(),
                _ => Actor::Platform,
            };
            let applied = splice.apply(event.clone(), actor, minutes(minute));
            assert!(applied.is_ok(), "{event:?}: {applied:?}");
        }
        splice
    }

    fn until(minute: i64) -> Result<(), Blocked> {
        Err(Blocked::CoolingDown {
            until: minutes(minute),
        })
    }

    /// (name, the session's splices, order asked for, now in minutes after T0, expected)
    type Row = (
        &'static str,
        Vec<Splice>,
        &'static str,
        i64,
        Result<(), Blocked>,
    );

    #[test]
    fn may_invite_rows() {
        use Event::{Accept, Decline, Expire, Leave, NoCourier, Queue};
        let join = Event::Join {
            courier: user("c1"),
        };
        let open = Err(Blocked::OpenInvite);
        let active = Err(Blocked::Active);
        #[rustfmt::skip]
        let rows: Vec<Row> = vec![
            ("no splice yet", vec![], "o1", 0, Ok(())),
            ("open invite", vec![splice("o1", &[], 0)], "o1", 9, open),
            ("open invite of another order", vec![splice("o2", &[], 0)], "o1", 0, open),
            ("accepted", vec![splice("o1", &[Accept], 0)], "o1", 0, active),
            ("queued", vec![splice("o1", &[Accept, Queue], 0)], "o1", 0, active),
            ("joined, another order", vec![splice("o2", &[Accept, join.clone()], 0)], "o1", 0, active),
            ("left: no cool-down", vec![splice("o1", &[Accept, join, Leave], 0)], "o1", 1, Ok(())),
            ("declined: cooling down", vec![splice("o1", &[Decline], 2)], "o1", 31, until(32)),
            ("declined: cool-down just ended", vec![splice("o1", &[Decline], 2)], "o1", 32, Ok(())),
            ("declined: another order is free", vec![splice("o2", &[Decline], 0)], "o1", 1, Ok(())),
            ("expire event early", vec![splice("o1", &[Expire], 5)], "o1", 34, until(35)),
            ("expired without an event", vec![splice("o1", &[], 0)], "o1", 10, until(40)),
            ("expired without an event: ended", vec![splice("o1", &[], 0)], "o1", 40, Ok(())),
            ("no courier", vec![splice("o1", &[Accept, NoCourier], 3)], "o1", 10, until(33)),
            ("latest end wins", vec![splice("o1", &[Decline], 0), splice("o1", &[Decline], 5)], "o1", 32, until(35)),
        ];
        let policy = InvitePolicy::default();
        for (name, splices, order, now, expected) in rows {
            let order = OrderId::new(order).expect("valid id");
            let decision = may_invite(&splices, &order, minutes(now), &policy);
            assert_eq!(decision, expected, "{name}");
        }
    }
}
