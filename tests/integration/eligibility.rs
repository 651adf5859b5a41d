//! Every buyer text in a two-party session gets an eligibility decision, explained.

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::support::client::{TestClient, session_id};
use crate::support::{TestServer, service_time};

/// A shop that chose ZTO, an agent online, a shipped order with one ZTO parcel.
pub async fn logistics_shop(server: &TestServer) {
    let settings = json!({"carriers": [{"carrier": "ZTO", "sub_account": "s1-zto"}]});
    let (status, reply) = server
        .admin("PUT", "/v1/shops/s1/logistics", Some(settings))
        .await;
    assert_eq!(status, 200, "{reply}");
    let parcels = json!([{"carrier": "ZTO", "waybill": "ZT1000"}]);
    server.put_order("o1", "b1", "s1", "shipped", parcels).await;
}

pub async fn card(buyer: &mut TestClient, session: &Value, order: &str) {
    buyer
        .send(json!({"type": "send", "session_id": session_id(session), "client_msg_id": format!("card-{order}"),
                     "body": {"kind": "order_card", "order_id": order}}))
        .await;
    buyer.recv_type("ack").await;
}

async fn decision_of(server: &TestServer, session: &Value) -> (u16, Value) {
    let path = format!("/v1/sessions/{}/eligibility", session_id(session));
    server.admin("GET", &path, None).await
}

fn check<'a>(decision: &'a Value, name: &str) -> &'a Value {
    let checks = decision["checks"].as_array().expect("checks");
    checks
        .iter()
        .find(|c| c["name"] == name)
        .expect("check present")
}

#[tokio::test]
async fn a_qualifying_complaint_is_eligible_with_every_check_explained() {
    let server = TestServer::start().await;
    logistics_shop(&server).await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    assert_eq!(
        decision_of(&server, &session).await.0,
        404,
        "no decision before a buyer text"
    );
    card(&mut buyer, &session, "o1").await;
    buyer
        .say(&session, "c1", "快递一直没收到，都一个星期了")
        .await;
    let (status, decision) = decision_of(&server, &session).await;
    assert_eq!(status, 200);
    assert_eq!(decision["eligible"], true, "{decision}");
    assert_eq!(decision["intent"], "not_received");
    assert_eq!(decision["carrier"], "ZTO");
    assert_eq!(decision["order_id"], "o1");
    assert_eq!(decision["checks"].as_array().expect("checks").len(), 7);
    server.stop().await;
}

#[tokio::test]
async fn without_a_shown_order_the_decision_says_so() {
    let server = TestServer::start().await;
    logistics_shop(&server).await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    buyer
        .say(&session, "c1", "快递显示签收了但是我根本没收到")
        .await;
    let (_, decision) = decision_of(&server, &session).await;
    assert_eq!(decision["eligible"], false);
    assert_eq!(check(&decision, "explicit_order")["passed"], false);
    assert_eq!(check(&decision, "intent")["passed"], true);
    assert_eq!(decision["intent"], "signed_not_received");
    server.stop().await;
}

#[tokio::test]
async fn the_entry_order_counts_and_a_menu_intent_counts_as_the_buyers() {
    let server = TestServer::start().await;
    logistics_shop(&server).await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", Some("o1")).await;
    assert_eq!(session["entry_order_id"], "o1");
    buyer
        .send(
            json!({"type": "send", "session_id": session_id(&session), "client_msg_id": "m",
                     "body": {"kind": "text", "text": "hi"}, "intent": "lost_parcel"}),
        )
        .await;
    buyer.recv_type("ack").await;
    let (_, decision) = decision_of(&server, &session).await;
    assert_eq!(decision["eligible"], true, "{decision}");
    assert_eq!(decision["intent"], "lost_parcel");
    server.stop().await;
}

#[tokio::test]
async fn pre_sale_questions_and_after_hours_complaints_are_not_eligible() {
    let server = TestServer::start().await;
    logistics_shop(&server).await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", Some("o1")).await;
    buyer.say(&session, "c1", "什么时候发货呀").await;
    let (_, decision) = decision_of(&server, &session).await;
    assert_eq!(check(&decision, "intent")["passed"], false);
    // 21:00:00 in Shanghai is outside service hours.
    server.clock.set(service_time() + TimeDelta::hours(11));
    buyer.say(&session, "c2", "我的包裹丢了").await;
    let (_, decision) = decision_of(&server, &session).await;
    assert_eq!(check(&decision, "service_hours")["passed"], false);
    assert_eq!(check(&decision, "intent")["passed"], true);
    server.stop().await;
}

#[tokio::test]
async fn shop_settings_are_validated_and_read_back() {
    let server = TestServer::start().await;
    let twice = json!({"carriers": [{"carrier": "ZTO", "sub_account": "x1"},
                                    {"carrier": "ZTO", "sub_account": "x2"}]});
    let (status, reply) = server
        .admin("PUT", "/v1/shops/s1/logistics", Some(twice))
        .await;
    assert_eq!(status, 400);
    assert!(
        reply["error"]["message"]
            .as_str()
            .expect("message")
            .contains("carriers[1].carrier")
    );
    let unknown = json!({"enrollment": "maybe"});
    let (status, reply) = server
        .admin("PUT", "/v1/shops/s1/logistics", Some(unknown))
        .await;
    assert_eq!(status, 400);
    assert!(
        reply["error"]["message"]
            .as_str()
            .expect("message")
            .contains("enrollment")
    );
    let (status, reply) = server.admin("GET", "/v1/shops/s1/logistics", None).await;
    assert_eq!((status, &reply["enrollment"]), (200, &json!("rollout")));
    server.stop().await;
}
