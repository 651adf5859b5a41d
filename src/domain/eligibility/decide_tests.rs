//! Boundary table for `decide`: one row per boundary named in issue 3, each changing one fact of
//! an otherwise eligible case.

use super::fixtures::{at, order, order_id, shop, shop_id};
use super::*;
use crate::domain::order::OrderStatus;
use crate::domain::shop::Enrollment;

/// 12:00 in Shanghai.
const NOW: &str = "2026-11-22T04:00:00Z";

/// An eligible case that each row changes in one way.
struct Scenario {
    now: &'static str,
    mentions: Vec<OrderMention>,
    order: Option<Order>,
    shop_id: ShopId,
    shop: ShopLogistics,
    intent: Option<Intent>,
    rules: EligibilityRules,
}

impl Scenario {
    /// Card for o1 five hours ago; o1 shipped in one ZTO parcel; shop opted in with ZTO;
    /// intent not_received.
    fn eligible() -> Scenario {
        Scenario {
            now: NOW,
            mentions: vec![card("o1", "2026-11-21T23:00:00Z")],
            order: Some(order("o1", OrderStatus::Shipped, &[Carrier::Zto])),
            shop_id: shop_id("s1"),
            shop: shop(Enrollment::OptedIn, &[Carrier::Zto]),
            intent: Some(Intent::NotReceived),
            rules: EligibilityRules::default(),
        }
    }

    fn decide(&self) -> Decision {
        let input = EligibilityInput {
            shop_id: &self.shop_id,
            mentions: &self.mentions,
            order: self.order.as_ref(),
            shop: &self.shop,
            intent: self.intent,
        };
        decide(&input, &self.rules, at(self.now))
    }
}

fn card(id: &str, time: &str) -> OrderMention {
    OrderMention {
        order_id: order_id(id),
        at: at(time),
        source: MentionSource::OrderCard,
    }
}

fn entry(id: &str, time: &str) -> OrderMention {
    OrderMention {
        order_id: order_id(id),
        at: at(time),
        source: MentionSource::EntryPage,
    }
}

type Change = Box<dyn Fn(&mut Scenario)>;

fn keep() -> Change {
    Box::new(|_| {})
}

fn now(time: &'static str) -> Change {
    Box::new(move |scenario| scenario.now = time)
}

/// Mentions `(order id, time, is_entry)`.
fn mentions(list: &'static [(&'static str, &'static str, bool)]) -> Change {
    Box::new(move |scenario| {
        let build = |&(id, time, is_entry)| {
            if is_entry {
                entry(id, time)
            } else {
                card(id, time)
            }
        };
        scenario.mentions = list.iter().map(build).collect();
    })
}

/// Order facts for `id`, or none.
fn facts(id: Option<&'static str>, status: OrderStatus, carriers: &'static [Carrier]) -> Change {
    Box::new(move |scenario| scenario.order = id.map(|id| order(id, status, carriers)))
}

fn status(status: OrderStatus) -> Change {
    facts(Some("o1"), status, &[Carrier::Zto])
}

fn parcels(carriers: &'static [Carrier]) -> Change {
    facts(Some("o1"), OrderStatus::Shipped, carriers)
}

fn settings(enrollment: Enrollment, carriers: &'static [Carrier]) -> Change {
    Box::new(move |scenario| scenario.shop = shop(enrollment, carriers))
}

fn rollout(shop: &'static str, percent: u8) -> Change {
    Box::new(move |scenario| {
        scenario.shop_id = shop_id(shop);
        scenario.shop.enrollment = Enrollment::Rollout;
        scenario.rules.rollout_percent = percent;
    })
}

fn intent(intent: Option<Intent>) -> Change {
    Box::new(move |scenario| scenario.intent = intent)
}

