//! Routing over real sockets: the five steps as the hub applies them, the explanation,
//! the robot's hand-over, and transfers. Every boundary is a table test in
//! `domain::routing`; here each step is shown to reach the wire.

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::client::{TestClient, session_id};

async fn configure(server: &TestServer, config: Value) {
    let (status, reply) = server
        .admin("PUT", "/v1/shops/s1/routing", Some(config))
        .await;
    assert_eq!(status, 200, "{reply}");
}

async fn explanation(server: &TestServer, session: &Value) -> Value {
    let path = format!("/v1/sessions/{}/routing", session_id(session));
    let (status, decision) = server.admin("GET", &path, None).await;
    assert_eq!(status, 200, "{decision}");
    decision
}

fn decided_by(decision: &Value) -> String {
    let steps = decision["steps"].as_array().expect("steps");
    let step = steps
        .iter()
        .find(|s| s["decided"] == true)
        .expect("a deciding step");
    step["step"].as_str().expect("name").to_string()
}

async fn suspend(agent: &mut TestClient) {
    agent
        .send(json!({"type": "presence", "status": "suspended"}))
        .await;
    agent.barrier().await;
}

#[tokio::test]
async fn the_recent_contact_keeps_the_buyer_within_24_hours_even_when_suspended() {
    let server = TestServer::start().await;
    let mut a1 = server.agent("a1", "s1").await;
    let mut buyer = server.buyer("b1").await;
    let first = buyer.open("s1", None).await;
    a1.recv_type("session").await;
    a1.say(&first, "r1", "您好").await;
    buyer
        .send(json!({"type": "leave", "session_id": session_id(&first)}))
        .await;
    suspend(&mut a1).await;
    let mut a2 = server.agent("a2", "s1").await;

    server
        .clock
        .advance(TimeDelta::hours(23) + TimeDelta::minutes(59));
    let second = buyer.open("s1", None).await;
    assert_eq!(
        a1.recv_until("session").await["session_id"],
        second["session_id"]
    );
    let decision = explanation(&server, &second).await;
    assert_eq!(decided_by(&decision), "recent_contact");
    assert!(
        decision["steps"][1]["reason"]
            .as_str()
            .expect("reason")
            .contains("a1")
    );
    buyer
        .send(json!({"type": "leave", "session_id": session_id(&second)}))
        .await;

    // Past 24 hours a suspended contact no longer takes the buyer; another agent does.
    server
        .clock
        .advance(TimeDelta::hours(24) + TimeDelta::minutes(2));
    let third = buyer.open("s1", None).await;
    assert_eq!(
        a2.recv_until("session").await["session_id"],
        third["session_id"]
    );
    server.stop().await;
}

#[tokio::test]
async fn an_exclusive_agent_gets_their_buyer() {
    let server = TestServer::start().await;
    configure(&server, json!({"allow_exclusive": true})).await;
    let profile = json!({"exclusive_agent": "a2", "crowds": ["vip"]});
    let (status, _) = server
        .admin("PUT", "/v1/shops/s1/buyers/b1", Some(profile))
        .await;
    assert_eq!(status, 200);
    let _a1 = server.agent("a1", "s1").await;
    let mut a2 = server.agent("a2", "s1").await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    assert_eq!(
        a2.recv_type("session").await["session_id"],
        session["session_id"]
    );
    assert_eq!(
        decided_by(&explanation(&server, &session).await),
        "exclusive"
    );
    server.stop().await;
}

#[tokio::test]
async fn groups_take_buyers_by_the_item_they_came_from() {
    let server = TestServer::start().await;
    configure(
        &server,
        json!({
            "groups": [{"id": "general"}, {"id": "item-a", "items": ["a"]}],
            "agents": [{"agent": "a1", "level": 5, "groups": ["general"]},
                       {"agent": "a2", "level": 1, "groups": ["item-a"]}]
        }),
    )
    .await;
    let _a1 = server.agent("a1", "s1").await;
    let mut a2 = server.agent("a2", "s1").await;
    let mut buyer = server.buyer("b1").await;
    buyer
        .send(json!({"type": "open", "shop_id": "s1", "item_id": "a"}))
        .await;
    let session = buyer.recv_until("session").await;
    assert_eq!(
        a2.recv_type("session").await["session_id"],
        session["session_id"]
    );
    assert_eq!(decided_by(&explanation(&server, &session).await), "groups");
    server.stop().await;
}

