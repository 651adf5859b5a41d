//! Invite, consent and splice, end to end over real sockets, with every exemption of the
//! shop-side controls while the courier is a member.

use chrono::TimeDelta;
use serde_json::{Value, json};

use logistics_bridge::domain::order::Carrier;
use logistics_bridge::protocol::Role;

use crate::eligibility::{card, logistics_shop};
use crate::support::TestServer;
use crate::support::client::{TestClient, session_id};

/// Buyer b1 and agent a1 of s1 chatting, the order o1 shown, and the courier c1 of ZTO.
struct Scene {
    server: TestServer,
    buyer: TestClient,
    agent: TestClient,
    courier: TestClient,
    session: Value,
}

/// Courier `id` of ZTO, connected and with presence `status`.
pub async fn courier(server: &TestServer, id: &str, status: &str) -> TestClient {
    let token = server.token(Role::Courier, id, None, Some(Carrier::Zto));
    let mut courier = TestClient::connect(&server.ws_url(), &token).await;
    courier.recv_type("welcome").await;
    courier
        .send(json!({"type": "presence", "status": status}))
        .await;
    courier.barrier().await;
    courier
}

async fn scene_with(edit: impl FnOnce(&mut logistics_bridge::config::Config)) -> Scene {
    let server = TestServer::with_config(edit).await;
    logistics_shop(&server).await;
    let courier = courier(&server, "c1", "available").await;
    let mut agent = server.agent("a1", "s1").await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    agent.recv_type("session").await;
    card(&mut buyer, &session, "o1").await;
    Scene {
        server,
        buyer,
        agent,
        courier,
        session,
    }
}

async fn scene() -> Scene {
    scene_with(|_| {}).await
}

/// The buyer complains; returns the invite card message the buyer received.
async fn complain(buyer: &mut TestClient, session: &Value, id: &str) -> Value {
    buyer.say(session, id, "快递显示签收了但我根本没收到").await;
    let invite = buyer.recv_until("message").await;
    assert_eq!(invite["sender"]["role"], "platform", "{invite}");
    assert_eq!(invite["body"]["kind"], "invite");
    invite
}

async fn answer(buyer: &mut TestClient, invite: &Value, accept: bool) -> Value {
    let invite_id = &invite["body"]["invite_id"];
    buyer
        .send(json!({"type": "answer_invite", "invite_id": invite_id, "accept": accept}))
        .await;
    buyer.recv_until_either("invite_answer", "error").await
}

async fn logistics(server: &TestServer, session: &Value) -> Value {
    let path = format!("/v1/sessions/{}/logistics", session_id(session));
    let (status, record) = server.admin("GET", &path, None).await;
    assert_eq!(status, 200, "{record}");
    record
}

