//! Shop-side prompts and waiting counts.
//!
//! A buyer message delivered to shop agents carries `prompt: true` in an ordinary session: their
//! client alerts and counts it as waiting for a reply. The hub keeps, for each agent, the number
//! of buyers waiting on that agent; [`WaitingBoard`] decides when that number changes.
//!
//! - A buyer starts waiting on the session's agent with their first buyer message in an
//!   ordinary session, and counts once per session however many messages they send.
//! - They stop waiting when a shop agent replies in that session, or when the session closes or
//!   is transferred (after a transfer, the next buyer message makes them wait on the new agent).
//! - While a courier is a member, buyer messages carry `prompt: false` and make nobody wait. A
//!   buyer who was already waiting before the courier joined keeps waiting until a shop reply.
//!
//! This module does not deliver messages or push counts; it says which agents' counts changed
//! so the hub can push the new numbers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::exemption::Exemptions;
use crate::protocol::ids::{SessionId, UserId};

/// The `prompt` flag of a buyer message delivered to shop agents.
pub fn prompt_for(exemptions: &Exemptions) -> bool {
    !exemptions.skip_prompt
}

/// Which sessions' buyers are waiting on which agent, for one hub.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingBoard {
    /// The agent each waiting session's buyer waits on.
    waiting_on: BTreeMap<SessionId, UserId>,
    /// Buyers waiting per agent; an agent with none has no entry.
    counts: BTreeMap<UserId, usize>,
}

impl WaitingBoard {
    pub fn new() -> Self {
        Self::default()
    }

    /// A buyer message arrived in `session`, whose agent is `agent`. Returns the agents whose
    /// waiting count changed (none when the buyer already waits on `agent` or the session is
    /// exempt).
    pub fn on_buyer_message(
        &mut self,
        session: SessionId,
        agent: &UserId,
        exemptions: &Exemptions,
    ) -> Vec<UserId> {
        if exemptions.skip_waiting_count || self.waiting_on.get(&session) == Some(agent) {
            return Vec::new();
        }
        let mut changed = self.stop(session);
        self.waiting_on.insert(session, agent.clone());
        *self.counts.entry(agent.clone()).or_default() += 1;
        changed.push(agent.clone());
        changed
    }

    /// A shop agent replied in `session`. Returns the agent whose count dropped, if any.
    pub fn on_shop_reply(&mut self, session: SessionId) -> Vec<UserId> {
        self.stop(session)
    }

    /// `session` closed or was transferred. Returns the agent whose count dropped, if any.
    pub fn on_session_ended(&mut self, session: SessionId) -> Vec<UserId> {
        self.stop(session)
    }

    /// How many buyers wait on `agent`.
    pub fn waiting_count(&self, agent: &UserId) -> usize {
        self.counts.get(agent).copied().unwrap_or(0)
    }

    /// The agent `session`'s buyer waits on, if any.
    pub fn waiting_on(&self, session: SessionId) -> Option<&UserId> {
        self.waiting_on.get(&session)
    }

    fn stop(&mut self, session: SessionId) -> Vec<UserId> {
        let Some(agent) = self.waiting_on.remove(&session) else {
            return Vec::new();
        };
        if let Some(count) = self.counts.get_mut(&agent) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.counts.remove(&agent);
            }
        }
        vec![agent]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::controls::exemption::exemptions;

    #[test]
    fn prompt_follows_membership() {
        assert!(prompt_for(&exemptions(false)));
        assert!(!prompt_for(&exemptions(true)));
    }

    /// One event in a session, with whether a courier is a member at that moment.
    enum Event {
        Buyer(&'static str, bool),
        ShopReply,
        Ended,
    }

    fn agent(name: &str) -> UserId {
        UserId::new(name).expect("valid id")
    }

    #[test]
    fn waiting_table() {
        use Event::{Buyer, Ended, ShopReply};
        // (name, events in one session, then the counts of a1 and a2)
        let cases: Vec<(&str, Vec<Event>, usize, usize)> = vec![
            ("a buyer message waits", vec![Buyer("a1", false)], 1, 0),
            (
                "counted once per session",
                vec![Buyer("a1", false), Buyer("a1", false), Buyer("a1", false)],
                1,
                0,
            ),
            (
                "a shop reply stops",
                vec![Buyer("a1", false), ShopReply],
                0,
                0,
            ),
            ("closing stops", vec![Buyer("a1", false), Ended], 0, 0),
            (
                "waits again after a reply",
                vec![Buyer("a1", false), ShopReply, Buyer("a1", false)],
                1,
                0,
            ),
            (
                "transfer then a message waits on the new agent",
                vec![Buyer("a1", false), Ended, Buyer("a2", false)],
                0,
                1,
            ),
            (
                "courier member: nobody waits",
                vec![Buyer("a1", true)],
                0,
                0,
            ),
            (
                "waiting from before the courier joined stays",
                vec![Buyer("a1", false), Buyer("a1", true)],
                1,
                0,
            ),
            (
                "courier left: messages count again",
                vec![Buyer("a1", true), ShopReply, Buyer("a1", false)],
                1,
                0,
            ),
            ("a reply with nobody waiting", vec![ShopReply], 0, 0),
        ];
        for (name, events, a1, a2) in cases {
            let mut board = WaitingBoard::new();
            let session = SessionId::new();
            for event in events {
                match event {
                    Buyer(to, member) => {
                        board.on_buyer_message(session, &agent(to), &exemptions(member));
                    }
                    ShopReply => _ = board.on_shop_reply(session),
                    Ended => _ = board.on_session_ended(session),
                }
            }
            let counts = (
                board.waiting_count(&agent("a1")),
                board.waiting_count(&agent("a2")),
            );
            assert_eq!(counts, (a1, a2), "{name}");
        }
    }

    #[test]
    fn counts_add_up_across_sessions_and_report_changes() {
        let mut board = WaitingBoard::new();
        let (s1, s2) = (SessionId::new(), SessionId::new());
        let a1 = agent("a1");
        assert_eq!(
            board.on_buyer_message(s1, &a1, &Exemptions::NONE),
            vec![a1.clone()]
        );
        assert_eq!(
            board.on_buyer_message(s2, &a1, &Exemptions::NONE),
            vec![a1.clone()]
        );
        assert_eq!(board.on_buyer_message(s2, &a1, &Exemptions::NONE), vec![]);
        assert_eq!(board.waiting_count(&a1), 2);
        let a2 = agent("a2");
        let moved = board.on_buyer_message(s2, &a2, &Exemptions::NONE);
        assert_eq!(moved, vec![a1.clone(), a2.clone()]);
        assert_eq!(board.on_shop_reply(s1), vec![a1.clone()]);
        assert_eq!((board.waiting_count(&a1), board.waiting_count(&a2)), (0, 1));
        assert_eq!(board.waiting_on(s2), Some(&a2));
    }

    #[test]
    fn board_round_trips_through_json() {
        let mut board = WaitingBoard::new();
        board.on_buyer_message(SessionId::new(), &agent("a1"), &Exemptions::NONE);
        let json = serde_json::to_string(&board).expect("serialise");
        let back: WaitingBoard = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, board);
    }
}
