//! Which courier agent takes an accepted splice, and which waiting buyer a freed courier takes.
//!
//! Owns the two choices as pure functions. The caller passes only the couriers of the parcel's
//! carrier and only that carrier's splices; this module does not know who works for whom, and
//! it does not track loads: the hub counts `active_sessions`.
//!
//! Decisions:
//! - A courier qualifies when available, connected, and below `max_sessions`.
//! - Among those: the least loaded; ties go to the one idle longest (earliest `idle_since`),
//!   then to the lowest id, so the choice is stable.
//! - The queue is first come, first served by `queued_at`; a buyer re-queued after losing their
//!   courier waits from that moment. Ties go to the earlier invite.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::state::{Splice, SpliceState};
use crate::domain::order::Carrier;
use crate::protocol::ids::UserId;

/// A courier agent's desk status, as the courier sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeskStatus {
    Available,
    Busy,
    Offline,
}

/// A courier agent as the picker sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CourierCandidate {
    pub courier: UserId,
    pub status: DeskStatus,
    /// Spliced sessions the courier is in now.
    pub active_sessions: u32,
    /// When the courier last had no session, or last finished one.
    pub idle_since: DateTime<Utc>,
    /// Whether the courier has a live connection to some hub node.
    pub is_connected: bool,
}

impl CourierCandidate {
    fn can_take(&self, max_sessions: u32) -> bool {
        self.status == DeskStatus::Available
            && self.is_connected
            && self.active_sessions < max_sessions
    }
}

/// The courier who takes the next splice, if any can.
pub fn pick_courier(candidates: &[CourierCandidate], max_sessions: u32) -> Option<&UserId> {
    candidates
        .iter()
        .filter(|candidate| candidate.can_take(max_sessions))
        .min_by_key(|c| (c.active_sessions, c.idle_since, &c.courier))
        .map(|candidate| &candidate.courier)
}

/// The queued splice of `carrier` that has waited longest, for the courier who just freed up.
pub fn next_waiting(splices: &[Splice], carrier: Carrier) -> Option<&Splice> {
    splices
        .iter()
        .filter(|splice| splice.state == SpliceState::Queued && splice.carrier == carrier)
        .min_by_key(|splice| (splice.queued_at, splice.invite_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::splice::state::{Actor, Event};
    use crate::domain::splice::transition_tests::{at, buyer, invite, user};
    use DeskStatus::*;

    fn candidate(
        id: &str,
        status: DeskStatus,
        load: u32,
        idle: &str,
        up: bool,
    ) -> CourierCandidate {
        CourierCandidate {
            courier: user(id),
            status,
            active_sessions: load,
            idle_since: at(idle),
            is_connected: up,
        }
    }

    const EARLY: &str = "2026-11-22T03:00:00Z";
    const LATE: &str = "2026-11-22T03:30:00Z";

    #[test]
    fn pick_courier_rows() {
        #[rustfmt::skip]
        let rows: Vec<(&str, Vec<CourierCandidate>, u32, Option<&str>)> = vec![
            ("nobody", vec![], 3, None),
            ("busy", vec![candidate("c1", Busy, 0, EARLY, true)], 3, None),
            ("offline", vec![candidate("c1", Offline, 0, EARLY, true)], 3, None),
            ("disconnected", vec![candidate("c1", Available, 0, EARLY, false)], 3, None),
            ("at the limit", vec![candidate("c1", Available, 3, EARLY, true)], 3, None),
            ("one below the limit", vec![candidate("c1", Available, 2, EARLY, true)], 3, Some("c1")),
            ("limit zero", vec![candidate("c1", Available, 0, EARLY, true)], 0, None),
            ("least loaded", vec![candidate("c1", Available, 2, EARLY, true), candidate("c2", Available, 1, LATE, true)], 3, Some("c2")),
            ("tie: idle longest", vec![candidate("c1", Available, 1, LATE, true), candidate("c2", Available, 1, EARLY, true)], 3, Some("c2")),
            ("tie: lowest id", vec![candidate("c2", Available, 1, EARLY, true), candidate("c1", Available, 1, EARLY, true)], 3, Some("c1")),
            ("idle longest but full", vec![candidate("c1", Available, 3, EARLY, true), candidate("c2", Available, 2, LATE, true)], 3, Some("c2")),
            ("less loaded but busy", vec![candidate("c1", Busy, 0, EARLY, true), candidate("c2", Available, 2, LATE, true)], 3, Some("c2")),
        ];
        for (name, candidates, max, expected) in rows {
            let picked = pick_courier(&candidates, max).map(UserId::as_str);
            assert_eq!(picked, expected, "{name}");
        }
    }

    /// An accepted splice of `carrier`, queued at `queued` (or left accepted when `None`).
    fn waiting(carrier: Carrier, queued: Option<&str>) -> Splice {
        let mut splice = invite("o1", at(EARLY));
        splice.carrier = carrier;
        let accepted = splice.apply(Event::Accept, buyer(), at(EARLY));
        assert!(accepted.is_ok());
        if let Some(time) = queued {
            let applied = splice.apply(Event::Queue, Actor::Platform, at(time));
            assert!(applied.is_ok());
        }
        splice
    }

    #[test]
    fn next_waiting_rows() {
        let first = "2026-11-22T03:01:00Z";
        let second = "2026-11-22T03:02:00Z";
        #[rustfmt::skip]
        let rows: Vec<(&str, Vec<Splice>, Option<usize>)> = vec![
            ("nobody waits", vec![], None),
            ("accepted, not queued", vec![waiting(Carrier::Zto, None)], None),
            ("another carrier", vec![waiting(Carrier::Sto, Some(first))], None),
            ("longest waiting", vec![waiting(Carrier::Zto, Some(second)), waiting(Carrier::Zto, Some(first))], Some(1)),
        ];
        for (name, splices, expected) in rows {
            let found = next_waiting(&splices, Carrier::Zto).map(|s| s.invite_id);
            let expected = expected.map(|index| splices[index].invite_id);
            assert_eq!(found, expected, "{name}");
        }
    }
}
