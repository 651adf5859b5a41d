//! Test builders shared by the eligibility tests: ids, times, orders, shops and inputs.

use chrono::{DateTime, Utc};

use crate::domain::order::{Carrier, Order, OrderStatus, Parcel};
use crate::domain::shop::{ChosenCarrier, Enrollment, ShopLogistics};
use crate::protocol::ids::{OrderId, ShopId, UserId};

pub(crate) fn at(time: &str) -> DateTime<Utc> {
    time.parse().expect("valid RFC 3339 time")
}

pub(crate) fn order_id(id: &str) -> OrderId {
    OrderId::new(id).expect("valid order id")
}

pub(crate) fn shop_id(id: &str) -> ShopId {
    ShopId::new(id).expect("valid shop id")
}

/// An order of shop `s1` with one parcel per carrier given.
pub(crate) fn order(id: &str, status: OrderStatus, carriers: &[Carrier]) -> Order {
    let parcels = carriers.iter().enumerate().map(|(index, carrier)| Parcel {
        carrier: *carrier,
        waybill: format!("WB{index}"),
    });
    Order {
        order_id: order_id(id),
        buyer: UserId::new("b1").expect("valid user id"),
        shop: shop_id("s1"),
        status,
        parcels: parcels.collect(),
        updated_at: at("2026-11-22T00:00:00Z"),
    }
}

/// Shop settings with the given enrollment and chosen carriers.
pub(crate) fn shop(enrollment: Enrollment, carriers: &[Carrier]) -> ShopLogistics {
    let chosen = carriers.iter().map(|carrier| ChosenCarrier {
        carrier: *carrier,
        sub_account: UserId::new(&format!("sub-{}", carrier.code())).expect("valid user id"),
    });
    ShopLogistics {
        enrollment,
        carriers: chosen.collect(),
    }
}
