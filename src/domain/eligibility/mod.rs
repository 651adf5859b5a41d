//! Eligibility: may the carrier's courier agent be invited into this buyer's conversation now?
//!
//! Owns the decision as a pure function of (order facts, session facts, shop settings, rules,
//! now). Every check is evaluated, in a fixed order, even after one has failed, so a `Decision`
//! always explains itself completely. It does not classify text (see `intent`), fetch orders or
//! settings, or read a clock: callers pass all of that in.
//!
//! Checks, in order: `service_hours`, `explicit_order`, `order_status`, `single_parcel`,
//! `carrier_supported`, `shop_service`, `intent`. Checks that need the order fail with reason
//! `no explicit order` when the session names none, and with `order facts unknown ...` when the
//! facts given are missing or for another order.

pub mod case;
mod checks;
mod mention;
mod rollout;
mod text;

#[cfg(test)]
mod decide_tests;
#[cfg(test)]
mod fixtures;

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::intent::Intent;
use crate::domain::order::{Carrier, Order};
use crate::domain::shop::ShopLogistics;
use crate::protocol::ids::{OrderId, ShopId};

pub use mention::{MentionSource, OrderMention, chosen_order};
pub use rollout::{is_in_rollout, is_service_on, rollout_bucket, stable_hash};

/// The configurable part of eligibility.
#[derive(Debug, Clone, PartialEq)]
pub struct EligibilityRules {
    /// The time zone service hours are read in.
    pub time_zone: Tz,
    /// First local time of service (inclusive).
    pub service_start: NaiveTime,
    /// End of service (exclusive). When earlier than the start, service runs across midnight;
    /// when equal to it, there are no service hours.
    pub service_end: NaiveTime,
    /// How long an order card keeps naming the session's order.
    pub order_card_window: TimeDelta,
    /// Carriers the service works with.
    pub carriers: Vec<Carrier>,
    /// Shops enrolled by rollout are on when their bucket (0..=99) is below this; 100 is all.
    pub rollout_percent: u8,
}

impl Default for EligibilityRules {
    /// Asia/Shanghai, [09:00, 21:00), 24 hours, ZTO/STO/YUNDA/YTO, 100%.
    fn default() -> Self {
        EligibilityRules {
            time_zone: chrono_tz::Asia::Shanghai,
            service_start: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            service_end: NaiveTime::from_hms_opt(21, 0, 0).unwrap_or_default(),
            order_card_window: TimeDelta::hours(24),
            carriers: vec![Carrier::Zto, Carrier::Sto, Carrier::Yunda, Carrier::Yto],
            rollout_percent: 100,
        }
    }
}

/// Everything `decide` looks at besides the rules and the time.
#[derive(Debug, Clone, Copy)]
pub struct EligibilityInput<'a> {
    pub shop_id: &'a ShopId,
    /// Order cards and the entry order of the session, in any order.
    pub mentions: &'a [OrderMention],
    /// The facts of the chosen order (see `chosen_order`), if the caller has them.
    pub order: Option<&'a Order>,
    /// The shop's settings; `ShopLogistics::default()` when it has none.
    pub shop: &'a ShopLogistics,
    /// The message's intent, classified or picked by the buyer from the menu.
    pub intent: Option<Intent>,
}

/// The name of one check, in evaluation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    ServiceHours,
    ExplicitOrder,
    OrderStatus,
    SingleParcel,
    CarrierSupported,
    ShopService,
    Intent,
}

impl CheckName {
    /// Every check, in the order `decide` evaluates and reports them.
    pub const ALL: [CheckName; 7] = [
        CheckName::ServiceHours,
        CheckName::ExplicitOrder,
        CheckName::OrderStatus,
        CheckName::SingleParcel,
        CheckName::CarrierSupported,
        CheckName::ShopService,
        CheckName::Intent,
    ];
}

/// One check's outcome and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Check {
    pub name: CheckName,
    pub passed: bool,
    pub reason: String,
}

/// The outcome: eligible when every check passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Decision {
    pub eligible: bool,
    /// The chosen order, if the session names one.
    pub order_id: Option<OrderId>,
    /// The carrier of the chosen order's single parcel, if known.
    pub carrier: Option<Carrier>,
    pub intent: Option<Intent>,
    pub decided_at: DateTime<Utc>,
    /// Every check, in `CheckName::ALL` order.
    pub checks: Vec<Check>,
}

