//! Relay, ordering, acks, duplicates, resume and the message pool.

use serde_json::json;

use crate::support::TestServer;
use crate::support::client::{TestClient, session_id};

#[tokio::test]
async fn buyer_and_agent_chat_both_ways() {
    let server = TestServer::start().await;
    let mut agent = server.agent("a1", "s1").await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    assert_eq!(session["status"], "open");
    assert_eq!(session["request_id"], "open");
    let assigned = agent.recv_type("session").await;
    assert_eq!(assigned["session_id"], session["session_id"]);

    let ack = buyer.say(&session, "c1", "你好,我的快递还没到").await;
    assert_eq!(ack["seq"], 1);
    let message = agent.recv_type("message").await;
    assert_eq!(message["seq"], 1);
    assert_eq!(message["sender"]["role"], "buyer");
    assert_eq!(message["sender"]["user"], "b1");
    assert_eq!(message["body"]["text"], "你好,我的快递还没到");
    assert_eq!(message["msg_id"], ack["msg_id"]);

    let reply = agent.say(&session, "r1", "您好,我来查一下").await;
    assert_eq!(reply["seq"], 2);
    let message = buyer.recv_until("message").await;
    assert_eq!(message["sender"]["role"], "agent");
    assert_eq!(message["seq"], 2);
    server.stop().await;
}

/// Sends `count` texts `{prefix}{i}`, then reads until it has seen `2 * count` seqs (its acks and
/// the other side's messages); the seqs and the texts it saw, in order.
async fn talk(
    client: &mut TestClient,
    id: &str,
    prefix: &str,
    count: usize,
) -> (Vec<u64>, Vec<String>) {
    for index in 0..count {
        client
            .send(json!({"type": "send", "session_id": id, "client_msg_id": format!("{prefix}{index}"),
                         "body": {"kind": "text", "text": format!("{prefix}{index}")}}))
            .await;
    }
    let (mut seen, mut got) = (Vec::new(), Vec::new());
    while seen.len() < 2 * count {
        let frame = client.recv().await; // also `waiting` frames, which carry no seq
        seen.extend(frame["seq"].as_u64());
        got.extend(frame["body"]["text"].as_str().map(str::to_string));
    }
    (seen, got)
}

