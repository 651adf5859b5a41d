//! Shop-side controls on a buyer-shop session, and the one policy that exempts a three-party
//! session from them while a courier is a member.
//!
//! | module        | owns                                                                  |
//! |---------------|-----------------------------------------------------------------------|
//! | `exemption`   | THE policy: `exemptions(has_courier_member) -> Exemptions`            |
//! | `recent`      | recent contacts per (shop, buyer); a courier is never recorded        |
//! | `assessment`  | per-session response clocks (`ResponseLedger`) and their records      |
//! | `report`      | the service report per shop and per agent over a time range           |
//! | `prompt`      | the `prompt` flag on buyer messages and buyers waiting per agent      |
//! | `consecutive` | at most `consecutive_limit` shop messages in a row                    |
//! | `marketing`   | at most `daily_limit` marketing messages per buyer per local day      |
//!
//! Every control is a pure rule: it takes the session's `Exemptions` (and `now` where time
//! matters) and returns a decision; none reads a clock or knows about couriers. The hub keeps
//! the state values defined here, calls the rules, and delivers refusals to the sender.

pub mod assessment;
pub mod consecutive;
pub mod exemption;
pub mod marketing;
pub mod prompt;
pub mod recent;
pub mod report;

use chrono::TimeDelta;

pub use exemption::{Exemptions, Party, exemptions};
use marketing::MarketingRules;

/// The controls' settings, as validated from the config file.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlRules {
    /// Shop messages allowed in a row without a buyer reply (default 5).
    pub consecutive_limit: u32,
    /// How soon a shop reply must follow a buyer message to be in time (default 3 minutes;
    /// a reply at exactly the window is in time).
    pub response_window: TimeDelta,
    pub marketing: MarketingRules,
}

impl Default for ControlRules {
    fn default() -> Self {
        Self {
            consecutive_limit: 5,
            response_window: TimeDelta::minutes(3),
            marketing: MarketingRules::default(),
        }
    }
}

/// Why a shop-side message was refused. A refused message is stored nowhere; the sender is
/// told the code and the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "at most {limit} messages in a row may be sent without a reply from the buyer; \
         wait for the buyer to write"
    )]
    ConsecutiveLimit { limit: u32 },
    #[error("this buyer already got the daily limit of {limit} marketing message(s); try tomorrow")]
    MarketingLimited { limit: u32 },
}

impl Refusal {
    /// The wire code of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::ConsecutiveLimit { .. } => "consecutive_limit",
            Refusal::MarketingLimited { .. } => "marketing_limited",
        }
    }

    /// The human-readable reason shown to the agent.
    pub fn message(&self) -> String {
        self.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let rules = ControlRules::default();
        assert_eq!(rules.consecutive_limit, 5);
        assert_eq!(rules.response_window, TimeDelta::seconds(180));
        assert_eq!(rules.marketing.daily_limit, 1);
        assert_eq!(rules.marketing.time_zone, chrono_tz::Asia::Shanghai);
    }

    #[test]
    fn refusal_codes_and_messages() {
        let cases = [
            (
                Refusal::ConsecutiveLimit { limit: 5 },
                "consecutive_limit",
                "at most 5 messages",
            ),
            (
                Refusal::MarketingLimited { limit: 1 },
                "marketing_limited",
                "this buyer already got",
            ),
        ];
        for (refusal, code, message_start) in cases {
            assert_eq!(refusal.code(), code);
            assert!(refusal.message().starts_with(message_start), "{refusal:?}");
        }
    }
}
