//! Conformance cases of everything but message logs.

use std::sync::Arc;

use chrono::NaiveDate;

use logistics_bridge::domain::controls::Exemptions;
use logistics_bridge::domain::controls::assessment::{Answer, LogisticsRecord, ResponseRecord};
use logistics_bridge::domain::controls::marketing::MarketingTally;
use logistics_bridge::domain::eligibility::{Check, CheckName, Decision};
use logistics_bridge::domain::order::{Carrier, OrderStatus};
use logistics_bridge::domain::routing::RoutingConfig;
use logistics_bridge::domain::shop::{ChosenCarrier, Enrollment, ShopLogistics};
use logistics_bridge::protocol::client::PresenceStatus;
use logistics_bridge::protocol::ids::{SessionId, UserId};
use logistics_bridge::protocol::server::SenderRole;
use logistics_bridge::store::{
    AgentRecord, BuyerProfile, OrderWrite, SessionControls, SessionRecord, Store,
};

use super::fixtures::{at, closed, member, order, order_id, session, shop, taken_by, user};

async fn put(store: &Arc<dyn Store>, session: &SessionRecord) {
    store.put_session(session).await.expect("put session");
}

async fn sessions_of(store: &Arc<dyn Store>, id: &str) -> Vec<SessionId> {
    store.sessions_of(&user(id)).await.expect("sessions of")
}

async fn pool(store: &Arc<dyn Store>, shop_id: &str) -> Vec<SessionId> {
    store
        .waiting_sessions(&shop(shop_id))
        .await
        .expect("waiting sessions")
}

pub async fn orders_keep_the_newest(store: Arc<dyn Store>) {
    let id = order_id("o1");
    assert_eq!(store.order(&id).await.expect("order"), None);
    let first = order("o1", 10, OrderStatus::Paid);
    assert_eq!(
        store.put_order(&first).await.expect("put"),
        OrderWrite::Applied
    );
    // (updated minute, status, outcome, stored status afterwards)
    let cases = [
        (5, OrderStatus::Unpaid, OrderWrite::Stale, OrderStatus::Paid),
        (
            10,
            OrderStatus::Shipped,
            OrderWrite::Applied,
            OrderStatus::Shipped,
        ),
        (
            20,
            OrderStatus::Delivered,
            OrderWrite::Applied,
            OrderStatus::Delivered,
        ),
        (
            15,
            OrderStatus::Refunding,
            OrderWrite::Stale,
            OrderStatus::Delivered,
        ),
    ];
    for (minute, status, outcome, stored) in cases {
        let update = order("o1", minute, status);
        let written = store.put_order(&update).await.expect("put");
        assert_eq!(written, outcome, "minute {minute}");
        let now = store.order(&id).await.expect("order").expect("stored");
        assert_eq!(now.status, stored, "minute {minute}");
    }
    let stored = store.order(&id).await.expect("order");
    assert_eq!(stored, Some(order("o1", 20, OrderStatus::Delivered)));
}

pub async fn shop_settings_round_trip(store: Arc<dyn Store>) {
    let s1 = shop("s1");
    assert_eq!(store.shop_logistics(&s1).await.expect("read"), None);
    let settings = ShopLogistics {
        enrollment: Enrollment::OptedIn,
        carriers: vec![ChosenCarrier {
            carrier: Carrier::Zto,
            sub_account: user("s1-zto"),
        }],
    };
    store.put_shop_logistics(&s1, &settings).await.expect("put");
    let read = store.shop_logistics(&s1).await.expect("read");
    assert_eq!(read, Some(settings));
    let other = store.shop_logistics(&shop("s2")).await.expect("read");
    assert_eq!(other, None);
}

pub async fn sessions_round_trip(store: Arc<dyn Store>) {
    let record = taken_by(session("s1", "b1", 0), "a1");
    assert_eq!(store.session(record.id).await.expect("read"), None);
    put(&store, &record).await;
    let read = store.session(record.id).await.expect("read");
    assert_eq!(read, Some(record));
}

