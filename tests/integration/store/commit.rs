//! Conformance cases of `commit_message` (a chat message and its effects in one step), the
//! session version it checks, and the one-read eligibility facts.

use std::sync::Arc;

use chrono::NaiveDate;

use logistics_bridge::domain::controls::Exemptions;
use logistics_bridge::domain::controls::marketing::MarketingTally;
use logistics_bridge::domain::eligibility::{Check, CheckName, Decision};
use logistics_bridge::domain::order::OrderStatus;
use logistics_bridge::domain::shop::{Enrollment, ShopLogistics};
use logistics_bridge::protocol::server::{Member, SenderRole};
use logistics_bridge::store::{
    Committed, Effects, MessageCommit, NewMessage, SessionControls, SessionRecord, SessionState,
    Store, WaitingChange, WaitingCount,
};

use super::fixtures::{at, order, order_id, session, shop, taken_by, text, user};

fn decision(minute: i64) -> Decision {
    Decision {
        eligible: false,
        intent: None,
        order_id: None,
        carrier: None,
        decided_at: at(minute),
        checks: vec![Check {
            name: CheckName::Intent,
            passed: false,
            reason: "没有识别到物流诉求".to_string(),
        }],
    }
}

/// The hub node every commit of this suite comes from: its refused commits are retried by the
/// same node, as the hub does (a refusal gives the refused node the next turn over others,
/// `yield_turn`).
const NODE: uuid::Uuid = uuid::Uuid::from_u128(1);

fn commit(record: &SessionRecord, version: u64, message: NewMessage) -> MessageCommit {
    MessageCommit {
        session: record.id,
        version,
        shop: record.shop.clone(),
        buyer: record.buyer.clone(),
        messages: vec![message],
        origin: NODE,
        effects: Effects::default(),
    }
}

fn from_agent(client_msg_id: &str, minute: i64) -> NewMessage {
    let mut message = text(Some(client_msg_id), "您好");
    message.sender = Member {
        user: user("a1"),
        role: SenderRole::Agent,
        carrier: None,
    };
    message.sent_at = at(minute);
    message
}

/// A buyer's text in session `record` and its effects: controls with a pending buyer message,
/// the buyer waiting on a1, a decision.
fn buyer_commit(record: &SessionRecord, version: u64, client_msg_id: &str) -> MessageCommit {
    let mut commit = commit(record, version, text(Some(client_msg_id), "快递还没到"));
    let mut controls = SessionControls::new(record.shop.clone(), record.id);
    controls.ledger.on_buyer_message(at(0), &Exemptions::NONE);
    commit.effects = Effects {
        controls: Some(controls),
        waiting: WaitingChange::On(user("a1")),
        decision: Some(std::sync::Arc::new(decision(0))),
        ..Effects::default()
    };
    commit
}

async fn state(store: &Arc<dyn Store>, record: &SessionRecord) -> SessionState {
    store.session_state(record.id).await.expect("state")
}

async fn put_taken(store: &Arc<dyn Store>) -> (SessionRecord, u64) {
    let record = taken_by(session("s1", "b1", 0), "a1");
    let version = store.put_session(&record).await.expect("put");
    (record, version)
}

async fn logged(store: &Arc<dyn Store>, record: &SessionRecord) -> u64 {
    let history = store
        .messages_after(record.id, 0, 10)
        .await
        .expect("history");
    history.last_seq
}

