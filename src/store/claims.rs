//! Places taken among a courier's open sessions before the join that fills them.
//!
//! Two nodes may pick the same courier for two buyers at once, so a node claims a place in the
//! store, in one atomic step, before it joins the courier. The join saves the session with the
//! courier as a member (the store's open-session index then counts it) and drops the claim.
//! A claim is not a membership: it lives until its deadline, so one whose join never saved
//! (the store became unreachable mid-join, or the node died) gives its place back by itself,
//! and giving a claim back can never take away a place the saved session holds.
//!
//! `claim` is the rule itself, with no I/O: the memory store calls it; the Redis store runs the
//! same in Lua (`redis::scripts::CLAIM_COURIER`). Both run one conformance suite.

use chrono::{DateTime, TimeDelta, Utc};

use crate::protocol::ids::SessionId;
use crate::{FastMap, FastSet};

/// How long a claim holds its place without the join that fills it. A join takes a few store
/// round trips; this only bounds how long a place stays taken after a join that failed.
pub const CLAIM_TTL: TimeDelta = TimeDelta::seconds(30);

/// One courier's claims: session → the deadline of its claim.
pub type Claims = FastMap<SessionId, DateTime<Utc>>;

/// Takes a place for `session` among a courier's, who is a member of the open sessions `open`
/// and holds `claims`, when they hold fewer than `max` places together (or this one already).
/// Drops the claims that expired by `now`; a claim taken or held again lasts until `until`.
/// Returns whether the place is the session's.
pub fn claim(
    claims: &mut Claims,
    open: &FastSet<SessionId>,
    session: SessionId,
    max: u32,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> bool {
    if open.contains(&session) {
        return true;
    }
    claims.retain(|_, deadline| *deadline > now);
    if let Some(deadline) = claims.get_mut(&session) {
        *deadline = until;
        return true;
    }
    // A claim whose session saved already is that membership, not a second place.
    let claimed = claims.keys().filter(|held| !open.contains(held)).count();
    if open.len() + claimed >= max as usize {
        return false;
    }
    claims.insert(session, until);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("time")
    }

    #[test]
    fn claims_and_memberships_share_the_places() {
        let (a, b, c) = (SessionId::new(), SessionId::new(), SessionId::new());
        let mut claims = Claims::default();
        let mut open = FastSet::from_iter([a]);
        assert!(claim(&mut claims, &open, a, 2, at(0), at(30)), "a member");
        assert!(claims.is_empty(), "a member needs no claim");
        assert!(claim(&mut claims, &open, b, 2, at(0), at(30)));
        assert!(!claim(&mut claims, &open, c, 2, at(1), at(31)), "full");
        // b's join saved: the claim is the membership, not a third place.
        open.insert(b);
        assert!(
            !claim(&mut claims, &open, c, 2, at(2), at(32)),
            "two members"
        );
        assert!(
            claim(&mut claims, &open, c, 3, at(2), at(32)),
            "not a third place"
        );
    }

    #[test]
    fn a_claim_expires_unless_taken_again() {
        let (a, b) = (SessionId::new(), SessionId::new());
        let open = FastSet::default();
        let mut claims = Claims::default();
        assert!(claim(&mut claims, &open, a, 1, at(0), at(30)));
        assert!(!claim(&mut claims, &open, b, 1, at(29), at(59)));
        // Taken again: the deadline moves.
        assert!(claim(&mut claims, &open, a, 1, at(29), at(59)));
        assert!(!claim(&mut claims, &open, b, 1, at(31), at(61)));
        assert!(
            claim(&mut claims, &open, b, 1, at(59), at(89)),
            "a's expired"
        );
        assert_eq!(claims.keys().collect::<Vec<_>>(), vec![&b]);
    }
}