pub async fn indexes_follow_status(store: Arc<dyn Store>) {
    let waiting = session("s1", "b1", 0);
    let id = waiting.id;
    put(&store, &waiting).await;
    let open = store.open_session(&user("b1"), &shop("s1")).await;
    assert_eq!(open.expect("open session"), Some(id));
    assert_eq!(sessions_of(&store, "b1").await, vec![id]);
    assert_eq!(pool(&store, "s1").await, vec![id]);

    let taken = taken_by(waiting, "a1");
    put(&store, &taken).await;
    assert_eq!(sessions_of(&store, "a1").await, vec![id]);
    assert_eq!(sessions_of(&store, "b1").await, vec![id]);
    assert_eq!(pool(&store, "s1").await, Vec::<SessionId>::new());

    let mut left = taken.clone();
    left.members.retain(|m| m.role != SenderRole::Agent);
    put(&store, &left).await;
    assert_eq!(sessions_of(&store, "a1").await, Vec::<SessionId>::new());
    assert_eq!(
        pool(&store, "s1").await,
        vec![id],
        "no agent: back in the pool"
    );

    put(&store, &closed(taken)).await;
    let open = store.open_session(&user("b1"), &shop("s1")).await;
    assert_eq!(open.expect("open session"), None);
    assert_eq!(sessions_of(&store, "b1").await, Vec::<SessionId>::new());
    assert_eq!(pool(&store, "s1").await, Vec::<SessionId>::new());
    let read = store.session(id).await.expect("read").expect("kept");
    assert_eq!(read.status, closed(left).status);
}

pub async fn a_new_open_session_replaces_the_closed_one(store: Arc<dyn Store>) {
    let first = taken_by(session("s1", "b1", 0), "a1");
    put(&store, &first).await;
    put(&store, &closed(first.clone())).await;
    let second = session("s1", "b1", 5);
    put(&store, &second).await;
    let open = store.open_session(&user("b1"), &shop("s1")).await;
    assert_eq!(open.expect("open session"), Some(second.id));
    assert_eq!(sessions_of(&store, "b1").await, vec![second.id]);
    let elsewhere = store.open_session(&user("b1"), &shop("s2")).await;
    assert_eq!(elsewhere.expect("open session"), None);
}

pub async fn sessions_of_lists_open_sessions_sorted(store: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for (index, shop_id) in ["s1", "s2", "s3"].into_iter().enumerate() {
        let record = taken_by(session(shop_id, "b1", index as i64), "a1");
        put(&store, &record).await;
        ids.push(record.id);
    }
    let closed_one = closed(taken_by(session("s4", "b1", 9), "a1"));
    put(&store, &closed_one).await;
    ids.sort();
    assert_eq!(sessions_of(&store, "b1").await, ids);
    assert_eq!(sessions_of(&store, "a1").await, ids);
    assert_eq!(sessions_of(&store, "nobody").await, Vec::<SessionId>::new());
}

pub async fn waiting_sessions_oldest_first(store: Arc<dyn Store>) {
    let late = session("s1", "b1", 30);
    let early = session("s1", "b2", 10);
    let middle = session("s1", "b3", 20);
    let taken = taken_by(session("s1", "b4", 5), "a1");
    let other_shop = session("s2", "b5", 1);
    for record in [&late, &early, &middle, &taken, &other_shop] {
        put(&store, record).await;
    }
    assert_eq!(pool(&store, "s1").await, vec![early.id, middle.id, late.id]);
    assert_eq!(pool(&store, "s2").await, vec![other_shop.id]);
    assert_eq!(pool(&store, "s9").await, Vec::<SessionId>::new());
    // Opened at the same instant: by session id.
    let mut twins = [session("s3", "b6", 0), session("s3", "b7", 0)];
    for record in &twins {
        put(&store, record).await;
    }
    twins.sort_by_key(|record| record.id);
    assert_eq!(pool(&store, "s3").await, vec![twins[0].id, twins[1].id]);
}

pub async fn presence_and_agent_load(store: Arc<dyn Store>) {
    let s1 = shop("s1");
    assert_eq!(store.agents(&s1).await.expect("agents"), Vec::new());
    let online = PresenceStatus::Online;
    store
        .set_presence(&s1, &user("a2"), online)
        .await
        .expect("set");
    store
        .set_presence(&s1, &user("a1"), online)
        .await
        .expect("set");
    store
        .set_presence(&shop("s2"), &user("a3"), online)
        .await
        .expect("set");
    let busy = PresenceStatus::Busy;
    store
        .set_presence(&s1, &user("a1"), busy)
        .await
        .expect("set");
    let first = taken_by(session("s1", "b1", 0), "a1");
    let second = taken_by(session("s1", "b2", 1), "a1");
    put(&store, &first).await;
    put(&store, &second).await;
    let record = |agent: &str, status, open_sessions| AgentRecord {
        agent: user(agent),
        status,
        open_sessions,
    };
    let agents = store.agents(&s1).await.expect("agents");
    assert_eq!(agents, vec![record("a1", busy, 2), record("a2", online, 0)]);
    put(&store, &closed(first)).await;
    let agents = store.agents(&s1).await.expect("agents");
    assert_eq!(agents, vec![record("a1", busy, 1), record("a2", online, 0)]);
}

