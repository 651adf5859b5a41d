//! Commits of several messages of one session (`hub::batch` stores the sends that queued
//! behind one commit this way): consecutive seqs, the folded effects, retention across the
//! batch, and a repeat anywhere in it refusing all of it.

use std::sync::Arc;

use logistics_bridge::store::{
    Committed, Effects, MessageCommit, SessionControls, SessionRecord, Store, WaitingChange,
};

use super::fixtures::{RETAINED, client_id, session, taken_by, text, user};

const NODE: uuid::Uuid = uuid::Uuid::from_u128(1);

/// Messages with these `client_msg_id`s at `version`, the buyer waiting on a1 and the controls
/// written (so that the version moves once).
fn batch(record: &SessionRecord, version: u64, ids: &[&str]) -> MessageCommit {
    MessageCommit {
        session: record.id,
        version,
        shop: record.shop.clone(),
        buyer: record.buyer.clone(),
        messages: ids.iter().map(|id| text(Some(id), id)).collect(),
        origin: NODE,
        effects: Effects {
            controls: Some(SessionControls::new(record.shop.clone(), record.id)),
            waiting: WaitingChange::On(user("a1")),
            ..Effects::default()
        },
    }
}

async fn started(store: &Arc<dyn Store>) -> (SessionRecord, u64) {
    let record = taken_by(session("s1", "b1", 0), "a1");
    let version = store.put_session(&record).await.expect("put");
    (record, version)
}

async fn seqs(store: &Arc<dyn Store>, record: &SessionRecord) -> (Vec<u64>, u64, u64) {
    let history = store
        .messages_after(record.id, 0, 100)
        .await
        .expect("history");
    let seqs = history.messages.iter().map(|m| m.seq).collect();
    (seqs, history.oldest_seq, history.last_seq)
}

pub async fn several_messages_take_consecutive_seqs(store: Arc<dyn Store>) {
    let (record, version) = started(&store).await;
    let committed = store
        .commit_message(&batch(&record, version, &["c1"]))
        .await;
    assert!(
        matches!(committed, Ok(Committed::New { .. })),
        "{committed:?}"
    );
    let three = batch(&record, version + 1, &["c2", "c3", "c4"]);
    let Committed::New {
        stored,
        version: after,
        waiting,
    } = store.commit_message(&three).await.expect("commit")
    else {
        panic!("stored");
    };
    let stored: Vec<_> = stored
        .iter()
        .map(|m| (m.seq, m.client_msg_id.clone()))
        .collect();
    let expected: Vec<_> = (2..=4).zip(["c2", "c3", "c4"]).collect();
    let expected: Vec<_> = expected
        .into_iter()
        .map(|(seq, id)| (seq, Some(client_id(id))))
        .collect();
    assert_eq!(stored, expected);
    assert_eq!(after, version + 2, "one write of the controls, one version");
    assert!(waiting.is_empty(), "a1 was waited on already");
    assert_eq!(seqs(&store, &record).await, (vec![1, 2, 3, 4], 1, 4));
    let found = store
        .message_by_client_id(record.id, &client_id("c3"))
        .await;
    assert_eq!(found.expect("lookup").map(|m| m.seq), Some(3));
}

pub async fn a_repeat_anywhere_in_a_batch_writes_nothing(store: Arc<dyn Store>) {
    let (record, version) = started(&store).await;
    let first = store
        .commit_message(&batch(&record, version, &["c1"]))
        .await;
    assert!(matches!(first, Ok(Committed::New { .. })), "{first:?}");
    let state = store.session_state(record.id).await.expect("state");
    let repeat = batch(&record, state.version, &["c2", "c1", "c3"]);
    let Committed::Duplicate(original) = store.commit_message(&repeat).await.expect("commit")
    else {
        panic!("refused as a repeat");
    };
    assert_eq!(original.seq, 1);
    assert_eq!(seqs(&store, &record).await, (vec![1], 1, 1));
    assert_eq!(store.session_state(record.id).await.expect("state"), state);
    let c2 = store
        .message_by_client_id(record.id, &client_id("c2"))
        .await;
    assert_eq!(c2.expect("lookup"), None);
}

pub async fn retention_holds_across_a_batch(store: Arc<dyn Store>) {
    let (record, version) = started(&store).await;
    let ids: Vec<String> = (1..=RETAINED + 2).map(|i| format!("c{i}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let committed = store.commit_message(&batch(&record, version, &ids)).await;
    assert!(
        matches!(committed, Ok(Committed::New { .. })),
        "{committed:?}"
    );
    let total = ids.len() as u64;
    let kept: Vec<u64> = (total - RETAINED as u64 + 1..=total).collect();
    assert_eq!(seqs(&store, &record).await, (kept.clone(), kept[0], total));
    let dropped = store
        .message_by_client_id(record.id, &client_id("c1"))
        .await;
    assert_eq!(
        dropped.expect("lookup"),
        None,
        "a trimmed message's id is forgotten"
    );
    // And on from there, one at a time and in a batch again.
    let more = batch(&record, version + 1, &["d1", "d2"]);
    let committed = store.commit_message(&more).await;
    assert!(
        matches!(committed, Ok(Committed::New { .. })),
        "{committed:?}"
    );
    let kept: Vec<u64> = (total + 2 - RETAINED as u64 + 1..=total + 2).collect();
    assert_eq!(
        seqs(&store, &record).await,
        (kept.clone(), kept[0], total + 2)
    );
}
