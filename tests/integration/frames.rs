//! Bad frames, size limits, rate limits and slow readers.

use futures_util::StreamExt;
use serde_json::json;

use crate::support::TestServer;
use crate::support::client::session_id;

#[tokio::test]
async fn bad_frames_get_typed_errors_and_the_connection_stays_usable() {
    let server = TestServer::start().await;
    let mut buyer = server.buyer("b1").await;
    let cases = [
        ("{not json", "malformed_frame", None),
        (r#"{"type":"dance"}"#, "malformed_frame", None),
        (r#"[1,2]"#, "malformed_frame", None),
        (
            r#"{"type":"open","shop_id":"s1","extra":1,"request_id":"q1"}"#,
            "invalid_message",
            Some("open"),
        ),
        (
            r#"{"type":"open","shop_id":42}"#,
            "invalid_message",
            Some("open"),
        ),
        (
            r#"{"type":"resume","session_id":"not-a-uuid","after_seq":0}"#,
            "invalid_message",
            Some("resume"),
        ),
        (
            r#"{"type":"open","shop_id":"bad id with spaces"}"#,
            "invalid_message",
            Some("open"),
        ),
    ];
    for (raw, code, request_type) in cases {
        buyer.send_raw(raw).await;
        let error = buyer.recv_type("error").await;
        assert_eq!(error["code"], code, "{raw}: {error}");
        if let Some(kind) = request_type {
            assert_eq!(error["request_type"], kind, "{raw}");
        }
    }
    let session = buyer.open("s1", None).await;
    let empty = json!({"type": "send", "session_id": session_id(&session), "client_msg_id": "e",
                       "body": {"kind": "text", "text": "   "}});
    buyer.send(empty).await;
    assert_eq!(buyer.recv_type("error").await["code"], "invalid_message");
    assert_eq!(buyer.say(&session, "ok", "still works").await["seq"], 1);
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_keeps_sending_garbage_is_closed_with_4002() {
    let server = TestServer::with_config(|c| c.server.max_bad_frames = 3).await;
    let mut buyer = server.buyer("b1").await;
    for _ in 0..3 {
        buyer.send_raw("garbage").await;
    }
    assert_eq!(buyer.closed_with().await, 4002);
    server.stop().await;
}

#[tokio::test]
async fn binary_frames_close_with_4003() {
    let server = TestServer::start().await;
    let mut buyer = server.buyer("b1").await;
    buyer.send_binary(vec![1, 2, 3]).await;
    assert_eq!(buyer.closed_with().await, 4003);
    server.stop().await;
}

#[tokio::test]
async fn oversize_frames_close_with_1009() {
    let server = TestServer::with_config(|c| c.server.max_message_bytes = 4096).await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    let big = json!({"type": "send", "session_id": session_id(&session), "client_msg_id": "big",
                     "body": {"kind": "text", "text": "x".repeat(5000)}});
    buyer.send(big).await;
    assert_eq!(buyer.closed_with().await, 1009);
    // Nothing was stored.
    let mut again = server.buyer("b1").await;
    again
        .send(json!({"type": "resume", "session_id": session_id(&session), "after_seq": 0}))
        .await;
    assert_eq!(again.recv_type("resumed").await["last_seq"], 0);
    server.stop().await;
}

#[tokio::test]
async fn frames_over_the_rate_limit_are_refused_and_not_stored() {
    let server = TestServer::with_config(|c| {
        c.limits.connection_burst = 3.try_into().expect("non-zero");
        c.limits.connection_per_second = 1.try_into().expect("non-zero");
    })
    .await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await; // frame 1
    let id = session_id(&session);
    buyer.say(&session, "c1", "one").await; // frame 2
    buyer.say(&session, "c2", "two").await; // frame 3
    buyer
        .send(
            json!({"type": "send", "session_id": id, "client_msg_id": "c3",
                     "body": {"kind": "text", "text": "three"}, "request_id": "r3"}),
        )
        .await;
    let error = buyer.recv_type("error").await;
    assert_eq!(error["code"], "rate_limited");
    assert_eq!(error["request_id"], "r3");
    // The per-user limit spans connections.
    let server2 = TestServer::with_config(|c| {
        c.limits.user_burst = 2.try_into().expect("non-zero");
        c.limits.user_per_second = 1.try_into().expect("non-zero");
    })
    .await;
    let mut phone = server2.buyer("b1").await;
    let mut laptop = server2.buyer("b1").await;
    phone.open("s1", None).await;
    laptop.open("s1", None).await;
    phone.send(json!({"type": "open", "shop_id": "s1"})).await;
    assert_eq!(phone.recv_type("error").await["code"], "rate_limited");
    server.stop().await;
    server2.stop().await;
}

#[tokio::test]
async fn a_slow_reader_is_closed_with_4001_and_resumes_without_a_gap() {
    let server = TestServer::with_config(|c| {
        c.server.outbox_capacity = 8;
        c.server.max_message_bytes = 1 << 20;
        c.controls.consecutive_limit = 100_000;
    })
    .await;
    let mut agent = server.agent("a1", "s1").await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    agent.recv_type("session").await;
    let id = session_id(&session);
    // The buyer stops reading; the agent writes far more than socket buffers hold.
    // 4,900 three-byte characters: about 15 KB a message, 15 MB in all.
    let text = "字".repeat(4900);
    let sent = 1000u64;
    for index in 0..sent {
        agent
            .send(
                json!({"type": "send", "session_id": id, "client_msg_id": format!("a{index}"),
                         "body": {"kind": "text", "text": text}}),
            )
            .await;
        agent.recv_type("ack").await;
    }
    // Everything the buyer had before the close, then the 4001 close itself.
    let mut last_seen = 0u64;
    loop {
        let next = tokio::time::timeout(std::time::Duration::from_secs(10), buyer.socket().next())
            .await
            .expect("frames or a close");
        match next {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) => {
                let value: serde_json::Value = serde_json::from_str(&text).expect("json");
                if value["type"] == "message" {
                    let seq = value["seq"].as_u64().expect("seq");
                    assert_eq!(seq, last_seen + 1, "no gap before the close");
                    last_seen = seq;
                }
            }
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), 4001);
                break;
            }
            Some(Ok(_)) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(last_seen < sent, "the reader was cut off before the end");
    let mut resumed = server.buyer("b1").await;
    resumed
        .send(json!({"type": "resume", "session_id": id, "after_seq": last_seen}))
        .await;
    for seq in last_seen + 1..=sent {
        assert_eq!(resumed.recv_type("message").await["seq"], seq);
    }
    assert_eq!(resumed.recv_type("resumed").await["recovered"], true);
    server.stop().await;
}
