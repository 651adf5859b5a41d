//! The seven checks of `decide`, each a small pure function of the context, with its reason.
//!
//! Owns the wording of reasons and the rule that order-dependent checks fail with
//! `no explicit order` (no mention counts) or `order facts unknown ...` (the facts given are
//! missing, or for another order than the chosen one). It does not choose the order (see
//! `mention`) nor hash shops (see `rollout`).

use chrono::{DateTime, NaiveTime, Utc};

use super::rollout::{is_service_on, rollout_bucket};
use super::text;
use super::{Check, CheckName, EligibilityInput, EligibilityRules, MentionSource, OrderMention};
use crate::domain::order::{Carrier, Order, OrderStatus};
use crate::domain::shop::Enrollment;

/// The reason of every order-dependent check when the session names no order.
pub(crate) const NO_EXPLICIT_ORDER: &str = "no explicit order";

/// What `decide` knows while checking.
pub(super) struct Context<'a> {
    input: &'a EligibilityInput<'a>,
    rules: &'a EligibilityRules,
    now: DateTime<Utc>,
    chosen: Option<&'a OrderMention>,
}

/// The chosen order's facts, as far as they are known.
enum Facts<'a> {
    NoOrder,
    Unknown(String),
    Known(&'a Order),
}

impl<'a> Context<'a> {
    pub(super) fn new(
        input: &'a EligibilityInput<'a>,
        rules: &'a EligibilityRules,
        now: DateTime<Utc>,
        chosen: Option<&'a OrderMention>,
    ) -> Context<'a> {
        Context {
            input,
            rules,
            now,
            chosen,
        }
    }

    fn facts(&self) -> Facts<'a> {
        let Some(chosen) = self.chosen else {
            return Facts::NoOrder;
        };
        match self.input.order {
            Some(order) if order.order_id == chosen.order_id => Facts::Known(order),
            Some(order) => Facts::Unknown(format!(
                "order facts unknown: the facts given are for order {}, not {}",
                order.order_id, chosen.order_id
            )),
            None => Facts::Unknown(format!("order facts unknown for order {}", chosen.order_id)),
        }
    }

    /// The carrier of the chosen order's only parcel, when the facts are known and there is one.
    pub(super) fn single_carrier(&self) -> Option<Carrier> {
        match self.facts() {
            Facts::Known(order) => only_carrier(order),
            _ => None,
        }
    }
}

fn only_carrier(order: &Order) -> Option<Carrier> {
    match order.parcels.as_slice() {
        [parcel] => Some(parcel.carrier),
        _ => None,
    }
}

/// Every check, in `CheckName::ALL` order, none skipped.
pub(super) fn run_all(context: &Context<'_>) -> Vec<Check> {
    vec![
        service_hours(context),
        explicit_order(context),
        order_status(context),
        single_parcel(context),
        carrier_supported(context),
        shop_service(context),
        intent(context),
    ]
}

fn check(name: CheckName, passed: bool, reason: String) -> Check {
    Check {
        name,
        passed,
        reason,
    }
}

/// Runs `judge` on the order's facts, or fails with why there are none.
fn with_order(
    context: &Context<'_>,
    name: CheckName,
    judge: impl FnOnce(&Order) -> (bool, String),
) -> Check {
    let (passed, reason) = match context.facts() {
        Facts::NoOrder => (false, NO_EXPLICIT_ORDER.to_string()),
        Facts::Unknown(reason) => (false, reason),
        Facts::Known(order) => judge(order),
    };
    check(name, passed, reason)
}

fn service_hours(context: &Context<'_>) -> Check {
    let rules = context.rules;
    let local = context.now.with_timezone(&rules.time_zone).time();
    let is_open = is_within_hours(local, rules.service_start, rules.service_end);
    // "local time 09:05:07 (Asia/Shanghai) is within service hours [09:00, 21:00)", written by
    // hand (`text`): this runs on every buyer text.
    use chrono::Timelike;
    let mut reason = String::with_capacity(80);
    reason.push_str("local time ");
    text::push_hm(&mut reason, local);
    reason.push(':');
    text::push_two(&mut reason, local.second());
    reason.push_str(" (");
    reason.push_str(rules.time_zone.name());
    reason.push_str(if is_open {
        ") is within"
    } else {
        ") is outside"
    });
    reason.push_str(" service hours [");
    text::push_hm(&mut reason, rules.service_start);
    reason.push_str(", ");
    text::push_hm(&mut reason, rules.service_end);
    reason.push(')');
    check(CheckName::ServiceHours, is_open, reason)
}

/// `[start, end)`, running across midnight when `end < start`; empty when they are equal.
pub(crate) fn is_within_hours(local: NaiveTime, start: NaiveTime, end: NaiveTime) -> bool {
    if start <= end {
        start <= local && local < end
    } else {
        local >= start || local < end
    }
}

fn explicit_order(context: &Context<'_>) -> Check {
    let reason = match context.chosen {
        Some(mention) => chosen_reason(mention, context.now),
        None => {
            let mut reason = String::with_capacity(110);
            reason.push_str(NO_EXPLICIT_ORDER);
            reason.push_str(": no order card in the last ");
            reason.push_str(&text::duration(context.rules.order_card_window));
            reason.push_str(" and no entry order (");
            text::push_number(&mut reason, context.input.mentions.len() as u64);
            reason.push_str(" mention(s) too old or in the future)");
            reason
        }
    };
    check(CheckName::ExplicitOrder, context.chosen.is_some(), reason)
}

