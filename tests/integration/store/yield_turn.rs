//! Two nodes committing to one session take turns: a node whose commit was refused gets the
//! next turn over the other node, once (`store/redis/commit.rs`, `yield`). Without it, the node
//! whose replies come back first sends first every time and refuses the other's retries for as
//! long as it has messages (`two_nodes_writing_one_session_both_succeed` saw it as "the session
//! kept changing").

use std::sync::Arc;

use logistics_bridge::store::{
    Committed, Effects, MessageCommit, SessionControls, SessionRecord, Store,
};

use super::fixtures::{session, taken_by, text};
use super::redis_store;
use crate::support::redis::RedisServer;

const A: uuid::Uuid = uuid::Uuid::from_u128(0xa);
const B: uuid::Uuid = uuid::Uuid::from_u128(0xb);

/// Message `id` from `node`, computed at `version`; it writes the controls, so it moves the
/// session's version as a chat message does.
fn commit(record: &SessionRecord, version: u64, id: &str, node: uuid::Uuid) -> MessageCommit {
    MessageCommit {
        session: record.id,
        version,
        shop: record.shop.clone(),
        buyer: record.buyer.clone(),
        messages: vec![text(Some(id), "x")],
        origin: node,
        effects: Effects {
            controls: Some(SessionControls::new(record.shop.clone(), record.id)),
            ..Effects::default()
        },
    }
}

/// The version a commit left, or the version a refusal reported; and whether it went in.
async fn send(store: &Arc<dyn Store>, commit: &MessageCommit) -> (bool, u64) {
    match store.commit_message(commit).await.expect("commit") {
        Committed::New { version, .. } => (true, version),
        Committed::Conflict(state) => (false, state.version),
        Committed::Duplicate(stored) => panic!("not a repeat: {stored:?}"),
    }
}

async fn started() -> (RedisServer, Arc<dyn Store>, SessionRecord, u64) {
    let server = RedisServer::start();
    let store = redis_store(&server).await;
    let record = taken_by(session("s1", "b1", 0), "a1");
    let version = store.put_session(&record).await.expect("put");
    (server, store, record, version)
}

#[tokio::test]
async fn the_refused_node_commits_next() {
    let (_server, store, record, v) = started().await;
    assert_eq!(
        send(&store, &commit(&record, v, "b1", B)).await,
        (true, v + 1)
    );
    // A computed from v: refused with the state now.
    assert_eq!(
        send(&store, &commit(&record, v, "a1", A)).await,
        (false, v + 1)
    );
    // B is up to date, but A's retry has the turn: B is refused once, and nothing is written.
    assert_eq!(
        send(&store, &commit(&record, v + 1, "b2", B)).await,
        (false, v + 1)
    );
    assert_eq!(
        send(&store, &commit(&record, v + 1, "a1", A)).await,
        (true, v + 2)
    );
    // Then everyone again, B's retry first.
    assert_eq!(
        send(&store, &commit(&record, v + 2, "b2", B)).await,
        (true, v + 3)
    );
    assert_eq!(
        send(&store, &commit(&record, v + 3, "b3", B)).await,
        (true, v + 4)
    );
    let history = store
        .messages_after(record.id, 0, 10)
        .await
        .expect("history");
    let ids: Vec<_> = history
        .messages
        .iter()
        .map(|m| m.client_msg_id.clone())
        .collect();
    let ids: Vec<_> = ids.iter().flatten().map(|id| id.as_str()).collect();
    assert_eq!(ids, ["b1", "a1", "b2", "b3"]);
}

#[tokio::test]
async fn a_node_that_gave_up_costs_one_refusal() {
    let (_server, store, record, v) = started().await;
    assert_eq!(
        send(&store, &commit(&record, v, "b1", B)).await,
        (true, v + 1)
    );
    assert_eq!(
        send(&store, &commit(&record, v, "a1", A)).await,
        (false, v + 1)
    );
    // A never retries: B yields once, then goes in.
    assert_eq!(
        send(&store, &commit(&record, v + 1, "b2", B)).await,
        (false, v + 1)
    );
    assert_eq!(
        send(&store, &commit(&record, v + 1, "b2", B)).await,
        (true, v + 2)
    );
    assert_eq!(
        send(&store, &commit(&record, v + 2, "b3", B)).await,
        (true, v + 3)
    );
}

#[tokio::test]
async fn a_refused_node_s_own_retry_ends_its_turn() {
    let (_server, store, record, v) = started().await;
    // The version moved under A's own feet (a write of its own): its retry goes straight in.
    assert_eq!(
        send(&store, &commit(&record, v + 5, "a1", A)).await,
        (false, v)
    );
    assert_eq!(
        send(&store, &commit(&record, v, "a1", A)).await,
        (true, v + 1)
    );
    assert_eq!(
        send(&store, &commit(&record, v + 1, "b1", B)).await,
        (true, v + 2)
    );
}