pub async fn versions_follow_every_write(store: Arc<dyn Store>) {
    let record = taken_by(session("s1", "b1", 0), "a1");
    assert_eq!(state(&store, &record).await, SessionState::default());
    let first = store.put_session(&record).await.expect("put");
    assert_eq!(first, 1);
    let controls = SessionControls::new(record.shop.clone(), record.id);
    assert_eq!(
        store.put_controls(record.id, &controls).await.expect("put"),
        2
    );
    let read = state(&store, &record).await;
    assert_eq!(
        (read.record, read.controls, read.version),
        (Some(record.clone()), Some(controls), 2)
    );
    let committed = store.commit_message(&buyer_commit(&record, 2, "c1")).await;
    let Committed::New { version, .. } = committed.expect("commit") else {
        panic!("a commit at the current version is stored");
    };
    assert_eq!(version, 3, "a commit that writes the controls bumps");
    let plain = commit(&record, 3, text(Some("c2"), "no effects"));
    let Committed::New { version, .. } = store.commit_message(&plain).await.expect("commit") else {
        panic!("stored");
    };
    assert_eq!(
        version, 3,
        "a commit that writes neither record nor controls does not"
    );
    assert_eq!(state(&store, &record).await.version, 3);
}

pub async fn a_commit_applies_every_effect(store: Arc<dyn Store>) {
    let (record, version) = put_taken(&store).await;
    let buyer = buyer_commit(&record, version, "c1");
    let committed = store.commit_message(&buyer).await.expect("commit");
    let Committed::New {
        stored,
        version,
        waiting,
    } = committed
    else {
        panic!("stored: {committed:?}");
    };
    assert_eq!(stored.len(), 1);
    let stored = &stored[0];
    assert_eq!(stored.seq, 1);
    let a1 = user("a1");
    let counted = WaitingCount {
        agent: a1.clone(),
        buyers_waiting: 1,
    };
    assert_eq!(waiting, vec![counted]);
    let read = state(&store, &record).await;
    assert_eq!(read.controls, buyer.effects.controls);
    assert_eq!(read.version, version);
    assert_eq!(
        store.decision(record.id).await.expect("read"),
        Some(decision(0))
    );
    assert_eq!(store.waiting_count(&a1).await.expect("count"), 1);

    // Waiting on the same agent again changes no count.
    let again = buyer_commit(&record, version, "c2");
    let committed = store.commit_message(&again).await.expect("commit");
    let Committed::New {
        version, waiting, ..
    } = committed
    else {
        panic!("stored");
    };
    assert_eq!(waiting, vec![], "the count did not change");

    // The agent's reply: settles the buyer's message, remembers the contact, tallies marketing,
    // and the buyer waits on nobody.
    let mut controls = read.controls.expect("controls");
    let settled = controls
        .ledger
        .on_shop_reply(&a1, at(2), chrono::TimeDelta::minutes(3));
    let day = NaiveDate::from_ymd_opt(2026, 11, 23).expect("a date");
    let mut tally = MarketingTally::default();
    tally.record(day, &Exemptions::NONE);
    let mut reply = commit(&record, version, from_agent("k1", 2));
    reply.effects = Effects {
        record: Some(record.clone()),
        controls: Some(controls.clone()),
        waiting: WaitingChange::Nobody,
        responses: settled.clone(),
        contact: Some((a1.clone(), at(2))),
        marketing: Some(tally),
        decision: None,
    };
    let committed = store.commit_message(&reply).await.expect("commit");
    let Committed::New {
        stored, waiting, ..
    } = committed
    else {
        panic!("stored");
    };
    let stored = &stored[0];
    assert_eq!(stored.seq, 3);
    let dropped = WaitingCount {
        agent: a1.clone(),
        buyers_waiting: 0,
    };
    assert_eq!(waiting, vec![dropped]);
    assert_eq!(store.waiting_count(&a1).await.expect("count"), 0);
    let records = store.service_records(&shop("s1")).await.expect("records");
    assert!(
        settled.iter().all(|r| records.responses.contains(r)),
        "settled"
    );
    let contacts = store
        .recent_contacts(&record.shop, &record.buyer)
        .await
        .expect("contacts");
    assert_eq!(contacts.latest(), Some((a1.clone(), at(2))));
    let stored_tally = store
        .marketing_tally(&record.shop, &record.buyer)
        .await
        .expect("tally");
    assert_eq!(stored_tally.sent_on(day), 1);
    assert_eq!(state(&store, &record).await.controls, Some(controls));
    assert_eq!(logged(&store, &record).await, 3);
}