fn decision(eligible: bool) -> Decision {
    Decision {
        eligible,
        order_id: Some(order_id("o1")),
        carrier: Some(Carrier::Zto),
        intent: None,
        decided_at: at(3),
        checks: vec![Check {
            name: CheckName::Intent,
            passed: eligible,
            reason: "没有识别到物流诉求".to_string(),
        }],
    }
}

pub async fn decisions_keep_the_latest(store: Arc<dyn Store>) {
    let id = SessionId::new();
    assert_eq!(store.decision(id).await.expect("read"), None);
    store.put_decision(id, &decision(false)).await.expect("put");
    store.put_decision(id, &decision(true)).await.expect("put");
    assert_eq!(
        store.decision(id).await.expect("read"),
        Some(decision(true))
    );
    let other = store.decision(SessionId::new()).await.expect("read");
    assert_eq!(other, None);
}

pub async fn controls_round_trip(store: Arc<dyn Store>) {
    let id = SessionId::new();
    assert_eq!(store.controls(id).await.expect("read"), None);
    let mut controls = SessionControls::new(shop("s1"), id);
    controls.ledger.on_buyer_message(at(1), &Exemptions::NONE);
    controls.consecutive.on_shop_message(&Exemptions::NONE);
    store.put_controls(id, &controls).await.expect("put");
    assert_eq!(store.controls(id).await.expect("read"), Some(controls));
}

fn response(shop_id: &str, minute: i64, answered_by: Option<&str>) -> ResponseRecord {
    ResponseRecord {
        shop: shop(shop_id),
        session: SessionId::new(),
        buyer_message_at: at(minute),
        answer: answered_by.map(|agent| Answer {
            agent: user(agent),
            at: at(minute + 1),
            in_time: true,
        }),
    }
}

pub async fn service_records_add_pending_of_open_sessions(store: Arc<dyn Store>) {
    let empty = store.service_records(&shop("s1")).await.expect("records");
    assert_eq!((empty.responses.len(), empty.logistics.len()), (0, 0));
    let settled = [response("s1", 1, Some("a1")), response("s1", 2, None)];
    let elsewhere = response("s2", 3, Some("a9"));
    store.add_responses(&settled).await.expect("add");
    store.add_responses(&[elsewhere]).await.expect("add");
    store.add_responses(&[]).await.expect("add nothing");
    let logistics = LogisticsRecord {
        shop: shop("s1"),
        session: SessionId::new(),
        courier_joined_at: at(4),
    };
    store.add_logistics_session(&logistics).await.expect("add");
    // An open session with a pending buyer message counts; a closed one does not.
    let open = taken_by(session("s1", "b1", 0), "a1");
    let gone = closed(taken_by(session("s1", "b2", 0), "a1"));
    let mut pending = Vec::new();
    for record in [&open, &gone] {
        put(&store, record).await;
        let mut controls = SessionControls::new(record.shop.clone(), record.id);
        controls.ledger.on_buyer_message(at(5), &Exemptions::NONE);
        store.put_controls(record.id, &controls).await.expect("put");
        if record.id == open.id {
            pending = controls.ledger.pending_records();
        }
    }
    let records = store.service_records(&shop("s1")).await.expect("records");
    let mut expected = settled.to_vec();
    expected.extend(pending);
    assert_eq!(records.responses, expected);
    assert_eq!(records.logistics, vec![logistics]);
}

pub async fn recent_contacts_most_recent_first(store: Arc<dyn Store>) {
    let (s1, b1) = (shop("s1"), user("b1"));
    let empty = store.recent_contacts(&s1, &b1).await.expect("read");
    assert!(empty.is_empty());
    let contacts = [("a1", 1), ("a2", 3), ("a1", 5), ("a3", 4), ("a2", 2)];
    for (agent, minute) in contacts {
        let agent = user(agent);
        store
            .record_contact(&s1, &b1, &agent, at(minute))
            .await
            .expect("record");
    }
    let read = store.recent_contacts(&s1, &b1).await.expect("read");
    let order: Vec<(UserId, _)> = read
        .contacts()
        .iter()
        .map(|c| (c.agent.clone(), c.at))
        .collect();
    let expected = vec![
        (user("a1"), at(5)),
        (user("a3"), at(4)),
        (user("a2"), at(3)),
    ];
    assert_eq!(order, expected);
    let other = store.recent_contacts(&s1, &user("b2")).await.expect("read");
    assert!(other.is_empty());
}

