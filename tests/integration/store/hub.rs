//! The hub over Redis (issue 7): two nodes share one Redis, and an outage gives `unavailable`
//! without an ack until Redis is back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use logistics_bridge::protocol::Role;
use logistics_bridge::store::{RedisStore, Store};

use crate::support::client::{TestClient, session_id};
use crate::support::redis::RedisServer;
use crate::support::{TestServer, test_config};

async fn node(redis: &RedisServer) -> TestServer {
    let config = test_config();
    let retained = config.history.retained_messages;
    let store = RedisStore::connect(&redis.url(), retained)
        .await
        .expect("connect");
    let store: Arc<dyn Store> = Arc::new(store);
    TestServer::with_store(config, store).await
}

fn send(session: &Value, client_msg_id: &str, text: &str) -> Value {
    json!({
        "type": "send", "session_id": session_id(session), "client_msg_id": client_msg_id,
        "body": {"kind": "text", "text": text}
    })
}

#[tokio::test]
async fn a_buyer_resumes_on_another_node() {
    let redis = RedisServer::start();
    let (first, second) = (node(&redis).await, node(&redis).await);
    let mut buyer = first.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    for index in 1..=3 {
        let ack = buyer
            .say(&session, &format!("c{index}"), "快递还没到")
            .await;
        assert_eq!(ack["seq"], index);
    }
    buyer.close().await;

    let token = second.token(Role::Buyer, "b1", None, None);
    let mut again = TestClient::connect(&second.ws_url(), &token).await;
    let welcome = again.recv_type("welcome").await;
    assert_eq!(welcome["sessions"], json!([session_id(&session)]));
    again
        .send(json!({"type": "resume", "session_id": session_id(&session), "after_seq": 1}))
        .await;
    for seq in 2..=3 {
        assert_eq!(again.recv_type("message").await["seq"], seq);
    }
    let resumed = again.recv_type("resumed").await;
    assert_eq!(
        (resumed["recovered"].clone(), resumed["last_seq"].clone()),
        (json!(true), json!(3))
    );
    let ack = again.say(&session, "c4", "还在吗").await;
    assert_eq!(ack["seq"], 4, "the seq goes on from the other node's");
    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn a_send_during_an_outage_is_unavailable_and_not_acked() {
    let mut redis = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let server = node(&redis).await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    assert_eq!(buyer.say(&session, "c1", "在吗").await["seq"], 1);

    redis.kill();
    buyer.send(send(&session, "c2", "快递还没到")).await;
    let reply = buyer.recv_until_either("error", "ack").await;
    assert_eq!(
        reply["type"], "error",
        "no ack while Redis is down: {reply}"
    );
    assert_eq!(reply["code"], "unavailable");

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    let ack = loop {
        buyer.send(send(&session, "c2", "快递还没到")).await;
        let reply = buyer.recv_until_either("error", "ack").await;
        if reply["type"] == "ack" {
            break reply;
        }
        assert_eq!(reply["code"], "unavailable", "{reply}");
        assert!(Instant::now() < deadline, "the hub did not recover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(ack["seq"], 2);
    server.stop().await;
}