// Two workers: a message is applied by its sender's task when the session is idle and queued
// behind others when not, and both ways must keep one order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_member_gets_messages_in_seq_order_with_no_gap() {
    // Both sides write freely here; the five-message limit has tests of its own. And room for
    // every frame in each outbox: the hub stores a burst of queued sends faster than a test
    // client (a debug build parsing each frame) reads them, and a full outbox closes its
    // connection as a slow reader, which has tests of its own too.
    let server = TestServer::with_config(|c| {
        c.controls.consecutive_limit = 1000;
        c.server.outbox_capacity = 4096;
    })
    .await;
    let mut agent = server.agent("a1", "s1").await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    agent.recv_type("session").await;
    let id = session_id(&session);
    let count = 300;
    // Each client sends its messages and then reads until it has seen every seq, both at
    // once, as two devices would. (A client that reads nothing while the hub writes it
    // hundreds of frames is a slow reader, closed by design: see the slow-reader tests.)
    let ((buyer_seen, buyer_got), (agent_seen, agent_got)) = tokio::join!(
        talk(&mut buyer, &id, "m", count),
        talk(&mut agent, &id, "r", count)
    );
    // Each client sees its acks and the other's messages: together every seq once, in order.
    let expected: Vec<u64> = (1..=2 * count as u64).collect();
    assert_eq!(buyer_seen, expected);
    assert_eq!(agent_seen, expected);
    // And each sender's messages in the order it sent them.
    let sent = |prefix: &str| {
        (0..count)
            .map(|i| format!("{prefix}{i}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(buyer_got, sent("r"));
    assert_eq!(agent_got, sent("m"));
    server.stop().await;
}

#[tokio::test]
async fn an_ack_means_the_message_is_stored() {
    let server = TestServer::start().await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    let ack = buyer.say(&session, "c1", "hello").await;
    let mut other_device = server.buyer("b1").await;
    other_device
        .send(json!({"type": "resume", "session_id": session_id(&session), "after_seq": 0}))
        .await;
    let replayed = other_device.recv_type("message").await;
    assert_eq!(replayed["msg_id"], ack["msg_id"]);
    assert_eq!(other_device.recv_type("resumed").await["recovered"], true);
    server.stop().await;
}

#[tokio::test]
async fn a_repeated_client_msg_id_gets_the_original_ack_and_stores_nothing() {
    let server = TestServer::start().await;
    let mut agent = server.agent("a1", "s1").await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    agent.recv_type("session").await;
    let first = buyer.say(&session, "same", "once").await;
    let second = buyer.say(&session, "same", "twice?").await;
    assert_eq!(first, second);
    assert_eq!(agent.recv_type("message").await["body"]["text"], "once");
    assert_eq!(agent.recv_type("waiting").await["buyers_waiting"], 1);
    agent.barrier().await;
    let next = buyer.say(&session, "other", "next").await;
    assert_eq!(next["seq"], 2);
    server.stop().await;
}

#[tokio::test]
async fn resume_replays_after_the_given_seq() {
    let server = TestServer::start().await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    for index in 1..=5 {
        buyer
            .say(&session, &format!("c{index}"), &format!("m{index}"))
            .await;
    }
    buyer
        .send(json!({"type": "resume", "session_id": session_id(&session), "after_seq": 2, "request_id": "r"}))
        .await;
    for seq in 3..=5 {
        assert_eq!(buyer.recv_type("message").await["seq"], seq);
    }
    let resumed = buyer.recv_type("resumed").await;
    assert_eq!(resumed["recovered"], true);
    assert_eq!(resumed["last_seq"], 5);
    assert_eq!(resumed["request_id"], "r");
    server.stop().await;
}

#[tokio::test]
async fn resume_says_recovered_false_when_history_no_longer_covers_it() {
    let server = TestServer::with_config(|c| c.history.retained_messages = 3).await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    let id = session_id(&session);
    for index in 1..=6 {
        buyer.say(&session, &format!("c{index}"), "m").await;
    }
    // Retained: 4, 5, 6. After 3 is covered; after 2 is not.
    buyer
        .send(json!({"type": "resume", "session_id": id, "after_seq": 3}))
        .await;
    assert_eq!(buyer.recv_type("message").await["seq"], 4);
    assert_eq!(buyer.recv_type("message").await["seq"], 5);
    assert_eq!(buyer.recv_type("message").await["seq"], 6);
    assert_eq!(buyer.recv_type("resumed").await["recovered"], true);
    buyer
        .send(json!({"type": "resume", "session_id": id, "after_seq": 2}))
        .await;
    let resumed = buyer.recv_type("resumed").await;
    assert_eq!(resumed["recovered"], false);
    assert_eq!(resumed["oldest_seq"], 4);
    // A client ahead of the hub (its history was lost) is told, not silently restarted.
    buyer
        .send(json!({"type": "resume", "session_id": id, "after_seq": 99}))
        .await;
    assert_eq!(buyer.recv_type("resumed").await["recovered"], false);
    server.stop().await;
}

#[tokio::test]
async fn with_no_agent_online_messages_wait_for_one() {
    let server = TestServer::start().await;
    let mut agent = server.agent_offline("a1", "s1").await;
    let mut buyer = server.buyer("b1").await;
    buyer.send(json!({"type": "open", "shop_id": "s1"})).await;
    assert_eq!(buyer.recv_type("notice").await["code"], "no_agent_online");
    let session = buyer.recv_type("session").await;
    assert_eq!(session["status"], "waiting_for_agent");
    buyer.say(&session, "c1", "anyone there?").await;
    agent.barrier().await;

    agent
        .send(json!({"type": "presence", "status": "online"}))
        .await;
    let assigned = agent.recv_type("session").await;
    assert_eq!(assigned["session_id"], session["session_id"]);
    assert_eq!(assigned["last_seq"], 1);
    assert_eq!(
        buyer.recv_type("member_joined").await["member"]["user"],
        "a1"
    );
    agent
        .send(json!({"type": "resume", "session_id": session_id(&session), "after_seq": 0}))
        .await;
    assert_eq!(
        agent.recv_type("message").await["body"]["text"],
        "anyone there?"
    );
    server.stop().await;
}

#[tokio::test]
async fn suspended_agents_take_no_new_buyers_and_a_reentering_buyer_keeps_its_session() {
    let server = TestServer::start().await;
    let mut online = server.agent("a1", "s1").await;
    let mut suspended = server.agent_offline("a3", "s1").await;
    suspended
        .send(json!({"type": "presence", "status": "suspended"}))
        .await;
    suspended.barrier().await;
    for buyer_id in ["b1", "b2", "b3"] {
        let mut buyer = server.buyer(buyer_id).await;
        buyer.open("s1", None).await;
        assert_eq!(online.recv_type("session").await["buyer"], buyer_id);
    }
    suspended.barrier().await;
    let mut buyer = server.buyer("b1").await;
    let again = buyer.open("s1", None).await;
    let original = buyer.open("s1", None).await;
    assert_eq!(again["session_id"], original["session_id"]);
    online.barrier().await; // re-entry with its agent online routes nothing anew
    server.stop().await;
}

#[tokio::test]
async fn a_buyer_leaving_closes_the_session() {
    let server = TestServer::start().await;
    let mut agent = server.agent("a1", "s1").await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    agent.recv_type("session").await;
    buyer
        .send(json!({"type": "leave", "session_id": session_id(&session)}))
        .await;
    assert_eq!(agent.recv_type("member_left").await["member"]["user"], "b1");
    let reopened = buyer.open("s1", None).await;
    assert_ne!(reopened["session_id"], session["session_id"]);
    server.stop().await;
}
