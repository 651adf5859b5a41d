//! The consecutive-message limit: the shop side may send at most `limit` messages in a row
//! without a buyer reply (5 by default, `ControlRules::consecutive_limit`).
//!
//! This module owns the per-session counter and the decision. The hub checks before storing a
//! shop message; a refused message is stored nowhere and the sending agent is told why
//! (`Refusal::ConsecutiveLimit`). Every shop agent of the session shares one count.
//!
//! Decisions:
//! - A message sent while the session is exempt (a courier is a member) is neither refused nor
//!   counted, and it does not reset the count either: after the courier leaves, the count
//!   continues from where it stood before the courier joined.
//! - A buyer message resets the count whether or not the session is exempt: the buyer did write.
//! - The courier's own messages are neither shop nor buyer messages; they do not touch the count.

use serde::{Deserialize, Serialize};

use super::Refusal;
use super::exemption::Exemptions;

/// How many shop messages were sent in a row since the buyer last wrote, in one session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsecutiveCounter {
    shop_messages_in_a_row: u32,
}

impl ConsecutiveCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the shop side may send one more message now.
    pub fn check_shop_message(&self, limit: u32, exemptions: &Exemptions) -> Result<(), Refusal> {
        if exemptions.skip_consecutive_limit || self.shop_messages_in_a_row < limit {
            return Ok(());
        }
        Err(Refusal::ConsecutiveLimit { limit })
    }

    /// Counts a shop message that was accepted and stored.
    pub fn on_shop_message(&mut self, exemptions: &Exemptions) {
        if !exemptions.skip_consecutive_limit {
            self.shop_messages_in_a_row = self.shop_messages_in_a_row.saturating_add(1);
        }
    }

    /// The buyer wrote: the shop side may send `limit` messages again.
    pub fn on_buyer_message(&mut self) {
        self.shop_messages_in_a_row = 0;
    }

    /// Shop messages counted since the buyer last wrote.
    pub fn count(&self) -> u32 {
        self.shop_messages_in_a_row
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::controls::exemption::exemptions;

    /// One step of a conversation: who writes and whether a courier is a member at that moment.
    #[derive(Clone, Copy)]
    enum Step {
        Shop { has_courier_member: bool },
        Buyer,
    }

    const SHOP: Step = Step::Shop {
        has_courier_member: false,
    };
    const SHOP_WITH_COURIER: Step = Step::Shop {
        has_courier_member: true,
    };

    /// Plays `steps` and returns whether each shop message was accepted.
    fn play(steps: &[Step], limit: u32) -> Vec<bool> {
        let mut counter = ConsecutiveCounter::new();
        let mut accepted = Vec::new();
        for step in steps {
            match *step {
                Step::Buyer => counter.on_buyer_message(),
                Step::Shop { has_courier_member } => {
                    let exemptions = exemptions(has_courier_member);
                    let decision = counter.check_shop_message(limit, &exemptions);
                    if decision.is_ok() {
                        counter.on_shop_message(&exemptions);
                    }
                    accepted.push(decision.is_ok());
                }
            }
        }
        accepted
    }

    #[test]
    fn limit_table() {
        use Step::Buyer;
        let (y, n) = (true, false);
        let cases: Vec<(&str, Vec<Step>, u32, Vec<bool>)> = vec![
            (
                "5th accepted, 6th refused",
                vec![SHOP; 6],
                5,
                vec![y, y, y, y, y, n],
            ),
            (
                "refused stays refused",
                vec![SHOP; 8],
                5,
                vec![y, y, y, y, y, n, n, n],
            ),
            (
                "a buyer reply in between resets",
                vec![SHOP, SHOP, SHOP, SHOP, SHOP, Buyer, SHOP, SHOP],
                5,
                vec![y, y, y, y, y, y, y],
            ),
            (
                "a reply after the refusal resets",
                vec![SHOP, SHOP, SHOP, Buyer, SHOP],
                2,
                vec![y, y, n, y],
            ),
            (
                "courier member: never refused",
                vec![SHOP_WITH_COURIER; 8],
                5,
                vec![y; 8],
            ),
            (
                "courier leaves: counting resumes where it stood",
                vec![
                    SHOP,
                    SHOP,
                    SHOP,
                    SHOP_WITH_COURIER,
                    SHOP_WITH_COURIER,
                    SHOP,
                    SHOP,
                    SHOP,
                ],
                5,
                vec![y, y, y, y, y, y, y, n],
            ),
            ("limit 0 refuses the first", vec![SHOP], 0, vec![n]),
        ];
        for (name, steps, limit, expected) in cases {
            assert_eq!(play(&steps, limit), expected, "{name}");
        }
    }

    #[test]
    fn refusal_names_the_limit() {
        let mut counter = ConsecutiveCounter::new();
        for _ in 0..5 {
            counter.on_shop_message(&Exemptions::NONE);
        }
        let refused = counter.check_shop_message(5, &Exemptions::NONE);
        assert_eq!(refused, Err(Refusal::ConsecutiveLimit { limit: 5 }));
        assert_eq!(counter.count(), 5);
    }
}