pub async fn a_duplicate_commit_writes_nothing(store: Arc<dyn Store>) {
    let (record, version) = put_taken(&store).await;
    let first = store
        .commit_message(&buyer_commit(&record, version, "c1"))
        .await;
    let Committed::New { stored, .. } = first.expect("commit") else {
        panic!("stored");
    };
    let before = state(&store, &record).await;
    let a1 = user("a1");
    // The same client_msg_id again, with other effects, at the current version.
    let mut repeat = commit(&record, before.version, from_agent("c1", 5));
    repeat.effects = Effects {
        controls: Some(SessionControls::new(record.shop.clone(), record.id)),
        waiting: WaitingChange::Nobody,
        contact: Some((a1.clone(), at(5))),
        decision: Some(std::sync::Arc::new(decision(5))),
        ..Effects::default()
    };
    let committed = store.commit_message(&repeat).await.expect("commit");
    assert_eq!(committed, Committed::Duplicate(stored[0].clone()));
    assert_eq!(state(&store, &record).await, before);
    assert_eq!(
        store.decision(record.id).await.expect("read"),
        Some(decision(0))
    );
    assert_eq!(store.waiting_count(&a1).await.expect("count"), 1);
    let contacts = store.recent_contacts(&record.shop, &record.buyer).await;
    assert!(contacts.expect("contacts").is_empty());
    assert_eq!(logged(&store, &record).await, 1);
}

pub async fn a_stale_commit_writes_nothing(store: Arc<dyn Store>) {
    let (record, version) = put_taken(&store).await;
    // Someone else writes the controls: the version moves on.
    let controls = SessionControls::new(record.shop.clone(), record.id);
    let now = store.put_controls(record.id, &controls).await.expect("put");
    assert_eq!(now, version + 1);
    let stale = buyer_commit(&record, version, "c1");
    let committed = store.commit_message(&stale).await.expect("commit");
    let current = SessionState {
        record: Some(record.clone()),
        controls: Some(controls.clone()),
        version: now,
    };
    assert_eq!(
        committed,
        Committed::Conflict(current.clone()),
        "with the state now"
    );
    assert_eq!(state(&store, &record).await, current);
    assert_eq!(store.decision(record.id).await.expect("read"), None);
    assert_eq!(store.waiting_count(&user("a1")).await.expect("count"), 0);
    assert_eq!(logged(&store, &record).await, 0);
    // Read again, the same message goes in.
    let fresh = buyer_commit(&record, now, "c1");
    let committed = store.commit_message(&fresh).await.expect("commit");
    assert!(matches!(committed, Committed::New { .. }), "{committed:?}");

    // A session the store does not know refuses too (a Redis that lost it).
    let unknown = taken_by(session("s1", "b9", 0), "a1");
    let lost = store.commit_message(&buyer_commit(&unknown, 0, "c1")).await;
    let Committed::Conflict(gone) = lost.expect("commit") else {
        panic!("refused");
    };
    assert_eq!(gone.record, None);
    assert_eq!(logged(&store, &unknown).await, 0);
}

pub async fn eligibility_facts_in_one_read(store: Arc<dyn Store>) {
    let s1 = shop("s1");
    let none = store.eligibility_facts(None, &s1).await.expect("facts");
    assert_eq!(none, (None, None));
    let settings = ShopLogistics {
        enrollment: Enrollment::OptedIn,
        carriers: Vec::new(),
    };
    store.put_shop_logistics(&s1, &settings).await.expect("put");
    let placed = order("o1", 1, OrderStatus::Shipped);
    store.put_order(&placed).await.expect("put");
    let o1 = order_id("o1");
    let facts = store
        .eligibility_facts(Some(&o1), &s1)
        .await
        .expect("facts");
    assert_eq!(facts, (Some(placed), Some(settings.clone())));
    let missing = order_id("o2");
    let facts = store
        .eligibility_facts(Some(&missing), &s1)
        .await
        .expect("facts");
    assert_eq!(facts, (None, Some(settings)));
}
