//! What routing knows about the buyer: their recent contact, exclusive agent, crowds, the item
//! they came from, their intent, and their order state.
//!
//! `order_state` derives the six order states from the order feed's `Order`. Finding the buyer's
//! relevant order, crowds and intent is the hub's job; this module only holds the facts.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::names::Tag;
use crate::domain::order::{Order, OrderStatus};
use crate::protocol::ids::UserId;

/// The agent who last talked with the buyer, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecentContact {
    pub agent: UserId,
    pub at: DateTime<Utc>,
}

/// Where the buyer's order stands, as far as routing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BuyerOrderState {
    NoActiveOrder,
    OrderedNotPaid,
    PaidNotShipped,
    Shipped,
    /// Completed no longer ago than the shop's after-sale window.
    CompletedInWindow,
    InAfterSale,
}

impl BuyerOrderState {
    pub const ALL: [BuyerOrderState; 6] = [
        BuyerOrderState::NoActiveOrder,
        BuyerOrderState::OrderedNotPaid,
        BuyerOrderState::PaidNotShipped,
        BuyerOrderState::Shipped,
        BuyerOrderState::CompletedInWindow,
        BuyerOrderState::InAfterSale,
    ];

    /// The wire name, used in trace reasons.
    pub fn as_str(self) -> &'static str {
        match self {
            BuyerOrderState::NoActiveOrder => "no_active_order",
            BuyerOrderState::OrderedNotPaid => "ordered_not_paid",
            BuyerOrderState::PaidNotShipped => "paid_not_shipped",
            BuyerOrderState::Shipped => "shipped",
            BuyerOrderState::CompletedInWindow => "completed_in_window",
            BuyerOrderState::InAfterSale => "in_after_sale",
        }
    }
}

impl fmt::Display for BuyerOrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything routing needs to know about one buyer entering one shop's conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyerContext {
    #[serde(default)]
    pub recent_contact: Option<RecentContact>,
    #[serde(default)]
    pub exclusive_agent: Option<UserId>,
    #[serde(default)]
    pub crowds: Vec<Tag>,
    /// The item page the buyer came from.
    #[serde(default)]
    pub item: Option<Tag>,
    #[serde(default)]
    pub intent: Option<Tag>,
    pub order_state: BuyerOrderState,
}

/// The buyer's order state from their most relevant order (the hub chooses which; usually the
/// latest with this shop).
///
/// | `OrderStatus`                          | state                                      |
/// |----------------------------------------|--------------------------------------------|
/// | none, `closed`                         | `no_active_order`                          |
/// | `unpaid`                               | `ordered_not_paid`                         |
/// | `paid`                                 | `paid_not_shipped`                         |
/// | `shipped`, `partially_shipped`, `delivered` | `shipped`                             |
/// | `completed`, `now - updated_at <= window` | `completed_in_window`                   |
/// | `completed`, older                     | `no_active_order`                          |
/// | `refunding`                            | `in_after_sale`                            |
///
/// `updated_at` stands for the completion time: the feed moves a completed order no further.
/// An `updated_at` in the future (clock skew) counts as inside the window.
pub fn order_state(
    order: Option<&Order>,
    now: DateTime<Utc>,
    window: TimeDelta,
) -> BuyerOrderState {
    let Some(order) = order else {
        return BuyerOrderState::NoActiveOrder;
    };
    match order.status {
        OrderStatus::Unpaid => BuyerOrderState::OrderedNotPaid,
        OrderStatus::Paid => BuyerOrderState::PaidNotShipped,
        OrderStatus::Shipped | OrderStatus::PartiallyShipped | OrderStatus::Delivered => {
            BuyerOrderState::Shipped
        }
        OrderStatus::Completed if now - order.updated_at <= window => {
            BuyerOrderState::CompletedInWindow
        }
        OrderStatus::Completed | OrderStatus::Closed => BuyerOrderState::NoActiveOrder,
        OrderStatus::Refunding => BuyerOrderState::InAfterSale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ids::{OrderId, ShopId};

    fn order(status: OrderStatus, updated_at: DateTime<Utc>) -> Order {
        Order {
            order_id: OrderId::new("o1").expect("id"),
            buyer: UserId::new("b1").expect("id"),
            shop: ShopId::new("s1").expect("id"),
            status,
            parcels: Vec::new(),
            updated_at,
        }
    }

    #[test]
    fn order_states() {
        use BuyerOrderState as State;
        let now = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .expect("time")
            .to_utc();
        let window = TimeDelta::hours(72);
        let ago = |minutes: i64| now - TimeDelta::minutes(minutes);
        let cases: &[(Option<OrderStatus>, DateTime<Utc>, State)] = &[
            (None, now, State::NoActiveOrder),
            (Some(OrderStatus::Unpaid), now, State::OrderedNotPaid),
            (Some(OrderStatus::Paid), now, State::PaidNotShipped),
            (Some(OrderStatus::Shipped), now, State::Shipped),
            (Some(OrderStatus::PartiallyShipped), now, State::Shipped),
            (Some(OrderStatus::Delivered), now, State::Shipped),
            (
                Some(OrderStatus::Completed),
                ago(72 * 60 - 1),
                State::CompletedInWindow,
            ),
            (
                Some(OrderStatus::Completed),
                ago(72 * 60),
                State::CompletedInWindow,
            ),
            (
                Some(OrderStatus::Completed),
                ago(72 * 60 + 1),
                State::NoActiveOrder,
            ),
            (
                Some(OrderStatus::Completed),
                ago(-5),
                State::CompletedInWindow,
            ),
            (
                Some(OrderStatus::Refunding),
                ago(500 * 60),
                State::InAfterSale,
            ),
            (Some(OrderStatus::Closed), now, State::NoActiveOrder),
        ];
        for (status, updated_at, expected) in cases {
            let order = status.map(|status| order(status, *updated_at));
            let state = order_state(order.as_ref(), now, window);
            assert_eq!(state, *expected, "{status:?} updated {updated_at}");
        }
    }

    #[test]
    fn order_state_names_match_the_wire() {
        for state in BuyerOrderState::ALL {
            let json = serde_json::to_string(&state).expect("serialise");
            assert_eq!(json, format!("\"{state}\""));
        }
    }
}
