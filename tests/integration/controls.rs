//! The shop-side controls on ordinary (two-party) sessions. The exemptions while a courier is
//! a member are tested with the splice.

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::support::client::{TestClient, session_id};
use crate::support::{TestServer, service_time};

pub async fn chat(server: &TestServer) -> (TestClient, TestClient, Value) {
    let mut agent = server.agent("a1", "s1").await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    agent.recv_type("session").await;
    (buyer, agent, session)
}

pub async fn agent_send(
    agent: &mut TestClient,
    session: &Value,
    id: &str,
    text: &str,
    marketing: bool,
) -> Value {
    agent
        .send(
            json!({"type": "send", "session_id": session_id(session), "client_msg_id": id,
                     "body": {"kind": "text", "text": text}, "marketing": marketing}),
        )
        .await;
    agent.recv_until_either("ack", "error").await
}

#[tokio::test]
async fn the_sixth_shop_message_in_a_row_is_refused_until_the_buyer_writes() {
    let server = TestServer::start().await;
    let (mut buyer, mut agent, session) = chat(&server).await;
    for index in 1..=5 {
        let reply = agent_send(&mut agent, &session, &format!("a{index}"), "还在吗", false).await;
        assert_eq!(reply["type"], "ack", "message {index}: {reply}");
    }
    let refused = agent_send(&mut agent, &session, "a6", "在吗?", false).await;
    assert_eq!(refused["code"], "consecutive_limit");
    // A retry of the fifth gets its original ack, not the refusal.
    let retry = agent_send(&mut agent, &session, "a5", "还在吗", false).await;
    assert_eq!(
        (retry["type"].clone(), retry["seq"].clone()),
        (json!("ack"), json!(5))
    );
    for seq in 1..=5 {
        assert_eq!(buyer.recv_type("message").await["seq"], seq);
    }
    buyer.barrier().await; // the sixth was stored nowhere and delivered to nobody
    buyer.say(&session, "b1", "在的").await;
    let again = agent_send(&mut agent, &session, "a7", "好的", false).await;
    assert_eq!(again["type"], "ack");
    assert_eq!(again["seq"], 7);
    server.stop().await;
}

#[tokio::test]
async fn marketing_is_limited_per_buyer_per_local_day() {
    let server = TestServer::start().await;
    let (mut buyer, mut agent, session) = chat(&server).await;
    let first = agent_send(&mut agent, &session, "m1", "双十一领券满300减50", false).await;
    assert_eq!(first["type"], "ack");
    buyer.say(&session, "b1", "哦").await;
    let marked = agent_send(&mut agent, &session, "m2", "看看这个新款", true).await;
    assert_eq!(marked["code"], "marketing_limited");
    let plain = agent_send(&mut agent, &session, "m3", "请问还有什么可以帮您", false).await;
    assert_eq!(plain["type"], "ack", "ordinary replies are not marketing");
    // 23:59:59 Shanghai is still the same day; 00:00:00 is the next.
    server
        .clock
        .set(service_time() + TimeDelta::hours(14) - TimeDelta::seconds(1));
    let late = agent_send(&mut agent, &session, "m4", "限时秒杀", false).await;
    assert_eq!(late["code"], "marketing_limited");
    server.clock.set(service_time() + TimeDelta::hours(14));
    let next_day = agent_send(&mut agent, &session, "m5", "限时秒杀", false).await;
    assert_eq!(next_day["type"], "ack");
    server.stop().await;
}

#[tokio::test]
async fn buyer_messages_prompt_the_shop_and_count_as_waiting_until_answered() {
    let server = TestServer::start().await;
    let (mut buyer, mut agent, session) = chat(&server).await;
    buyer.say(&session, "b1", "在吗").await;
    let message = agent.recv_type("message").await;
    assert_eq!(message["prompt"], true);
    assert_eq!(agent.recv_type("waiting").await["buyers_waiting"], 1);
    buyer.say(&session, "b2", "在吗在吗").await;
    assert_eq!(agent.recv_type("message").await["prompt"], true);
    agent.barrier().await; // the same buyer counts once
    agent.say(&session, "a1", "在的").await;
    assert_eq!(agent.recv_type("waiting").await["buyers_waiting"], 0);
    assert!(buyer.recv_type("message").await.get("prompt").is_none());
    server.stop().await;
}

#[tokio::test]
async fn replies_within_three_minutes_count_as_in_time() {
    let server = TestServer::start().await;
    let (mut buyer, mut agent, session) = chat(&server).await;
    buyer.say(&session, "b1", "你好").await;
    server.clock.advance(TimeDelta::seconds(179));
    agent.say(&session, "a1", "您好").await; // 2:59
    buyer.say(&session, "b2", "还有个问题").await;
    server.clock.advance(TimeDelta::seconds(181));
    agent.say(&session, "a2", "请讲").await; // 3:01
    buyer.say(&session, "b3", "谢谢").await; // pending: no reply yet
    let path = "/v1/shops/s1/service-report?from=2026-11-23T00:00:00Z&to=2026-11-24T00:00:00Z";
    let (status, report) = server.admin("GET", path, None).await;
    assert_eq!(status, 200, "{report}");
    let totals = &report["totals"];
    assert_eq!(totals["counted"], 2, "{report}");
    assert_eq!(totals["in_time"], 1);
    assert_eq!(totals["late"], 1);
    assert_eq!(totals["pending"], 1);
    assert_eq!(totals["response_rate"], 0.5);
    assert_eq!(report["agents"][0]["agent"], "a1");
    assert_eq!(report["logistics_sessions"], json!([]));
    let (status, _) = server
        .admin("GET", "/v1/shops/s1/service-report?from=x&to=y", None)
        .await;
    assert_eq!(status, 400);
    server.stop().await;
}

#[tokio::test]
async fn the_agent_a_buyer_talked_with_is_a_recent_contact() {
    let server = TestServer::start().await;
    let (_buyer, mut agent, session) = chat(&server).await;
    agent.say(&session, "a1", "您好").await;
    let shop = "s1".parse().expect("valid id");
    let buyer_id = "b1".parse().expect("valid id");
    let contacts = server
        .store
        .recent_contacts(&shop, &buyer_id)
        .await
        .expect("store");
    let (agent_id, at) = contacts.latest().expect("a contact");
    assert_eq!(agent_id.as_str(), "a1");
    assert_eq!(at, service_time());
    server.stop().await;
}