/// What changes, the check to look at, whether it passes, whether the case stays eligible.
type Row = (&'static str, Change, CheckName, bool, bool);

/// Kept one row per line: the table is the specification.
#[rustfmt::skip]
fn rows() -> Vec<Row> {
    use CheckName as C;
    use OrderStatus as S;
    let mut rows: Vec<Row> = vec![
        ("baseline", keep(), C::Intent, true, true),
        // Service hours in Asia/Shanghai (UTC+8).
        ("08:59:59", now("2026-11-22T00:59:59Z"), C::ServiceHours, false, false),
        ("09:00:00", now("2026-11-22T01:00:00Z"), C::ServiceHours, true, true),
        ("20:59:59", now("2026-11-22T12:59:59Z"), C::ServiceHours, true, true),
        ("21:00:00", now("2026-11-22T13:00:00Z"), C::ServiceHours, false, false),
        // The order card window, now being 04:00:00Z.
        ("card 23:59:59 ago", mentions(&[("o1", "2026-11-21T04:00:01Z", false)]), C::ExplicitOrder, true, true),
        ("card 24:00:00 ago", mentions(&[("o1", "2026-11-21T04:00:00Z", false)]), C::ExplicitOrder, true, true),
        ("card 24:00:01 ago", mentions(&[("o1", "2026-11-21T03:59:59Z", false)]), C::ExplicitOrder, false, false),
        ("card in the future", mentions(&[("o1", "2026-11-22T04:00:01Z", false)]), C::ExplicitOrder, false, false),
        ("no mention at all", mentions(&[]), C::OrderStatus, false, false),
        ("entry order 3 days old", mentions(&[("o1", "2026-11-19T04:00:00Z", true)]), C::ExplicitOrder, true, true),
        // Several mentions: the most recent counts, whatever the others' facts.
        ("older card eligible, newer not", Box::new(|s| {
            mentions(&[("o1", "2026-11-22T02:00:00Z", false), ("o2", "2026-11-22T03:00:00Z", false)])(s);
            facts(Some("o2"), S::Paid, &[Carrier::Zto])(s);
        }), C::OrderStatus, false, false),
        ("older card not eligible, newer is", Box::new(|s| {
            mentions(&[("o2", "2026-11-22T02:00:00Z", false), ("o1", "2026-11-22T03:00:00Z", false)])(s);
            facts(Some("o1"), S::Shipped, &[Carrier::Zto])(s);
        }), C::OrderStatus, true, true),
        ("facts given for the older card", mentions(&[("o1", "2026-11-22T02:00:00Z", false), ("o2", "2026-11-22T03:00:00Z", false)]), C::OrderStatus, false, false),
        ("entry newer than card", mentions(&[("o2", "2026-11-22T02:00:00Z", false), ("o1", "2026-11-22T03:00:00Z", true)]), C::ExplicitOrder, true, true),
        ("card newer than entry", mentions(&[("o2", "2026-11-22T02:00:00Z", true), ("o1", "2026-11-22T03:00:00Z", false)]), C::ExplicitOrder, true, true),
        ("card older than entry", mentions(&[("o1", "2026-11-22T02:00:00Z", false), ("o2", "2026-11-22T03:00:00Z", true)]), C::OrderStatus, false, false),
        ("facts missing", facts(None, S::Shipped, &[]), C::SingleParcel, false, false),
        // Parcels.
        ("zero parcels", parcels(&[]), C::SingleParcel, false, false),
        ("one parcel", parcels(&[Carrier::Zto]), C::SingleParcel, true, true),
        ("two parcels", parcels(&[Carrier::Zto, Carrier::Zto]), C::SingleParcel, false, false),
        ("two parcels, no single carrier", parcels(&[Carrier::Zto, Carrier::Sto]), C::CarrierSupported, false, false),
        // Shop service. shop-1 is in rollout bucket 55 (pinned in rollout.rs).
        ("shop opted out", settings(Enrollment::OptedOut, &[Carrier::Zto]), C::ShopService, false, false),
        ("shop without that carrier", settings(Enrollment::OptedIn, &[Carrier::Sto]), C::ShopService, false, false),
        ("no shop settings", Box::new(|s| s.shop = ShopLogistics::default()), C::ShopService, false, false),
        ("rollout in: bucket 55 < 56%", rollout("shop-1", 56), C::ShopService, true, true),
        ("rollout out: bucket 55 >= 55%", rollout("shop-1", 55), C::ShopService, false, false),
        ("rollout 0%", rollout("s1", 0), C::ShopService, false, false),
        ("rollout 100%", rollout("shop-3", 100), C::ShopService, true, true),
        ("no intent", intent(None), C::Intent, false, false),
    ];
    for order_status in OrderStatus::ALL {
        let is_shipped = matches!(order_status, S::Shipped | S::PartiallyShipped);
        rows.push(("status", status(order_status), C::OrderStatus, is_shipped, is_shipped));
    }
    for each in Intent::ALL {
        rows.push(("intent", intent(Some(each)), C::Intent, true, true));
    }
    rows
}

#[test]
fn one_row_per_boundary() {
    for (index, (name, change, check_name, passes, eligible)) in rows().into_iter().enumerate() {
        let mut scenario = Scenario::eligible();
        change(&mut scenario);
        let decision = scenario.decide();
        let check = decision.check(check_name).expect("every check is reported");
        let context = format!("row {index} ({name}): {decision:#?}");
        assert_eq!(check.passed, passes, "{context}");
        assert_eq!(decision.eligible, eligible, "{context}");
        assert_eq!(decision.checks.len(), CheckName::ALL.len(), "{context}");
    }
}

#[test]
fn every_carrier() {
    let supported = EligibilityRules::default().carriers;
    for carrier in Carrier::ALL {
        let mut scenario = Scenario::eligible();
        scenario.order = Some(order("o1", OrderStatus::Shipped, &[carrier]));
        scenario.shop = shop(Enrollment::OptedIn, &Carrier::ALL);
        let decision = scenario.decide();
        let check = decision
            .check(CheckName::CarrierSupported)
            .expect("reported");
        let is_supported = supported.contains(&carrier);
        assert_eq!(check.passed, is_supported, "{carrier}: {}", check.reason);
        assert_eq!(decision.eligible, is_supported, "{carrier}");
        assert_eq!(decision.carrier, Some(carrier));
    }
}

/// Kept one row per line: the table is the specification.
#[rustfmt::skip]
fn reason_rows() -> Vec<(Change, CheckName, &'static str)> {
    use CheckName as C;
    vec![
        (now("2026-11-22T13:00:00Z"), C::ServiceHours, "local time 21:00:00 (Asia/Shanghai) is outside service hours [09:00, 21:00)"),
        (keep(), C::ExplicitOrder, "order o1 from an order card sent 5:00:00 ago"),
        (mentions(&[("o1", "2026-11-20T00:00:00Z", true)]), C::ExplicitOrder, "order o1 is the order page the session was opened from"),
        (mentions(&[("o1", "2026-11-20T00:00:00Z", false)]), C::ExplicitOrder, "no explicit order: no order card in the last 24:00:00 and no entry order (1 mention(s) too old or in the future)"),
        (mentions(&[]), C::CarrierSupported, "no explicit order"),
        (mentions(&[]), C::ShopService, "no explicit order"),
        (facts(None, OrderStatus::Shipped, &[]), C::OrderStatus, "order facts unknown for order o1"),
        (facts(Some("o9"), OrderStatus::Shipped, &[Carrier::Zto]), C::OrderStatus, "order facts unknown: the facts given are for order o9, not o1"),
        (status(OrderStatus::PartiallyShipped), C::OrderStatus, "status is partially_shipped"),
        (status(OrderStatus::Delivered), C::OrderStatus, "status is delivered; needs shipped or partially_shipped"),
        (parcels(&[]), C::SingleParcel, "0 parcels; needs exactly one"),
        (parcels(&[Carrier::Jt]), C::CarrierSupported, "carrier JT is not supported (supported: ZTO, STO, YUNDA, YTO)"),
        (keep(), C::ShopService, "service is on (the shop opted in), and the shop has chosen ZTO"),
        (settings(Enrollment::OptedOut, &[]), C::ShopService, "service is off (the shop opted out)"),
        (settings(Enrollment::OptedIn, &[]), C::ShopService, "service is on (the shop opted in), but the shop has not chosen ZTO"),
        (rollout("shop-1", 55), C::ShopService, "service is off (rollout bucket 55 >= 55%)"),
        (keep(), C::Intent, "intent not_received (未收到货)"),
        (intent(None), C::Intent, "no logistics intent in the message"),
    ]
}

#[test]
fn reasons_explain_each_check() {
    for (change, name, expected) in reason_rows() {
        let mut scenario = Scenario::eligible();
        change(&mut scenario);
        let decision = scenario.decide();
        let check = decision.check(name).expect("reported");
        assert_eq!(check.reason, expected, "{name:?}");
    }
}

/// The hub skips reading the order and the shop's settings when no order is chosen
/// (`hub::eligibility`): that is only right while `decide` reads neither then.
#[test]
fn without_a_chosen_order_the_shop_settings_do_not_matter() {
    let mut scenario = Scenario::eligible();
    scenario.mentions = vec![card("o1", "2026-11-20T04:00:00Z")];
    scenario.order = None;
    let with_settings = scenario.decide();
    scenario.shop = ShopLogistics::default();
    let without = scenario.decide();
    assert_eq!(with_settings, without);
    assert_eq!(with_settings.order_id, None);
    let shop_service = with_settings
        .check(CheckName::ShopService)
        .expect("reported");
    assert_eq!(shop_service.reason, "no explicit order");
}
