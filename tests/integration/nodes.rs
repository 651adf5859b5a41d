//! Several hub nodes on one Redis: the splice across nodes, a node killed under load, presence
//! across nodes (a node killed takes its agents offline), and Redis restarted with and without
//! persistence. Real Redis servers, real hub processes for the kill.

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use logistics_bridge::protocol::Role;
use logistics_bridge::store::{RedisStore, Store};

use crate::support::client::{TestClient, session_id, try_connect};
use crate::support::redis::RedisServer;
use crate::support::{TestServer, test_config};

async fn node(redis: &RedisServer) -> TestServer {
    node_with(redis, |_| {}).await
}

async fn node_with(
    redis: &RedisServer,
    edit: impl FnOnce(&mut logistics_bridge::config::Config),
) -> TestServer {
    let mut config = test_config();
    edit(&mut config);
    let store = RedisStore::connect(&redis.url(), config.history.retained_messages).await;
    let store: Arc<dyn Store> = Arc::new(store.expect("connect"));
    TestServer::with_store(config, store).await
}

fn send(session: &Value, client_msg_id: &str, text: &str) -> Value {
    json!({"type": "send", "session_id": session_id(session), "client_msg_id": client_msg_id,
           "body": {"kind": "text", "text": text}})
}

/// Seqs of `message` frames until `count` distinct ones arrived (duplicates removed by seq).
async fn collect(client: &mut TestClient, seen: &mut BTreeSet<u64>, count: usize) {
    while seen.len() < count {
        let frame = client.recv().await;
        if frame["type"] == "message" {
            seen.insert(frame["seq"].as_u64().expect("seq"));
        }
    }
}

#[tokio::test]
async fn the_whole_splice_works_across_nodes() {
    let redis = RedisServer::start();
    let (one, two) = (node(&redis).await, node(&redis).await);
    crate::eligibility::logistics_shop(&one).await;
    let mut courier = crate::splice::courier(&two, "c1", "available").await;
    let mut agent = two.agent("a1", "s1").await;
    let mut buyer = one.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    assert_eq!(
        agent.recv_until("session").await["session_id"],
        session["session_id"]
    );

    crate::eligibility::card(&mut buyer, &session, "o1").await;
    buyer
        .say(&session, "c1", "快递显示签收了但我根本没收到")
        .await;
    let invite = buyer.recv_until("message").await;
    assert_eq!(invite["body"]["kind"], "invite");
    // The agent on the other node sees the complaint (prompted) and the invite.
    let complaint = loop {
        let frame = agent.recv_until("message").await;
        if frame["body"]["kind"] == "text" {
            break frame;
        }
    };
    assert_eq!(complaint["prompt"], true);
    let invite_id = invite["body"]["invite_id"].clone();
    buyer
        .send(json!({"type": "answer_invite", "invite_id": invite_id, "accept": true}))
        .await;
    assert_eq!(buyer.recv_until("invite_answer").await["accepted"], true);
    assert_eq!(
        courier.recv_until("session").await["session_id"],
        session["session_id"]
    );
    assert_eq!(courier.recv_until("context").await["waybill"], "ZT1000");
    assert_eq!(
        agent.recv_until("member_joined").await["member"]["user"],
        "s1-zto"
    );

    // Messages cross nodes both ways.
    let ack = courier.say(&session, "k1", "中通客服为您服务").await;
    let heard = buyer.recv_until("message").await;
    assert_eq!(
        (heard["seq"].clone(), heard["sender"]["role"].clone()),
        (ack["seq"].clone(), json!("courier"))
    );
    let ack = buyer.say(&session, "c2", "谢谢").await;
    let heard = loop {
        let frame = courier.recv_until("message").await;
        if frame["sender"]["role"] == "buyer" {
            break frame;
        }
    };
    assert_eq!(heard["seq"], ack["seq"]);
    courier
        .send(json!({"type": "leave", "session_id": session_id(&session)}))
        .await;
    let card = loop {
        let frame = buyer.recv_until("message").await;
        if frame["body"]["kind"] == "logistics_evaluation" {
            break frame;
        }
    };
    buyer
        .send(json!({"type": "evaluate", "invite_id": card["body"]["invite_id"], "score": 5}))
        .await;
    buyer.recv_until("evaluated").await;
    one.stop().await;
    two.stop().await;
}

/// A hub process on `port`, sharing `redis`.
fn spawn_node(redis: &RedisServer, port: u16) -> Child {
    spawn_node_with(redis, port, &[])
}

