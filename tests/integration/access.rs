//! Tokens, Origin, and who may touch which session and order.

use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;

use logistics_bridge::protocol::Role;

use crate::support::TestServer;
use crate::support::client::{TestClient, refused_status, session_id, try_connect};

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs()
}

fn encode(claims: serde_json::Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode")
}

#[tokio::test]
async fn every_bad_token_gets_401_before_the_upgrade() {
    let server = TestServer::start().await;
    let secret = &server.config.auth.secret;
    let later = unix_now() + 3600;
    let expired = encode(
        json!({"sub": "b1", "role": "buyer", "exp": unix_now() - 60}),
        secret,
    );
    let foreign = encode(
        json!({"sub": "b1", "role": "buyer", "exp": later}),
        "not-the-secret-at-all",
    );
    let agent_without_shop = encode(json!({"sub": "a1", "role": "agent", "exp": later}), secret);
    let unknown_role = encode(json!({"sub": "x", "role": "root", "exp": later}), secret);
    let no_exp = encode(json!({"sub": "b1", "role": "buyer"}), secret);
    // alg none: a header and claims with an empty signature.
    let b64 = |v: serde_json::Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(json!({"sub": "b1", "role": "buyer", "exp": later}))
    );
    let url = server.ws_url();
    assert_eq!(refused_status(&url, None, None).await, 401, "missing");
    for (name, token) in [
        ("expired", expired),
        ("badly signed", foreign),
        ("alg none", none),
        ("agent without shop", agent_without_shop),
        ("unknown role", unknown_role),
        ("no exp", no_exp),
        ("garbage", "not-a-jwt".to_string()),
    ] {
        assert_eq!(
            refused_status(&url, Some(&token), None).await,
            401,
            "{name}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn admin_tokens_cannot_chat() {
    let server = TestServer::start().await;
    let token = server.admin_token();
    assert_eq!(
        refused_status(&server.ws_url(), Some(&token), None).await,
        403
    );
    server.stop().await;
}

#[tokio::test]
async fn a_token_in_the_query_works_for_browsers() {
    let server = TestServer::start().await;
    let token = server.token(Role::Buyer, "b1", None, None);
    let url = format!("{}?access_token={token}", server.ws_url());
    let mut client = try_connect(&url, None, Some("http://localhost:8080"))
        .await
        .expect("connect");
    assert_eq!(client.recv_type("welcome").await["user"], "b1");
    server.stop().await;
}

#[tokio::test]
async fn origins_outside_the_allowlist_get_403() {
    let server = TestServer::start().await;
    let token = server.token(Role::Buyer, "b1", None, None);
    let url = server.ws_url();
    assert_eq!(
        refused_status(&url, Some(&token), Some("http://evil.example")).await,
        403
    );
    let allowed = try_connect(&url, Some(&token), Some("http://127.0.0.1:8080")).await;
    assert!(allowed.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn nobody_touches_a_session_they_are_not_a_member_of() {
    let server = TestServer::start().await;
    let mut agent = server.agent("a1", "s1").await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    agent.recv_type("session").await;
    let id = session_id(&session);
    let mut intruders: Vec<TestClient> = vec![
        server.buyer("b2").await,
        server.agent("a9", "other-shop").await,
    ];
    for intruder in &mut intruders {
        for request in [
            json!({"type": "send", "session_id": id, "client_msg_id": "x",
                   "body": {"kind": "text", "text": "hi"}}),
            json!({"type": "resume", "session_id": id, "after_seq": 0}),
            json!({"type": "leave", "session_id": id}),
        ] {
            intruder.send(request).await;
            let error = intruder.recv_type("error").await;
            assert_eq!(error["code"], "session_not_found", "{error}");
        }
    }
    // Nothing the intruders did reached the session.
    agent.barrier().await;
    assert_eq!(buyer.say(&session, "c1", "still mine").await["seq"], 1);
    server.stop().await;
}

#[tokio::test]
async fn forged_order_cards_are_refused_and_nothing_is_stored() {
    let server = TestServer::start().await;
    server
        .put_order("o-mine", "b1", "s1", "shipped", json!([]))
        .await;
    server
        .put_order("o-theirs", "b2", "s1", "shipped", json!([]))
        .await;
    server
        .put_order("o-elsewhere", "b1", "s2", "shipped", json!([]))
        .await;
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    let id = session_id(&session);
    for (order, code) in [
        ("o-none", "order_not_found"),
        ("o-theirs", "order_forbidden"),
        ("o-elsewhere", "order_forbidden"),
    ] {
        buyer
            .send(
                json!({"type": "send", "session_id": id, "client_msg_id": order,
                         "body": {"kind": "order_card", "order_id": order}}),
            )
            .await;
        assert_eq!(buyer.recv_type("error").await["code"], code, "{order}");
    }
    // A card cannot carry facts: extra fields are refused.
    buyer
        .send(
            json!({"type": "send", "session_id": id, "client_msg_id": "forged",
                     "body": {"kind": "order_card", "order_id": "o-mine", "status": "shipped"}}),
        )
        .await;
    assert_eq!(buyer.recv_type("error").await["code"], "invalid_message");
    buyer
        .send(
            json!({"type": "send", "session_id": id, "client_msg_id": "real",
                     "body": {"kind": "order_card", "order_id": "o-mine"}}),
        )
        .await;
    assert_eq!(buyer.recv_type("ack").await["seq"], 1);
    // Opening from another buyer's order page is refused too.
    buyer
        .send(json!({"type": "open", "shop_id": "s1", "order_id": "o-theirs"}))
        .await;
    assert_eq!(buyer.recv_type("error").await["code"], "order_forbidden");
    server.stop().await;
}

#[tokio::test]
async fn roles_are_checked() {
    let server = TestServer::start().await;
    let mut agent = server.agent("a1", "s1").await;
    agent.send(json!({"type": "open", "shop_id": "s1"})).await;
    assert_eq!(agent.recv_type("error").await["code"], "forbidden");
    let mut buyer = server.buyer("b1").await;
    buyer
        .send(json!({"type": "presence", "status": "online"}))
        .await;
    assert_eq!(buyer.recv_type("error").await["code"], "forbidden");
    agent
        .send(json!({"type": "presence", "status": "available"}))
        .await;
    assert_eq!(agent.recv_type("error").await["code"], "invalid_message");
    server.stop().await;
}

/// Sends `request` over a fresh TCP socket and returns the response head (up to the blank line).
async fn raw_http(server: &TestServer, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut byte));
        if read.await.expect("a response in time").expect("read") == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).expect("an ASCII response head")
}

