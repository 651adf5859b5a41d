//! Order facts as the marketplace's order feed gives them, and the carriers the hub knows.
//!
//! These are the only order facts the hub believes: a buyer's order card names an order id and
//! nothing else, so a client can never make the hub believe a status or a parcel.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::protocol::ids::{OrderId, ShopId, UserId};

/// A carrier the hub knows. Wire form is the upper-case code (`"ZTO"`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Carrier {
    Zto,
    Sto,
    Yunda,
    Yto,
    Jt,
    Suning,
    Ems,
    Uc,
    Deppon,
}

impl Carrier {
    pub const ALL: [Carrier; 9] = [
        Carrier::Zto,
        Carrier::Sto,
        Carrier::Yunda,
        Carrier::Yto,
        Carrier::Jt,
        Carrier::Suning,
        Carrier::Ems,
        Carrier::Uc,
        Carrier::Deppon,
    ];

    /// The upper-case code used on the wire, in config and in tokens.
    pub fn code(self) -> &'static str {
        match self {
            Carrier::Zto => "ZTO",
            Carrier::Sto => "STO",
            Carrier::Yunda => "YUNDA",
            Carrier::Yto => "YTO",
            Carrier::Jt => "JT",
            Carrier::Suning => "SUNING",
            Carrier::Ems => "EMS",
            Carrier::Uc => "UC",
            Carrier::Deppon => "DEPPON",
        }
    }

    /// Parses a code, ignoring ASCII case.
    pub fn from_code(code: &str) -> Option<Carrier> {
        Carrier::ALL
            .into_iter()
            .find(|carrier| carrier.code().eq_ignore_ascii_case(code))
    }
}

impl std::fmt::Display for Carrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// An order's status in the marketplace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Unpaid,
    Paid,
    Shipped,
    PartiallyShipped,
    Delivered,
    Completed,
    Closed,
    Refunding,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 8] = [
        OrderStatus::Unpaid,
        OrderStatus::Paid,
        OrderStatus::Shipped,
        OrderStatus::PartiallyShipped,
        OrderStatus::Delivered,
        OrderStatus::Completed,
        OrderStatus::Closed,
        OrderStatus::Refunding,
    ];
}

/// One parcel of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Parcel {
    pub carrier: Carrier,
    /// The carrier's waybill number: 1 to 40 characters.
    #[schemars(length(min = 1, max = 40))]
    pub waybill: String,
}

/// An order as the order feed last reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub order_id: OrderId,
    pub buyer: UserId,
    pub shop: ShopId,
    pub status: OrderStatus,
    #[serde(default)]
    pub parcels: Vec<Parcel>,
    pub updated_at: DateTime<Utc>,
}

/// The most parcels one order may list; more is refused as bad input.
pub const MAX_PARCELS: usize = 50;

/// Why an order from the feed is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("parcels[{index}].waybill must be 1 to 40 characters")]
    BadWaybill { index: usize },
    #[error("parcels has {count} entries; at most {MAX_PARCELS} are allowed")]
    TooManyParcels { count: usize },
}

impl Order {
    /// Checks what serde's types cannot express.
    pub fn validate(&self) -> Result<(), OrderError> {
        if self.parcels.len() > MAX_PARCELS {
            return Err(OrderError::TooManyParcels {
                count: self.parcels.len(),
            });
        }
        for (index, parcel) in self.parcels.iter().enumerate() {
            let length = parcel.waybill.chars().count();
            if length == 0 || length > 40 || parcel.waybill.trim().is_empty() {
                return Err(OrderError::BadWaybill { index });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carrier_codes_round_trip() {
        for carrier in Carrier::ALL {
            assert_eq!(Carrier::from_code(carrier.code()), Some(carrier));
            let json = serde_json::to_string(&carrier).expect("serialise");
            assert_eq!(json, format!("\"{}\"", carrier.code()));
        }
        assert_eq!(Carrier::from_code("yunda"), Some(Carrier::Yunda));
        assert_eq!(Carrier::from_code("SF"), None);
    }

    #[test]
    fn order_validation() {
        let mut order: Order = serde_json::from_value(serde_json::json!({
            "order_id": "o1", "buyer": "b1", "shop": "s1", "status": "shipped",
            "parcels": [{"carrier": "ZTO", "waybill": "ZT1"}],
            "updated_at": "2026-11-22T10:00:00Z"
        }))
        .expect("valid order");
        assert_eq!(order.validate(), Ok(()));
        order.parcels[0].waybill = " ".into();
        assert_eq!(order.validate(), Err(OrderError::BadWaybill { index: 0 }));
    }
}