#[tokio::test]
async fn with_nobody_online_the_offline_rule_applies() {
    let server = TestServer::start().await;
    configure(
        &server,
        json!({"main_account": "boss", "offline_rule": {"kind": "main_account"}}),
    )
    .await;
    let mut boss = server.agent_offline("boss", "s1").await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    assert_eq!(
        boss.recv_type("session").await["session_id"],
        session["session_id"]
    );
    assert_eq!(decided_by(&explanation(&server, &session).await), "offline");
    server.stop().await;
}

#[tokio::test]
async fn the_robot_answers_and_hands_over_to_a_person_when_asked() {
    let server = TestServer::start().await;
    configure(
        &server,
        json!({"robot_first": true,
               "robot": {"replies": [{"keywords": ["发货"], "reply": "48小时内发货"}]}}),
    )
    .await;
    let mut agent = server.agent("a1", "s1").await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    assert_eq!(session["members"][1]["role"], "robot");
    buyer.say(&session, "q1", "什么时候发货").await;
    let reply = buyer.recv_until("message").await;
    assert_eq!(
        (
            reply["sender"]["role"].clone(),
            reply["body"]["text"].clone()
        ),
        (json!("robot"), json!("48小时内发货"))
    );
    buyer.say(&session, "q2", "转人工").await;
    assert_eq!(
        agent.recv_until("session").await["session_id"],
        session["session_id"]
    );
    assert_eq!(
        buyer.recv_until("member_joined").await["member"]["user"],
        "a1"
    );
    assert_eq!(
        buyer.recv_until("member_left").await["member"]["role"],
        "robot"
    );
    assert_eq!(buyer.recv_until("notice").await["code"], "agent_assigned");
    server.stop().await;
}

#[tokio::test]
async fn agents_transfer_buyers_to_an_agent_or_a_group() {
    let server = TestServer::start().await;
    configure(
        &server,
        json!({"groups": [{"id": "after-sale"}],
               "agents": [{"agent": "a3", "level": 3, "groups": ["after-sale"]}]}),
    )
    .await;
    let mut a1 = server.agent("a1", "s1").await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    a1.recv_type("session").await;
    let mut a2 = server.agent("a2", "s1").await;
    let mut a3 = server.agent("a3", "s1").await;
    let id = session_id(&session);

    a1.send(json!({"type": "transfer", "session_id": id, "to_agent": "a2"}))
        .await;
    assert_eq!(
        a2.recv_until("session").await["session_id"],
        session["session_id"]
    );
    assert_eq!(
        buyer.recv_until("member_joined").await["member"]["user"],
        "a2"
    );
    assert_eq!(
        buyer.recv_until("member_left").await["member"]["user"],
        "a1"
    );
    assert_eq!(buyer.recv_until("notice").await["code"], "agent_assigned");

    a2.send(json!({"type": "transfer", "session_id": id, "to_group": "after-sale"}))
        .await;
    assert_eq!(
        a3.recv_until("session").await["session_id"],
        session["session_id"]
    );
    // Only a member agent may transfer; a bad target is refused.
    a1.send(json!({"type": "transfer", "session_id": id, "to_agent": "a2"}))
        .await;
    assert_eq!(a1.recv_until("error").await["code"], "session_not_found");
    a3.send(json!({"type": "transfer", "session_id": id, "to_group": "nope"}))
        .await;
    assert_eq!(a3.recv_until("error").await["code"], "invalid_message");
    server.stop().await;
}

#[tokio::test]
async fn a_buyer_whose_agent_is_gone_is_routed_again_on_reentry() {
    let server = TestServer::start().await;
    let a1 = server.agent("a1", "s1").await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    a1.close().await;
    let mut a2 = server.agent("a2", "s1").await;
    let again = buyer.open("s1", None).await;
    assert_eq!(again["session_id"], session["session_id"]);
    assert_eq!(
        a2.recv_until("session").await["session_id"],
        session["session_id"]
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_routing_settings_name_the_field() {
    let server = TestServer::start().await;
    let bad = json!({"agents": [{"agent": "a1", "level": 9}]});
    let (status, reply) = server.admin("PUT", "/v1/shops/s1/routing", Some(bad)).await;
    assert_eq!(status, 400);
    assert!(
        reply["error"]["message"]
            .as_str()
            .expect("message")
            .contains("agents[0].level"),
        "{reply}"
    );
    let (status, _) = server
        .admin(
            "PUT",
            "/v1/shops/s1/agents/a1/stats",
            Some(json!({"conversion_rate": 2.0})),
        )
        .await;
    assert_eq!(status, 400);
    server.stop().await;
}