/// A hub process with more environment overrides (`LB_<SECTION>__<KEY>`).
fn spawn_node_with(redis: &RedisServer, port: u16, env: &[(&str, &str)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_logistics-bridge"))
        .envs(env.iter().copied())
        .args(["--config", "/nonexistent/config.toml", "serve"])
        .env("LB_SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("LB_STORE__KIND", "redis")
        .env("LB_STORE__REDIS_URL", redis.url())
        .env("LB_AUTH__SECRET", test_config().auth.secret)
        .env("LB_LIMITS__CONNECTION_BURST", "100000")
        .env("LB_LIMITS__CONNECTION_PER_SECOND", "100000")
        .env("LB_LIMITS__USER_BURST", "100000")
        .env("LB_LIMITS__USER_PER_SECOND", "100000")
        .env("LB_CONTROLS__CONSECUTIVE_LIMIT", "1000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("hub process starts")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

async fn connect_when_up(port: u16, token: &str) -> TestClient {
    let url = format!("ws://127.0.0.1:{port}/ws");
    for _ in 0..200 {
        if let Ok(mut client) = try_connect(&url, Some(token), None).await {
            client.recv_type("welcome").await;
            return client;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("node on {port} did not come up");
}

#[tokio::test]
async fn a_node_killed_under_load_loses_no_acknowledged_message() {
    let redis = RedisServer::start();
    let (port_one, port_two) = (free_port(), free_port());
    let mut one = spawn_node(&redis, port_one);
    let mut two = spawn_node(&redis, port_two);
    let tokens = TestServer::start().await; // only to mint tokens with the shared secret
    let agent_token = tokens.token(Role::Agent, "a1", Some("s1"), None);
    let buyer_token = tokens.token(Role::Buyer, "b1", None, None);
    let mut agent = connect_when_up(port_two, &agent_token).await;
    agent
        .send(json!({"type": "presence", "status": "online"}))
        .await;
    agent.barrier().await;
    let mut buyer = connect_when_up(port_one, &buyer_token).await;
    let session = buyer.open("s1", None).await;
    agent.recv_until("session").await;

    // Open loop: 300 sends go out at once; node one is killed after the first 100 acks.
    let total = 300usize;
    for index in 0..total {
        buyer.send(send(&session, &format!("m{index}"), "x")).await;
    }
    let mut acked = BTreeSet::new();
    while acked.len() < 100 {
        let frame = buyer.recv().await;
        if frame["type"] == "ack" {
            acked.insert(frame["seq"].as_u64().expect("seq"));
        }
    }
    one.kill().expect("kill -9");
    let _ = one.wait();
    // Whatever else the dying node acknowledged reached the socket before it died.
    while let Some(frame) = buyer.try_recv_for(Duration::from_millis(300)).await {
        if frame["type"] == "ack" {
            acked.insert(frame["seq"].as_u64().expect("seq"));
        }
    }

    // The buyer reconnects to node two and resends what was not acknowledged.
    let mut buyer = connect_when_up(port_two, &buyer_token).await;
    for index in 0..total {
        buyer.send(send(&session, &format!("m{index}"), "x")).await;
    }
    let mut all_acked = acked.clone();
    while all_acked.len() < total {
        let frame = buyer.recv_until("ack").await;
        all_acked.insert(frame["seq"].as_u64().expect("seq"));
    }
    assert_eq!(
        all_acked,
        (1..=total as u64).collect(),
        "one seq per client_msg_id, no gap"
    );

    // The agent got every acknowledged message live; duplicates are removed by seq.
    let mut seen = BTreeSet::new();
    collect(&mut agent, &mut seen, total).await;
    assert!(acked.is_subset(&seen));
    assert_eq!(seen, (1..=total as u64).collect());
    let _ = two.kill();
    let _ = two.wait();
}

async fn acked_before_restart(
    mut redis: RedisServer,
) -> (RedisServer, TestServer, Value, BTreeSet<u64>) {
    let hub = node(&redis).await;
    let mut buyer = hub.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    for index in 0..50 {
        buyer.send(send(&session, &format!("m{index}"), "x")).await;
    }
    let mut acked = BTreeSet::new();
    while acked.len() < 20 {
        let frame = buyer.recv().await;
        if frame["type"] == "ack" {
            acked.insert(frame["seq"].as_u64().expect("seq"));
        }
    }
    redis.kill();
    while let Some(frame) = buyer.try_recv_for(Duration::from_millis(500)).await {
        if frame["type"] == "ack" {
            acked.insert(frame["seq"].as_u64().expect("seq"));
        }
    }
    redis.restart();
    (redis, hub, session, acked)
}

/// Sends `resume` until Redis answers (the first calls after a restart may be `unavailable`);
/// returns the replayed seqs and the `resumed` frame.
async fn resume(buyer: &mut TestClient, session: &Value, after_seq: u64) -> (BTreeSet<u64>, Value) {
    for _ in 0..100 {
        buyer.send(json!({"type": "resume", "session_id": session_id(session), "after_seq": after_seq})).await;
        let mut replayed = BTreeSet::new();
        loop {
            let frame = buyer.recv().await;
            match frame["type"].as_str() {
                Some("message") => {
                    replayed.insert(frame["seq"].as_u64().expect("seq"));
                }
                Some("resumed") => return (replayed, frame),
                Some("error") if frame["code"] == "unavailable" => break,
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("redis never came back");
}

#[tokio::test]
async fn with_append_only_redis_a_restart_loses_nothing_acknowledged() {
    let redis = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let (_redis, hub, session, acked) = acked_before_restart(redis).await;
    let mut buyer = hub.buyer("b1").await;
    let (stored, resumed) = resume(&mut buyer, &session, 0).await;
    assert_eq!(resumed["recovered"], true);
    assert!(
        acked.is_subset(&stored),
        "acked {acked:?} but stored {stored:?}"
    );
    hub.stop().await;
}

#[tokio::test]
async fn with_a_redis_that_kept_nothing_every_resume_says_not_recovered() {
    let redis = RedisServer::start();
    let (_redis, hub, session, acked) = acked_before_restart(redis).await;
    assert!(!acked.is_empty());
    let mut buyer = hub.buyer("b1").await;
    for after_seq in [5, *acked.last().expect("some")] {
        let (replayed, resumed) = resume(&mut buyer, &session, after_seq).await;
        assert_eq!(resumed["recovered"], false, "after {after_seq}");
        assert!(replayed.is_empty());
    }
    // Sending into the lost session does not silently start it over either.
    buyer.send(send(&session, "late", "还在吗")).await;
    assert_eq!(buyer.recv_until("error").await["code"], "session_not_found");
    hub.stop().await;
}

/// Buyers on two nodes accepting at once, and one courier with room for one session: the
/// courier's place is claimed in Redis, so exactly one buyer gets it and the other queues.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_never_both_take_a_couriers_last_place() {
    let redis = RedisServer::start();
    let one_place = |c: &mut logistics_bridge::config::Config| c.splice.max_courier_sessions = 1;
    let nodes = [
        node_with(&redis, one_place).await,
        node_with(&redis, one_place).await,
    ];
    let mut courier = crate::splice::courier(&nodes[0], "c1", "available").await;
    let mut buyers = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        buyers.push(crate::splice::complaining_buyer(node, i).await);
    }
    crate::splice::accept_all(&mut buyers).await;
    courier.recv_type("session").await;
    courier.recv_type("context").await;
    courier.barrier().await;
    let mut queued = 0;
    for (buyer, _, _) in &mut buyers {
        loop {
            let frame = buyer.recv().await;
            match (frame["type"].as_str(), frame["code"].as_str()) {
                (Some("notice"), Some("courier_queued")) => queued += 1,
                (Some("member_joined"), _) if frame["member"]["role"] == "courier" => {}
                _ => continue,
            }
            break;
        }
    }
    assert_eq!(queued, 1, "one buyer gets the courier, the other queues");
    for node in nodes {
        node.stop().await;
    }
}

async fn agent_status(store: &Arc<dyn Store>, agent: &str) -> Option<String> {
    let agents = store
        .agents(&"s1".parse().expect("id"))
        .await
        .expect("agents");
    agents
        .into_iter()
        .find(|record| record.agent.as_str() == agent)
        .map(|record| format!("{:?}", record.status))
}

/// Polls until `agent`'s stored presence reads `status` (10 s at most).
async fn wait_for_status(store: &Arc<dyn Store>, agent: &str, status: &str) {
    for _ in 0..500 {
        if agent_status(store, agent).await.as_deref() == Some(status) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{agent} never became {status}");
}

/// How many nodes hold a connection of `user`, read from Redis itself.
async fn nodes_holding(redis: &RedisServer, user: &str) -> usize {
    let client = redis::Client::open(redis.url()).expect("url");
    let mut raw = client
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection");
    let key = format!("lb:{{user:{user}}}:nodes");
    redis::cmd("SCARD")
        .arg(key)
        .query_async(&mut raw)
        .await
        .expect("SCARD")
}

/// An agent connected to two nodes stays online while either connection lives.
#[tokio::test]
async fn an_agent_on_two_nodes_is_offline_only_when_both_connections_close() {
    let redis = RedisServer::start();
    let (one, two) = (node(&redis).await, node(&redis).await);
    let token = one.token(Role::Agent, "a1", Some("s1"), None);
    let mut on_one = TestClient::connect(&one.ws_url(), &token).await;
    on_one.recv_type("welcome").await;
    let mut on_two = TestClient::connect(&two.ws_url(), &token).await;
    on_two.recv_type("welcome").await;
    on_one
        .send(json!({"type": "presence", "status": "online"}))
        .await;
    on_one.barrier().await;
    assert_eq!(nodes_holding(&redis, "a1").await, 2);

    on_one.close().await;
    for _ in 0..500 {
        if nodes_holding(&redis, "a1").await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(nodes_holding(&redis, "a1").await, 1, "node one let go");
    assert_eq!(
        agent_status(&one.store, "a1").await.as_deref(),
        Some("Online")
    );
    // Routing on node one still hands a buyer to the agent connected to node two.
    let mut buyer = one.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    on_two.recv_until("session").await;
    assert!(
        session["members"].to_string().contains("\"a1\""),
        "{session}"
    );

    on_two.close().await;
    wait_for_status(&one.store, "a1", "Offline").await;
    one.stop().await;
    two.stop().await;
}

/// A node killed with an agent on it: within `node_timeout` and a beat, another node takes the
/// agent offline, so routing stops handing buyers to someone nobody can reach.
#[tokio::test]
async fn a_killed_nodes_agents_go_offline() {
    let redis = RedisServer::start();
    let port = free_port();
    let timeout = [("LB_SERVER__NODE_TIMEOUT", "1s")];
    let mut one = spawn_node_with(&redis, port, &timeout);
    let two = node_with(&redis, |c| c.server.node_timeout = Duration::from_secs(1)).await;
    let token = two.token(Role::Agent, "a1", Some("s1"), None);
    let mut agent = connect_when_up(port, &token).await;
    agent
        .send(json!({"type": "presence", "status": "online"}))
        .await;
    agent.barrier().await;
    assert_eq!(
        agent_status(&two.store, "a1").await.as_deref(),
        Some("Online")
    );

    one.kill().expect("kill -9");
    let _ = one.wait();
    wait_for_status(&two.store, "a1", "Offline").await;
    assert_eq!(nodes_holding(&redis, "a1").await, 0);
    two.stop().await;
}

/// A node that other nodes took for dead while it was only late (here: a node whose clock runs
/// a minute ahead beats) holds its agents again on its next beat and writes back their presence.
#[tokio::test]
async fn a_node_taken_for_dead_while_alive_restores_its_agents() {
    let redis = RedisServer::start();
    let one = node_with(&redis, |c| c.server.node_timeout = Duration::from_secs(1)).await;
    let _agent = one.agent("a1", "s1").await;
    assert_eq!(
        agent_status(&one.store, "a1").await.as_deref(),
        Some("Online")
    );

    let ahead = chrono::Utc::now() + chrono::TimeDelta::seconds(60);
    let until = ahead + chrono::TimeDelta::seconds(15);
    let beat = one.store.beat(uuid::Uuid::new_v4(), ahead, until).await;
    let offline = beat.expect("beat").offline;
    assert_eq!(offline.len(), 1, "{offline:?}");
    assert_eq!(
        agent_status(&one.store, "a1").await.as_deref(),
        Some("Offline")
    );

    wait_for_status(&one.store, "a1", "Online").await;
    assert_eq!(nodes_holding(&redis, "a1").await, 1);
    one.stop().await;
}

/// An agent that connected while Redis was down is held by this node once Redis is back: the
/// next beat that reaches it holds everyone connected here again.
#[tokio::test]
async fn a_hold_lost_to_an_outage_is_made_by_a_later_beat() {
    let mut redis = RedisServer::start();
    let one = node_with(&redis, |c| c.server.node_timeout = Duration::from_secs(1)).await;
    redis.kill();
    let _agent = one.agent_offline("a1", "s1").await;
    redis.restart();
    for _ in 0..500 {
        if nodes_holding(&redis, "a1").await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(nodes_holding(&redis, "a1").await, 1);
    one.stop().await;
}

/// A hold that fails on a beat that reached Redis (here: the user's key holds the wrong type,
/// so the hold script errors) is tried again on the beats after, not only once.
#[tokio::test]
async fn a_hold_that_fails_again_on_a_beat_is_tried_on_the_next() {
    let redis = RedisServer::start();
    let one = node_with(&redis, |c| c.server.node_timeout = Duration::from_secs(1)).await;
    let client = redis::Client::open(redis.url()).expect("url");
    let mut raw = client
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection");
    let key = "lb:{user:a1}:nodes";
    redis::cmd("SET")
        .arg(key)
        .arg("not a set")
        .query_async::<()>(&mut raw)
        .await
        .expect("SET");
    let _agent = one.agent_offline("a1", "s1").await;
    // The hold on connect failed; so do the ones the next beats make (a beat every 333 ms).
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let kind: String = redis::cmd("TYPE")
        .arg(key)
        .query_async(&mut raw)
        .await
        .expect("TYPE");
    assert_eq!(kind, "string", "nothing wrote over the broken key");
    redis::cmd("DEL")
        .arg(key)
        .query_async::<()>(&mut raw)
        .await
        .expect("DEL");
    for _ in 0..250 {
        if nodes_holding(&redis, "a1").await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(nodes_holding(&redis, "a1").await, 1, "a later beat held a1");
    one.stop().await;
}