/// Issue 8 moved the WebSocket handshake into the hub (axum's upgrade kept state in every idle
/// connection): it answers as RFC 6455 says, whatever the case and order of the header tokens.
#[tokio::test]
async fn the_handshake_accepts_as_rfc_6455_says() {
    let server = TestServer::start().await;
    let token = server.token(Role::Buyer, "b1", None, None);
    let addr = server.addr;
    // The RFC's own example key, and a browser's `Connection: keep-alive, Upgrade`.
    let head = raw_http(
        &server,
        &format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: WebSocket\r\n\
             Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n"
        ),
    )
    .await;
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(
        head.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    assert!(head.contains("upgrade: websocket"), "{head}");
    server.stop().await;
}

#[tokio::test]
async fn a_request_that_is_no_websocket_handshake_gets_a_clear_refusal() {
    let server = TestServer::start().await;
    let token = server.token(Role::Buyer, "b1", None, None);
    let addr = server.addr;
    let handshake = |method: &str, extra: &str, version: &str| {
        format!(
            "{method} /ws HTTP/1.1\r\nHost: {addr}\r\n{extra}Sec-WebSocket-Version: {version}\r\n\
             Authorization: Bearer {token}\r\nContent-Length: 0\r\n\r\n"
        )
    };
    let upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
    let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    // (request, status, reason in the body): one row per check, in the order they run.
    let rows = [
        (handshake("POST", &format!("{upgrade}{key}"), "13"), "405"),
        (handshake("GET", key, "13"), "400"),
        (
            handshake("GET", &format!("Connection: Upgrade\r\n{key}"), "13"),
            "400",
        ),
        (handshake("GET", &format!("{upgrade}{key}"), "8"), "400"),
        (handshake("GET", upgrade, "13"), "400"),
    ];
    for (request, status) in rows {
        let head = raw_http(&server, &request).await;
        assert!(
            head.starts_with(&format!("HTTP/1.1 {status}")),
            "{request:?} answered {head}"
        );
    }
    // The reason comes in the body.
    let (status, body) = server.http_as("GET", "/ws", None, None).await;
    assert_eq!(status, 400);
    assert_eq!(body, "Connection header did not include 'upgrade'");
    server.stop().await;
}
