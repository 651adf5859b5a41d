//! Shutdown, idle timeouts, token expiry, health and metrics.

use std::time::Duration;

use serde_json::json;

use logistics_bridge::protocol::Role;
use logistics_bridge::transport::auth::{Authenticator, Claims};

use crate::support::TestServer;
use crate::support::client::{TestClient, try_connect};

#[tokio::test]
async fn shutdown_closes_every_connection_with_1001_and_run_returns() {
    let server = TestServer::start().await;
    let mut agent = server.agent("a1", "s1").await;
    let mut buyer = server.buyer("b1").await;
    buyer.open("s1", None).await;
    let url = server.ws_url();
    let stopping = tokio::spawn(server.stop());
    assert_eq!(agent.closed_with().await, 1001);
    assert_eq!(buyer.closed_with().await, 1001);
    stopping.await.expect("server stopped cleanly");
    let token_free = try_connect(&url, None, None).await;
    assert!(token_free.is_err(), "the listener is closed");
}

#[tokio::test]
async fn a_silent_connection_is_closed_with_4000() {
    let server = TestServer::with_config(|c| {
        c.server.ping_interval = Duration::from_millis(50);
        c.server.idle_timeout = Duration::from_millis(200);
    })
    .await;
    let token = server.token(Role::Buyer, "b1", None, None);
    // A raw client that completes the handshake and then never writes: no pong ever comes.
    let code = silent_client_close_code(server.addr, &token).await;
    assert_eq!(code, 4000);
    server.stop().await;
}

#[tokio::test]
async fn a_token_that_expires_while_connected_closes_with_1008() {
    let server = TestServer::start().await;
    let auth = Authenticator::new(&server.config.auth.secret, Duration::ZERO);
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs()
        + 2;
    let claims = Claims {
        sub: "b1".parse().expect("valid id"),
        role: Role::Buyer,
        shop: None,
        carrier: None,
        exp,
    };
    let token = auth.mint(&claims).expect("mint");
    let mut client = TestClient::connect(&server.ws_url(), &token).await;
    assert_eq!(client.closed_with().await, 1008);
    server.stop().await;
}

#[tokio::test]
async fn health_and_metrics() {
    let server = TestServer::start().await;
    let (status, body) = server.http_as("GET", "/healthz", None, None).await;
    assert_eq!((status, body), (200, json!("ok")));
    let mut buyer = server.buyer("b1").await;
    let session = buyer.open("s1", None).await;
    buyer.say(&session, "c1", "hi").await;
    buyer.send_raw("garbage").await;
    buyer.recv_type("error").await;
    let (status, body) = server.http_as("GET", "/metrics", None, None).await;
    assert_eq!(status, 200);
    let text = body.as_str().expect("text");
    for expected in [
        "logistics_bridge_connections_open 1",
        "logistics_bridge_sessions_opened_total 1",
        "logistics_bridge_messages_total 1",
        "logistics_bridge_errors_total{code=\"malformed_frame\"} 1",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    server.stop().await;
}

/// Upgrades over a plain TCP socket, never writes again, and returns the close code the server
/// sends (server frames are unmasked, so they are easy to walk).
async fn silent_client_close_code(addr: std::net::SocketAddr, token: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Authorization: Bearer {token}\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write handshake");
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes));
    read.await.expect("server closed in time").expect("read");
    let header_end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("handshake")
        + 4;
    assert!(bytes.starts_with(b"HTTP/1.1 101"), "upgrade accepted");
    let mut frames = &bytes[header_end..];
    while frames.len() >= 2 {
        let opcode = frames[0] & 0x0f;
        let length = (frames[1] & 0x7f) as usize;
        assert!(length < 126, "small control frames only");
        let payload = &frames[2..2 + length];
        if opcode == 0x8 {
            return u16::from_be_bytes([payload[0], payload[1]]);
        }
        frames = &frames[2 + length..];
    }
    panic!("no close frame");
}