fn chosen_reason(mention: &OrderMention, now: DateTime<Utc>) -> String {
    match mention.source {
        MentionSource::OrderCard => format!(
            "order {} from an order card sent {} ago",
            mention.order_id,
            text::duration(now - mention.at)
        ),
        MentionSource::EntryPage => format!(
            "order {} is the order page the session was opened from",
            mention.order_id
        ),
    }
}

fn order_status(context: &Context<'_>) -> Check {
    with_order(context, CheckName::OrderStatus, |order| {
        let label = status_label(order.status);
        match order.status {
            OrderStatus::Shipped | OrderStatus::PartiallyShipped => {
                (true, format!("status is {label}"))
            }
            _ => (
                false,
                format!("status is {label}; needs shipped or partially_shipped"),
            ),
        }
    })
}

fn status_label(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Unpaid => "unpaid",
        OrderStatus::Paid => "paid",
        OrderStatus::Shipped => "shipped",
        OrderStatus::PartiallyShipped => "partially_shipped",
        OrderStatus::Delivered => "delivered",
        OrderStatus::Completed => "completed",
        OrderStatus::Closed => "closed",
        OrderStatus::Refunding => "refunding",
    }
}

fn single_parcel(context: &Context<'_>) -> Check {
    with_order(context, CheckName::SingleParcel, |order| {
        match order.parcels.len() {
            1 => (true, "exactly one parcel".to_string()),
            count => (false, format!("{count} parcels; needs exactly one")),
        }
    })
}

fn carrier_supported(context: &Context<'_>) -> Check {
    let supported = &context.rules.carriers;
    with_order(
        context,
        CheckName::CarrierSupported,
        |order| match only_carrier(order) {
            None => (
                false,
                "no single parcel to take the carrier from".to_string(),
            ),
            Some(carrier) if supported.contains(&carrier) => {
                (true, format!("carrier {carrier} is supported"))
            }
            Some(carrier) => (
                false,
                format!(
                    "carrier {carrier} is not supported (supported: {})",
                    codes(supported)
                ),
            ),
        },
    )
}

fn codes(carriers: &[Carrier]) -> String {
    let codes: Vec<&str> = carriers.iter().map(|carrier| carrier.code()).collect();
    codes.join(", ")
}

fn shop_service(context: &Context<'_>) -> Check {
    let service = service_state(context);
    let shop = context.input.shop;
    with_order(context, CheckName::ShopService, |order| {
        match (service, only_carrier(order)) {
            (Err(off), _) => (false, off),
            (Ok(on), None) => (
                false,
                format!("{on}, but there is no single parcel carrier"),
            ),
            (Ok(on), Some(carrier)) if shop.chosen(carrier).is_some() => {
                (true, format!("{on}, and the shop has chosen {carrier}"))
            }
            (Ok(on), Some(carrier)) => (
                false,
                format!("{on}, but the shop has not chosen {carrier}"),
            ),
        }
    })
}

/// `Ok(why on)` or `Err(why off)`.
fn service_state(context: &Context<'_>) -> Result<String, String> {
    let (shop_id, shop) = (context.input.shop_id, context.input.shop);
    let percent = context.rules.rollout_percent;
    let is_on = is_service_on(shop_id, shop, percent);
    let why = match shop.enrollment {
        Enrollment::OptedIn => "the shop opted in".to_string(),
        Enrollment::OptedOut => "the shop opted out".to_string(),
        Enrollment::Rollout => {
            let bucket = rollout_bucket(shop_id);
            let relation = if is_on { "<" } else { ">=" };
            format!("rollout bucket {bucket} {relation} {percent}%")
        }
    };
    let state = format!("service is {} ({why})", if is_on { "on" } else { "off" });
    if is_on { Ok(state) } else { Err(state) }
}

fn intent(context: &Context<'_>) -> Check {
    let (passed, reason) = match context.input.intent {
        Some(intent) => (
            true,
            format!("intent {} ({})", intent, intent.chinese_name()),
        ),
        None => (false, "no logistics intent in the message".to_string()),
    };
    check(CheckName::Intent, passed, reason)
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn service_hours_are_half_open_and_may_cross_midnight() {
        let time = |hour, minute| NaiveTime::from_hms_opt(hour, minute, 0).expect("valid time");
        let cases = [
            ((9, 0), (21, 0), (8, 59), false),
            ((9, 0), (21, 0), (9, 0), true),
            ((9, 0), (21, 0), (20, 59), true),
            ((9, 0), (21, 0), (21, 0), false),
            ((22, 0), (6, 0), (23, 0), true),
            ((22, 0), (6, 0), (5, 59), true),
            ((22, 0), (6, 0), (6, 0), false),
            ((22, 0), (6, 0), (12, 0), false),
            ((9, 0), (9, 0), (9, 0), false),
        ];
        for (start, end, local, expected) in cases {
            let (start, end) = (time(start.0, start.1), time(end.0, end.1));
            let within = is_within_hours(time(local.0, local.1), start, end);
            assert_eq!(within, expected, "{local:?} in [{start}, {end})");
        }
    }

    #[test]
    fn durations_read_as_hours_minutes_seconds() {
        let cases = [
            (0, "0:00:00"),
            (59, "0:00:59"),
            (86_399, "23:59:59"),
            (90_061, "25:01:01"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(text::duration(TimeDelta::seconds(seconds)), expected);
        }
    }
}