impl Decision {
    /// The check with that name.
    pub fn check(&self, name: CheckName) -> Option<&Check> {
        self.checks.iter().find(|check| check.name == name)
    }
}

/// Decides eligibility, evaluating every check.
pub fn decide(
    input: &EligibilityInput<'_>,
    rules: &EligibilityRules,
    now: DateTime<Utc>,
) -> Decision {
    let chosen = chosen_order(input.mentions, rules.order_card_window, now);
    let context = checks::Context::new(input, rules, now, chosen);
    let checks = checks::run_all(&context);
    Decision {
        eligible: checks.iter().all(|check| check.passed),
        order_id: chosen.map(|mention| mention.order_id.clone()),
        carrier: context.single_carrier(),
        intent: input.intent,
        decided_at: now,
        checks,
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{at, order, order_id, shop, shop_id};
    use super::*;
    use crate::domain::order::OrderStatus;
    use crate::domain::shop::Enrollment;

    const NOW: &str = "2026-11-22T04:00:00Z"; // 12:00 in Shanghai

    fn card(id: &str, time: &str) -> OrderMention {
        OrderMention {
            order_id: order_id(id),
            at: at(time),
            source: MentionSource::OrderCard,
        }
    }

    fn passed(decision: &Decision) -> Vec<(CheckName, bool)> {
        let pairs = decision
            .checks
            .iter()
            .map(|check| (check.name, check.passed));
        pairs.collect()
    }

    #[test]
    fn eligible_case_passes_every_check_in_order() {
        let shop_id = shop_id("s1");
        let mentions = [card("o1", "2026-11-22T03:00:00Z")];
        let facts = order("o1", OrderStatus::Shipped, &[Carrier::Zto]);
        let settings = shop(Enrollment::OptedIn, &[Carrier::Zto]);
        let input = EligibilityInput {
            shop_id: &shop_id,
            mentions: &mentions,
            order: Some(&facts),
            shop: &settings,
            intent: Some(Intent::LostParcel),
        };
        let decision = decide(&input, &EligibilityRules::default(), at(NOW));
        let expected: Vec<_> = CheckName::ALL.iter().map(|name| (*name, true)).collect();
        assert_eq!(passed(&decision), expected);
        assert!(decision.eligible);
        assert_eq!(decision.order_id, Some(order_id("o1")));
        assert_eq!(decision.carrier, Some(Carrier::Zto));
        assert_eq!(decision.decided_at, at(NOW));
    }

    #[test]
    fn no_order_fails_dependent_checks_but_still_evaluates_all() {
        let shop_id = shop_id("s1");
        let settings = ShopLogistics::default();
        let input = EligibilityInput {
            shop_id: &shop_id,
            mentions: &[],
            order: None,
            shop: &settings,
            intent: None,
        };
        let decision = decide(&input, &EligibilityRules::default(), at(NOW));
        assert_eq!(decision.checks.len(), CheckName::ALL.len());
        assert!(!decision.eligible);
        assert_eq!(decision.order_id, None);
        let dependent = [
            CheckName::OrderStatus,
            CheckName::SingleParcel,
            CheckName::CarrierSupported,
            CheckName::ShopService,
        ];
        for name in dependent {
            let check = decision.check(name).expect("every check is reported");
            assert_eq!(
                (check.passed, check.reason.as_str()),
                (false, "no explicit order")
            );
        }
        let hours = decision.check(CheckName::ServiceHours).expect("reported");
        assert!(hours.passed, "service hours do not depend on the order");
    }

    #[test]
    fn decision_serialises_with_snake_case_names() {
        let shop_id = shop_id("s1");
        let settings = ShopLogistics::default();
        let input = EligibilityInput {
            shop_id: &shop_id,
            mentions: &[],
            order: None,
            shop: &settings,
            intent: Some(Intent::NotReceived),
        };
        let decision = decide(&input, &EligibilityRules::default(), at(NOW));
        let json = serde_json::to_value(&decision).expect("serialise");
        assert_eq!(json["checks"][0]["name"], "service_hours");
        assert_eq!(json["checks"][6]["name"], "intent");
        assert_eq!(json["intent"], "not_received");
        assert_eq!(json["order_id"], serde_json::Value::Null);
        let back: Decision = serde_json::from_value(json).expect("round trip");
        assert_eq!(back, decision);
    }
}