pub async fn marketing_tallies_per_buyer(store: Arc<dyn Store>) {
    let (s1, b1) = (shop("s1"), user("b1"));
    let day = NaiveDate::from_ymd_opt(2026, 11, 23).expect("valid date");
    let empty = store.marketing_tally(&s1, &b1).await.expect("read");
    assert_eq!(empty, MarketingTally::default());
    let mut tally = MarketingTally::default();
    tally.record(day, &Exemptions::NONE);
    tally.record(day, &Exemptions::NONE);
    store
        .put_marketing_tally(&s1, &b1, &tally)
        .await
        .expect("put");
    let read = store.marketing_tally(&s1, &b1).await.expect("read");
    assert_eq!((read, read.sent_on(day)), (tally, 2));
    let other = store.marketing_tally(&s1, &user("b2")).await.expect("read");
    assert_eq!(other, MarketingTally::default());
}

pub async fn waiting_counts_follow_set_waiting(store: Arc<dyn Store>) {
    let (a1, a2) = (user("a1"), user("a2"));
    let (first, second) = (SessionId::new(), SessionId::new());
    let count = async |agent: &UserId| store.waiting_count(agent).await.expect("count");
    // (session, waits on, agents whose count changed)
    let steps: [(SessionId, Option<&UserId>, Vec<UserId>); 7] = [
        (first, Some(&a1), vec![a1.clone()]),
        (first, Some(&a1), vec![]),
        (second, Some(&a1), vec![a1.clone()]),
        (second, Some(&a2), vec![a1.clone(), a2.clone()]),
        (first, None, vec![a1.clone()]),
        (first, None, vec![]),
        (first, Some(&a2), vec![a2.clone()]),
    ];
    for (index, (session, agent, changed)) in steps.into_iter().enumerate() {
        let got = store
            .set_waiting(session, agent)
            .await
            .expect("set waiting");
        assert_eq!(got, changed, "step {index}");
    }
    assert_eq!((count(&a1).await, count(&a2).await), (0, 2));
    assert_eq!(count(&user("nobody")).await, 0);
}

pub async fn routing_state_round_trips(store: Arc<dyn Store>) {
    let (s1, b1) = (shop("s1"), user("b1"));
    assert_eq!(store.routing(&s1).await.expect("read"), None);
    let config = RoutingConfig {
        robot_first: true,
        ..RoutingConfig::default()
    };
    store.put_routing(&s1, &config).await.expect("put");
    assert_eq!(store.routing(&s1).await.expect("read"), Some(config));
    assert_eq!(store.buyer_profile(&s1, &b1).await.expect("read"), None);
    let profile = BuyerProfile {
        exclusive_agent: Some(user("a1")),
        ..BuyerProfile::default()
    };
    store
        .put_buyer_profile(&s1, &b1, &profile)
        .await
        .expect("put");
    let read = store.buyer_profile(&s1, &b1).await.expect("read");
    assert_eq!(read, Some(profile));
    for (agent, rate) in [("a2", 0.25_f32), ("a1", 0.1), ("a2", 1.0 / 3.0)] {
        let agent = user(agent);
        store
            .put_conversion_rate(&s1, &agent, rate)
            .await
            .expect("put");
    }
    let rates = store.conversion_rates(&s1).await.expect("read");
    assert_eq!(rates, vec![(user("a1"), 0.1), (user("a2"), 1.0 / 3.0)]);
    let none = store
        .routing_decision(SessionId::new())
        .await
        .expect("read");
    assert_eq!(none, None);
}

/// A member that joined later reads from a later seq; the record keeps it.
pub async fn member_records_keep_their_fields(store: Arc<dyn Store>) {
    let mut record = taken_by(session("s1", "b1", 0), "a1");
    let mut courier = member("c1", SenderRole::Courier, 7);
    courier.carrier = Some(Carrier::Zto);
    courier.visible_from_seq = 12;
    record.members.push(courier);
    put(&store, &record).await;
    let read = store.session(record.id).await.expect("read");
    assert_eq!(read, Some(record.clone()));
    assert_eq!(sessions_of(&store, "c1").await, vec![record.id]);
}