fn transitions(record: &Value) -> Vec<String> {
    let splice = &record["splices"][0];
    let list = splice["transitions"].as_array().expect("transitions");
    list.iter()
        .map(|t| t["state"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Accepts and waits until the courier has joined; returns the courier's context card.
async fn splice_in(scene: &mut Scene) -> Value {
    let invite = complain(&mut scene.buyer, &scene.session, "complaint").await;
    assert_eq!(
        answer(&mut scene.buyer, &invite, true).await["accepted"],
        true
    );
    let session = scene.courier.recv_type("session").await;
    assert_eq!(session["session_id"], scene.session["session_id"]);
    scene.courier.recv_type("context").await
}

#[tokio::test]
async fn the_whole_happy_path() {
    let mut s = scene().await;
    let invite = complain(&mut s.buyer, &s.session, "c1").await;
    assert_eq!(invite["body"]["carrier"], "ZTO");
    assert_eq!(invite["body"]["intent"], "signed_not_received");
    assert_eq!(invite["body"]["order_id"], "o1");
    // The shop sees that an invite went out.
    let seen = message_where(&mut s.agent, |m| m["body"]["kind"] == "invite").await;
    assert_eq!(seen["sender"]["role"], "platform");

    let reply = answer(&mut s.buyer, &invite, true).await;
    assert_eq!(reply["accepted"], true);
    let courier_session = s.courier.recv_type("session").await;
    assert_eq!(courier_session["session_id"], s.session["session_id"]);
    let context = s.courier.recv_type("context").await;
    assert_eq!(context["waybill"], "ZT1000");
    assert_eq!(context["order_status"], "shipped");
    assert_eq!(context["intent"], "signed_not_received");
    // Every member hears of the courier; the shop sees it as its own sub-account.
    let joined = s.buyer.recv_until("member_joined").await;
    assert_eq!(joined["member"]["user"], "c1");
    let joined = s.agent.recv_until("member_joined").await;
    assert_eq!(joined["member"]["user"], "s1-zto");
    assert_eq!(joined["member"]["role"], "courier");

    // Messages reach all three.
    let ack = s
        .courier
        .say(&s.session, "k1", "您好，我是中通客服，我来查一下")
        .await;
    assert_eq!(s.buyer.recv_until("message").await["seq"], ack["seq"]);
    let to_shop = s.agent.recv_until("message").await;
    assert_eq!(
        to_shop["sender"]["user"], "s1-zto",
        "the shop never sees the courier's account"
    );
    s.agent.say(&s.session, "a1", "麻烦中通核实").await;
    assert_eq!(
        s.courier.recv_until("message").await["sender"]["role"],
        "agent"
    );

    // The courier leaves: member_left to all, then the evaluation card.
    s.courier
        .send(json!({"type": "leave", "session_id": session_id(&s.session)}))
        .await;
    assert_eq!(
        s.buyer.recv_until("member_left").await["member"]["user"],
        "c1"
    );
    assert_eq!(
        s.agent.recv_until("member_left").await["member"]["user"],
        "s1-zto"
    );
    let card = s.buyer.recv_until("message").await;
    assert_eq!(card["body"]["kind"], "logistics_evaluation");
    let invite_id = card["body"]["invite_id"].clone();
    s.buyer
        .send(json!({"type": "evaluate", "invite_id": invite_id, "score": 5, "comment": "很快"}))
        .await;
    assert_eq!(
        s.buyer.recv_until("evaluated").await["invite_id"],
        invite_id
    );

    let record = logistics(&s.server, &s.session).await;
    assert_eq!(
        transitions(&record),
        [
            "eligible",
            "invited",
            "accepted",
            "joined",
            "left",
            "evaluated"
        ]
    );
    let (_, summary) = s
        .server
        .admin("GET", "/v1/carriers/ZTO/evaluations", None)
        .await;
    assert_eq!(summary["count"], 1, "{summary}");
    assert_eq!(summary["average"], 5.0);
    s.server.stop().await;
}

#[tokio::test]
async fn each_failing_rule_sends_no_invite() {
    // (order status, parcels, shop settings, service-hours shift, text)
    let zto = json!([{"carrier": "ZTO", "waybill": "ZT1"}]);
    let shop_zto = json!({"carriers": [{"carrier": "ZTO", "sub_account": "s1-zto"}]});
    let cases: Vec<(&str, &str, Value, Value, i64, &str)> = vec![
        (
            "not shipped",
            "paid",
            zto.clone(),
            shop_zto.clone(),
            0,
            "快递还没收到",
        ),
        (
            "two parcels",
            "shipped",
            json!([{"carrier": "ZTO", "waybill": "ZT1"}, {"carrier": "ZTO", "waybill": "ZT2"}]),
            shop_zto.clone(),
            0,
            "快递还没收到",
        ),
        (
            "other carrier",
            "shipped",
            json!([{"carrier": "JT", "waybill": "JT1"}]),
            shop_zto.clone(),
            0,
            "快递还没收到",
        ),
        (
            "shop without that carrier",
            "shipped",
            json!([{"carrier": "STO", "waybill": "ST1"}]),
            shop_zto.clone(),
            0,
            "快递还没收到",
        ),
        (
            "shop opted out",
            "shipped",
            zto.clone(),
            json!({"enrollment": "opted_out", "carriers": [{"carrier": "ZTO", "sub_account": "s1-zto"}]}),
            0,
            "快递还没收到",
        ),
        (
            "after hours",
            "shipped",
            zto.clone(),
            shop_zto.clone(),
            11,
            "快递还没收到",
        ),
        (
            "no intent",
            "shipped",
            zto.clone(),
            shop_zto.clone(),
            0,
            "这个衣服有没有大一号的",
        ),
        (
            "no order shown",
            "shipped",
            zto.clone(),
            shop_zto.clone(),
            0,
            "快递还没收到",
        ),
    ];
    for (name, status, parcels, shop, hours, text) in cases {
        let server = TestServer::start().await;
        server
            .admin("PUT", "/v1/shops/s1/logistics", Some(shop))
            .await;
        server.put_order("o1", "b1", "s1", status, parcels).await;
        let mut buyer = server.buyer("b1").await;
        let session = buyer.open("s1", None).await;
        if name != "no order shown" {
            card(&mut buyer, &session, "o1").await;
        }
        server.clock.advance(TimeDelta::hours(hours));
        buyer.say(&session, "c1", text).await;
        buyer.barrier().await;
        let record = logistics(&server, &session).await;
        assert_eq!(record["splices"], json!([]), "{name}");
        let (_, decision) = server
            .admin(
                "GET",
                &format!("/v1/sessions/{}/eligibility", session_id(&session)),
                None,
            )
            .await;
        assert_eq!(decision["eligible"], false, "{name}: {decision}");
        server.stop().await;
    }
}

#[tokio::test]
async fn a_decline_cools_down_and_a_repeated_complaint_does_not_spam() {
    let mut s = scene().await;
    let invite = complain(&mut s.buyer, &s.session, "c1").await;
    assert_eq!(
        answer(&mut s.buyer, &invite, false).await["accepted"],
        false
    );
    s.buyer.say(&s.session, "c2", "快递还是没收到").await;
    s.buyer.barrier().await;
    assert_eq!(
        logistics(&s.server, &s.session).await["splices"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    // After the 30-minute cool-down a complaint invites again.
    s.server.clock.advance(TimeDelta::minutes(30));
    complain(&mut s.buyer, &s.session, "c3").await;
    s.server.stop().await;
}

#[tokio::test]
async fn an_open_invite_is_not_repeated_and_expires() {
    let mut s = scene().await;
    let invite = complain(&mut s.buyer, &s.session, "c1").await;
    s.buyer.say(&s.session, "c2", "我的快递丢了").await;
    s.buyer.barrier().await; // one open invite per session
    s.server.clock.advance(TimeDelta::minutes(10));
    let late = answer(&mut s.buyer, &invite, true).await;
    assert_eq!(late["code"], "invite_expired");
    let record = logistics(&s.server, &s.session).await;
    assert_eq!(transitions(&record), ["eligible", "invited", "expired"]);
    s.server.stop().await;
}

#[tokio::test]
async fn only_the_buyer_answers_and_only_once() {
    let mut s = scene().await;
    let invite = complain(&mut s.buyer, &s.session, "c1").await;
    let invite_id = invite["body"]["invite_id"].clone();
    s.agent
        .send(json!({"type": "answer_invite", "invite_id": invite_id, "accept": true}))
        .await;
    assert_eq!(s.agent.recv_until("error").await["code"], "forbidden");
    let mut stranger = s.server.buyer("b9").await;
    stranger
        .send(json!({"type": "answer_invite", "invite_id": invite_id, "accept": true}))
        .await;
    assert_eq!(
        stranger.recv_type("error").await["code"],
        "invite_not_found"
    );
    assert_eq!(answer(&mut s.buyer, &invite, true).await["accepted"], true);
    assert_eq!(answer(&mut s.buyer, &invite, true).await["accepted"], true);
    // A different second answer gets the first answer's result.
    assert_eq!(answer(&mut s.buyer, &invite, false).await["accepted"], true);
    s.courier.recv_type("session").await;
    let record = logistics(&s.server, &s.session).await;
    assert_eq!(
        transitions(&record),
        ["eligible", "invited", "accepted", "joined"]
    );
    s.server.stop().await;
}

#[tokio::test]
async fn with_every_courier_busy_the_buyer_queues_until_one_frees_up() {
    let mut s = scene().await;
    s.courier
        .send(json!({"type": "presence", "status": "busy"}))
        .await;
    s.courier.barrier().await;
    let invite = complain(&mut s.buyer, &s.session, "c1").await;
    answer(&mut s.buyer, &invite, true).await;
    let queued = s.buyer.recv_until("notice").await;
    assert_eq!(queued["code"], "invite_accepted");
    let queued = s.buyer.recv_until("notice").await;
    assert_eq!(
        (queued["code"].clone(), queued["position"].clone()),
        (json!("courier_queued"), json!(1))
    );
    s.courier
        .send(json!({"type": "presence", "status": "available"}))
        .await;
    assert_eq!(
        s.courier.recv_type("session").await["session_id"],
        s.session["session_id"]
    );
    let record = logistics(&s.server, &s.session).await;
    assert_eq!(
        transitions(&record),
        ["eligible", "invited", "accepted", "queued", "joined"]
    );
    s.server.stop().await;
}

#[tokio::test]
async fn with_no_courier_at_all_the_buyer_is_told_and_the_chat_goes_on() {
    let mut s = scene_with(|c| c.splice.queue_timeout = TimeDelta::milliseconds(200)).await;
    s.courier
        .send(json!({"type": "presence", "status": "offline"}))
        .await;
    s.courier.barrier().await;
    let invite = complain(&mut s.buyer, &s.session, "c1").await;
    answer(&mut s.buyer, &invite, true).await;
    loop {
        let notice = s.buyer.recv_until("notice").await;
        if notice["code"] == "no_courier_available" {
            break;
        }
    }
    let record = logistics(&s.server, &s.session).await;
    assert_eq!(record["splices"][0]["state"], "no_courier");
    s.agent.say(&s.session, "a1", "我们继续帮您处理").await;
    s.server.stop().await;
}

#[tokio::test]
async fn a_courier_that_comes_back_resumes_and_one_gone_for_good_is_replaced() {
    let mut s =
        scene_with(|c| c.splice.courier_return_timeout = TimeDelta::milliseconds(300)).await;
    let context = splice_in(&mut s).await;
    s.courier.say(&s.session, "k1", "我在查").await;
    // Disconnect and come back within the grace: still a member, resume works.
    let token = s
        .server
        .token(Role::Courier, "c1", None, Some(Carrier::Zto));
    let courier = std::mem::replace(
        &mut s.courier,
        TestClient::connect(&s.server.ws_url(), &token).await,
    );
    courier.close().await;
    let welcome = s.courier.recv_type("welcome").await;
    assert_eq!(welcome["sessions"][0], s.session["session_id"]);
    s.courier
        .send(json!({"type": "resume", "session_id": session_id(&s.session), "after_seq": 0}))
        .await;
    let replay = s.courier.recv_type("message").await;
    assert_eq!(
        replay["body"]["text"], "我在查",
        "a courier resumes only what came after it joined"
    );
    s.courier.recv_type("resumed").await;
    // A reloaded courier desk has lost its context card: the resume brings it again, as it
    // was on joining (nothing said since is in it).
    assert_eq!(s.courier.recv_type("context").await, context);
    s.courier.barrier().await;

    // Gone for good: another courier is offered.
    let _c2 = courier_ready(&s.server, "c2").await;
    s.courier.close().await;
    loop {
        let notice = s.buyer.recv_until("notice").await;
        if notice["code"] == "courier_lost" {
            break;
        }
    }
    let joined = s.buyer.recv_until("member_joined").await;
    assert_eq!(joined["member"]["user"], "c2");
    s.server.stop().await;
}

/// Skips frames until a `message` for which `wanted` holds.
async fn message_where(client: &mut TestClient, wanted: impl Fn(&Value) -> bool) -> Value {
    loop {
        let frame = client.recv_until("message").await;
        if wanted(&frame) {
            return frame;
        }
    }
}

async fn courier_ready(server: &TestServer, id: &str) -> TestClient {
    courier(server, id, "available").await
}

#[tokio::test]
async fn the_context_card_masks_phones_and_addresses() {
    let mut s = scene().await;
    s.buyer
        .say(
            &s.session,
            "p1",
            "我电话13812345678，地址是朝阳区建国路88号SOHO现代城5号楼1203室",
        )
        .await;
    let context = splice_in(&mut s).await;
    let texts: Vec<&str> = context["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    let joined = texts.join("\n");
    assert!(!joined.contains("13812345678"), "{joined}");
    assert!(joined.contains("138****5678"), "{joined}");
    assert!(!joined.contains("1203"), "{joined}");
    assert!(
        joined.contains("签收"),
        "the complaint itself is kept: {joined}"
    );
    s.server.stop().await;
}

#[tokio::test]
async fn the_logistics_evaluation_is_answered_once_and_kept_apart_from_the_shop_rating() {
    let mut s = scene().await;
    splice_in(&mut s).await;
    s.courier
        .send(json!({"type": "leave", "session_id": session_id(&s.session)}))
        .await;
    let card = loop {
        let message = s.buyer.recv_until("message").await;
        if message["body"]["kind"] == "logistics_evaluation" {
            break message;
        }
    };
    let invite_id = card["body"]["invite_id"].clone();
    let evaluate = |score: u8| json!({"type": "evaluate", "invite_id": invite_id, "score": score});
    s.buyer.send(evaluate(6)).await;
    assert_eq!(s.buyer.recv_until("error").await["code"], "invalid_message");
    s.buyer.send(evaluate(4)).await;
    s.buyer.recv_until("evaluated").await;
    s.buyer.send(evaluate(1)).await;
    assert_eq!(
        s.buyer.recv_until("error").await["code"],
        "already_answered"
    );
    s.buyer
        .send(json!({"type": "rate_shop", "session_id": session_id(&s.session), "score": 2}))
        .await;
    s.buyer.recv_until("shop_rated").await;
    let (_, summary) = s
        .server
        .admin("GET", "/v1/carriers/ZTO/evaluations", None)
        .await;
    assert_eq!(
        (summary["count"].clone(), summary["average"].clone()),
        (json!(1), json!(4.0))
    );
    let (_, ratings) = s.server.admin("GET", "/v1/shops/s1/ratings", None).await;
    assert_eq!(ratings.as_array().map(Vec::len), Some(1));
    assert_eq!(ratings[0]["score"], 2);
    s.server.stop().await;
}

#[tokio::test]
async fn logistics_sub_accounts_count_against_the_shop_quota() {
    let server = TestServer::start().await;
    let account = json!({"sub_account_quota": 3, "sub_accounts_in_use": 2});
    assert_eq!(
        server
            .admin("PUT", "/v1/shops/s1/account", Some(account))
            .await
            .0,
        200
    );
    let two = json!({"carriers": [{"carrier": "ZTO", "sub_account": "s1-zto"},
                                  {"carrier": "YTO", "sub_account": "s1-yto"}]});
    let (status, reply) = server
        .admin("PUT", "/v1/shops/s1/logistics", Some(two))
        .await;
    assert_eq!(status, 409, "{reply}");
    assert_eq!(reply["error"]["code"], "sub_account_quota_exceeded");
    let one = json!({"carriers": [{"carrier": "ZTO", "sub_account": "s1-zto"}]});
    assert_eq!(
        server
            .admin("PUT", "/v1/shops/s1/logistics", Some(one))
            .await
            .0,
        200
    );
    let full = json!({"sub_account_quota": 2, "sub_accounts_in_use": 2});
    assert_eq!(
        server
            .admin("PUT", "/v1/shops/s1/account", Some(full))
            .await
            .0,
        409
    );
    server.stop().await;
}

// ---- the exemptions of the controls while the courier is a member ----

#[tokio::test]
async fn while_the_courier_is_a_member_no_control_applies_and_after_it_leaves_they_do() {
    let mut s = scene().await;
    splice_in(&mut s).await;
    // Five-message limit: the shop and the courier write freely.
    for index in 0..7 {
        let reply = crate::controls::agent_send(
            &mut s.agent,
            &s.session,
            &format!("a{index}"),
            "正在核实",
            false,
        )
        .await;
        assert_eq!(reply["type"], "ack", "shop message {index}");
    }
    for index in 0..7 {
        s.courier
            .say(&s.session, &format!("k{index}"), "中通正在处理")
            .await;
    }
    // Marketing control: not counted and not refused.
    for index in 0..3 {
        let reply = crate::controls::agent_send(
            &mut s.agent,
            &s.session,
            &format!("m{index}"),
            "领券满减",
            true,
        )
        .await;
        assert_eq!(reply["type"], "ack");
    }
    // Buyer messages: no prompt, no waiting count, no response clock.
    s.buyer.say(&s.session, "b1", "好的谢谢").await;
    let message = loop {
        let frame = s.agent.recv().await;
        assert_ne!(frame["type"], "waiting", "no waiting count while exempt");
        if frame["type"] == "message" && frame["sender"]["role"] == "buyer" {
            break frame;
        }
    };
    assert_eq!(message["prompt"], false);
    let path = "/v1/shops/s1/service-report?from=2026-11-23T00:00:00Z&to=2026-11-24T00:00:00Z";
    let (_, report) = s.server.admin("GET", path, None).await;
    assert_eq!(report["logistics_sessions"][0], s.session["session_id"]);
    // The courier is never a recent contact.
    let contacts = s
        .server
        .store
        .recent_contacts(&"s1".parse().expect("id"), &"b1".parse().expect("id"))
        .await
        .expect("store");
    assert!(contacts.contacts().iter().all(|c| c.agent.as_str() != "c1"));

    // The courier leaves mid-session: the session is ordinary again.
    s.courier
        .send(json!({"type": "leave", "session_id": session_id(&s.session)}))
        .await;
    s.agent.recv_until("member_left").await;
    s.buyer.say(&s.session, "b2", "还在吗").await;
    let message = message_where(&mut s.agent, |m| m["sender"]["role"] == "buyer").await;
    assert_eq!(message["prompt"], true);
    assert_eq!(s.agent.recv_until("waiting").await["buyers_waiting"], 1);
    for index in 0..5 {
        let reply = crate::controls::agent_send(
            &mut s.agent,
            &s.session,
            &format!("z{index}"),
            "在的",
            false,
        )
        .await;
        assert_eq!(reply["type"], "ack");
    }
    let refused = crate::controls::agent_send(&mut s.agent, &s.session, "z5", "在的", false).await;
    assert_eq!(refused["code"], "consecutive_limit");
    s.server.stop().await;
}

#[tokio::test]
async fn a_courier_idle_past_the_limit_is_let_go_and_the_buyer_can_rate() {
    let mut s = scene_with(|c| c.splice.courier_idle_timeout = TimeDelta::milliseconds(300)).await;
    splice_in(&mut s).await;
    assert_eq!(
        s.buyer.recv_until("member_left").await["member"]["user"],
        "c1"
    );
    assert_eq!(
        s.courier.recv_until("member_left").await["member"]["user"],
        "c1"
    );
    let card = message_where(&mut s.buyer, |m| {
        m["body"]["kind"] == "logistics_evaluation"
    })
    .await;
    assert_eq!(card["body"]["carrier"], "ZTO");
    let record = logistics(&s.server, &s.session).await;
    assert_eq!(record["splices"][0]["state"], "left");
    s.server.stop().await;
}

/// Buyers of many shops accepting at the same moment never share a courier beyond its limit:
/// with as many free couriers as buyers and one session each, every courier joins exactly one.
// Two workers, so that the sessions' actors really run at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buyers_accepting_at_once_never_overload_a_courier() {
    const SHOPS: usize = 12;
    let server = TestServer::with_config(|c| c.splice.max_courier_sessions = 1).await;
    let mut couriers = Vec::new();
    for i in 0..SHOPS {
        couriers.push(courier(&server, &format!("c{i}"), "available").await);
    }
    let mut waiting = Vec::new();
    for i in 0..SHOPS {
        waiting.push(complaining_buyer(&server, i).await);
    }
    accept_all(&mut waiting).await;
    let mut joined = std::collections::HashSet::new();
    for courier in &mut couriers {
        let session = courier.recv_type("session").await;
        assert!(
            joined.insert(session_id(&session)),
            "two couriers in {session}"
        );
        courier.recv_type("context").await;
    }
    assert_eq!(joined.len(), SHOPS);
    for courier in &mut couriers {
        courier.barrier().await;
    }
    server.stop().await;
}

#[tokio::test]
async fn a_courier_that_left_is_free_for_the_next_buyer_at_once() {
    // One place per courier: the first join's claim must not outlive the join.
    let server = TestServer::with_config(|c| c.splice.max_courier_sessions = 1).await;
    let mut courier = courier(&server, "c0", "available").await;
    for i in 0..2 {
        let (mut buyer, invite, _agent) = complaining_buyer(&server, i).await;
        assert_eq!(answer(&mut buyer, &invite, true).await["accepted"], true);
        // Skips what the courier heard of its leaving the last session.
        let session = courier.recv_until("session").await;
        assert_eq!(session["session_id"], invite["session_id"], "{session}");
        courier.recv_type("context").await;
        courier
            .send(json!({"type": "leave", "session_id": session_id(&session)}))
            .await;
        buyer.recv_until("member_left").await;
    }
    server.stop().await;
}

/// Shop `s{i}` with ZTO logistics and its agent `a{i}`, and buyer `b{i}` who showed order
/// `o{i}` and complained: the buyer, the invite card it got, and the agent.
pub async fn complaining_buyer(server: &TestServer, i: usize) -> (TestClient, Value, TestClient) {
    let (shop, buyer_id, order) = (format!("s{i}"), format!("b{i}"), format!("o{i}"));
    let settings = json!({"carriers": [{"carrier": "ZTO", "sub_account": format!("{shop}-zto")}]});
    let path = format!("/v1/shops/{shop}/logistics");
    let (status, reply) = server.admin("PUT", &path, Some(settings)).await;
    assert_eq!(status, 200, "{reply}");
    let parcels = json!([{"carrier": "ZTO", "waybill": format!("ZT{i}")}]);
    server
        .put_order(&order, &buyer_id, &shop, "shipped", parcels)
        .await;
    let mut agent = server.agent(&format!("a{i}"), &shop).await;
    let mut buyer = server.buyer(&buyer_id).await;
    let session = buyer.open(&shop, None).await;
    agent.recv_type("session").await;
    card(&mut buyer, &session, &order).await;
    let invite = complain(&mut buyer, &session, "complaint").await;
    (buyer, invite, agent)
}

/// Every buyer's acceptance goes on the wire before any answer is read back.
pub async fn accept_all(buyers: &mut [(TestClient, Value, TestClient)]) {
    for (buyer, invite, _) in buyers {
        let invite_id = &invite["body"]["invite_id"];
        buyer
            .send(json!({"type": "answer_invite", "invite_id": invite_id, "accept": true}))
            .await;
    }
}
