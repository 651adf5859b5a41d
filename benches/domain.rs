//! Per-call cost of the pure domain rules: classifying a buyer text and deciding eligibility.
//!
//! Targets (issue 3): classify under 20 µs, decide well under 5 µs. Run with
//! `cargo bench --bench domain`.

use std::hint::black_box;

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use logistics_bridge::domain::eligibility::{
    EligibilityInput, EligibilityRules, MentionSource, OrderMention, decide,
};
use logistics_bridge::domain::intent::{Classifier, Intent};
use logistics_bridge::domain::order::{Carrier, Order, OrderStatus, Parcel};
use logistics_bridge::domain::shop::{ChosenCarrier, Enrollment, ShopLogistics};
use logistics_bridge::protocol::ids::{OrderId, ShopId, UserId};

/// Typical texts, positive and negative, short and long.
const TEXTS: &[(&str, &str)] = &[
    (
        "signed_not_received",
        "物流显示已签收，但是我根本没收到，快递员电话也打不通",
    ),
    ("lost_parcel", "快递员说我的件在中转站丢了，怎么办"),
    (
        "damaged_in_transit",
        "收到的时候箱子都压扁了，里面的杯子碎了两个😭",
    ),
    (
        "not_delivered_traditional",
        "快遞員不送貨上門，直接放驛站了",
    ),
    (
        "english_not_received",
        "Hi, I still haven't received my order, it's been two weeks",
    ),
    ("none_presale", "请问今天下单什么时候发货，几天能到上海？"),
    ("none_resolved", "之前说没收到，现在已经收到了，谢谢"),
    ("none_greeting", "你好"),
];

fn bench_classify(criterion: &mut Criterion) {
    let classifier = Classifier::builtin();
    let mut group = criterion.benchmark_group("classify");
    for (name, text) in TEXTS {
        group.bench_function(*name, |bencher| {
            bencher.iter(|| classifier.classify(black_box(text)))
        });
    }
    group.finish();
}

fn time(text: &str) -> DateTime<Utc> {
    text.parse().expect("valid time")
}

fn order() -> Order {
    Order {
        order_id: OrderId::new("o1").expect("valid id"),
        buyer: UserId::new("b1").expect("valid id"),
        shop: ShopId::new("s1").expect("valid id"),
        status: OrderStatus::Shipped,
        parcels: vec![Parcel {
            carrier: Carrier::Zto,
            waybill: "ZT1".into(),
        }],
        updated_at: time("2026-11-22T00:00:00Z"),
    }
}

fn bench_decide(criterion: &mut Criterion) {
    let shop_id = ShopId::new("s1").expect("valid id");
    let mentions = [
        OrderMention {
            order_id: OrderId::new("o0").expect("valid id"),
            at: time("2026-11-20T02:00:00Z"),
            source: MentionSource::EntryPage,
        },
        OrderMention {
            order_id: OrderId::new("o1").expect("valid id"),
            at: time("2026-11-22T03:00:00Z"),
            source: MentionSource::OrderCard,
        },
    ];
    let order = order();
    let shop = ShopLogistics {
        enrollment: Enrollment::Rollout,
        carriers: vec![ChosenCarrier {
            carrier: Carrier::Zto,
            sub_account: UserId::new("zto-1").expect("valid id"),
        }],
    };
    let rules = EligibilityRules::default();
    let now = time("2026-11-22T04:00:00Z");
    let eligible = EligibilityInput {
        shop_id: &shop_id,
        mentions: &mentions,
        order: Some(&order),
        shop: &shop,
        intent: Some(Intent::LostParcel),
    };
    let no_order = EligibilityInput {
        mentions: &[],
        order: None,
        ..eligible
    };
    let mut group = criterion.benchmark_group("decide");
    group.bench_function("eligible", |bencher| {
        bencher.iter(|| decide(black_box(&eligible), &rules, now))
    });
    group.bench_function("no_order", |bencher| {
        bencher.iter(|| decide(black_box(&no_order), &rules, now))
    });
    group.finish();
}

criterion_group!(benches, bench_classify, bench_decide);
criterion_main!(benches);
