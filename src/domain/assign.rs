//! Which shop agent takes a buyer, for now: the least loaded online agent.
//!
//! One pure function, so the full routing rules can replace it without touching the hub.

use crate::protocol::client::PresenceStatus;
use crate::protocol::ids::UserId;

/// An agent as routing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub agent: UserId,
    pub status: PresenceStatus,
    pub open_sessions: u32,
    /// Whether the agent has a live connection to some hub node.
    pub is_connected: bool,
}

/// The online, connected agent with the fewest open sessions; ties go to the lowest id, so the
/// choice is stable.
pub fn least_loaded<'a>(
    candidates: &'a [Candidate],
    exclude: Option<&UserId>,
) -> Option<&'a UserId> {
    candidates
        .iter()
        .filter(|c| c.status == PresenceStatus::Online && c.is_connected)
        .filter(|c| Some(&c.agent) != exclude)
        .min_by(|a, b| (a.open_sessions, &a.agent).cmp(&(b.open_sessions, &b.agent)))
        .map(|c| &c.agent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(agent: &str, status: PresenceStatus, load: u32, connected: bool) -> Candidate {
        Candidate {
            agent: UserId::new(agent).expect("valid id"),
            status,
            open_sessions: load,
            is_connected: connected,
        }
    }

    #[test]
    fn picks_the_least_loaded_online_agent() {
        use PresenceStatus::*;
        let rows: &[(&[Candidate], Option<&str>)] = &[
            (&[], None),
            (&[candidate("a1", Offline, 0, true)], None),
            (&[candidate("a1", Suspended, 0, true)], None),
            (&[candidate("a1", Online, 0, false)], None),
            (
                &[
                    candidate("a1", Online, 3, true),
                    candidate("a2", Online, 1, true),
                ],
                Some("a2"),
            ),
            (
                &[
                    candidate("a2", Online, 1, true),
                    candidate("a1", Online, 1, true),
                ],
                Some("a1"),
            ),
            (
                &[
                    candidate("a1", Online, 9, true),
                    candidate("a2", Suspended, 0, true),
                ],
                Some("a1"),
            ),
        ];
        for (candidates, expected) in rows {
            let picked = least_loaded(candidates, None).map(UserId::as_str);
            assert_eq!(picked, *expected, "{candidates:?}");
        }
    }

    #[test]
    fn excludes_the_agent_that_left() {
        let candidates = [
            candidate("a1", PresenceStatus::Online, 0, true),
            candidate("a2", PresenceStatus::Online, 5, true),
        ];
        let a1 = UserId::new("a1").expect("valid id");
        assert_eq!(
            least_loaded(&candidates, Some(&a1)).map(UserId::as_str),
            Some("a2")
        );
    }
}
