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

/// One commit: the node, the version it computed from (as an offset from the start), the
/// message; then whether it went in and the version after (offset).
type Step = (uuid::Uuid, u64, &'static str, bool, u64);

/// Runs `steps` in order on a fresh session, checking each.
async fn run(steps: &[Step]) -> (Arc<dyn Store>, SessionRecord, RedisServer) {
    let (server, store, record, v) = started().await;
    for (index, &(node, from, id, went_in, after)) in steps.iter().enumerate() {
        let sent = send(&store, &commit(&record, v + from, id, node)).await;
        assert_eq!(sent, (went_in, v + after), "step {index}: {id}");
    }
    (store, record, server)
}

#[tokio::test]
async fn the_refused_node_commits_next() {
    let (store, record, _server) = run(&[
        (B, 0, "b1", true, 1),
        // A computed from the start: refused with the state now.
        (A, 0, "a1", false, 1),
        // B is up to date, but A's retry has the turn: B is refused once, nothing written.
        (B, 1, "b2", false, 1),
        (A, 1, "a1", true, 2),
        // Then everyone again, B's retry first.
        (B, 2, "b2", true, 3),
        (B, 3, "b3", true, 4),
    ])
    .await;
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
    run(&[
        (B, 0, "b1", true, 1),
        (A, 0, "a1", false, 1),
        // A never retries: B yields once, then goes in.
        (B, 1, "b2", false, 1),
        (B, 1, "b2", true, 2),
        (B, 2, "b3", true, 3),
    ])
    .await;
}

#[tokio::test]
async fn a_refused_node_s_own_retry_ends_its_turn() {
    run(&[
        // The version moved under A's own feet (a write of its own): its retry goes straight in.
        (A, 5, "a1", false, 0),
        (A, 0, "a1", true, 1),
        (B, 1, "b1", true, 2),
    ])
    .await;
}
