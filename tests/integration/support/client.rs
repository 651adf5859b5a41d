//! A typed WebSocket client for tests.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a receive waits before the test fails.
pub const RECEIVE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct TestClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    barriers: u64,
}

/// The HTTP status of a refused upgrade.
pub async fn refused_status(url: &str, token: Option<&str>, origin: Option<&str>) -> u16 {
    match try_connect(url, token, origin).await {
        Ok(_) => panic!("upgrade was accepted"),
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("unexpected error {other}"),
    }
}

pub async fn try_connect(
    url: &str,
    token: Option<&str>,
    origin: Option<&str>,
) -> Result<TestClient, WsError> {
    let mut request = url.into_client_request()?;
    if let Some(token) = token {
        let value = HeaderValue::from_str(&format!("Bearer {token}")).expect("header");
        request.headers_mut().insert("authorization", value);
    }
    if let Some(origin) = origin {
        let value = HeaderValue::from_str(origin).expect("header");
        request.headers_mut().insert("origin", value);
    }
    let config = WebSocketConfig::default().max_message_size(Some(64 << 20));
    let (socket, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), true).await?;
    Ok(TestClient {
        socket,
        barriers: 0,
    })
}

impl TestClient {
    pub async fn connect(url: &str, token: &str) -> TestClient {
        try_connect(url, Some(token), None).await.expect("connect")
    }

    pub async fn send(&mut self, value: Value) {
        self.send_raw(&value.to_string()).await;
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.socket.send(Message::text(text)).await.expect("send");
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.socket
            .send(Message::binary(bytes))
            .await
            .expect("send");
    }

    /// The next text frame as JSON. Pings and pongs are skipped; a close fails the test.
    pub async fn recv(&mut self) -> Value {
        loop {
            let next = tokio::time::timeout(RECEIVE_TIMEOUT, self.socket.next()).await;
            let message = next.expect("timed out waiting for a frame");
            match message {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str(&text).expect("server sent JSON");
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next text frame, or `None` when nothing arrives within `wait` or the connection
    /// ended (for draining what a dying server sent).
    pub async fn try_recv_for(&mut self, wait: Duration) -> Option<Value> {
        loop {
            let next = tokio::time::timeout(wait, self.socket.next())
                .await
                .ok()??;
            match next {
                Ok(Message::Text(text)) => return serde_json::from_str(&text).ok(),
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                _ => return None,
            }
        }
    }

    /// The next frame, which must be of `kind`.
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        let value = self.recv().await;
        assert_eq!(value["type"], kind, "expected {kind}, got {value}");
        value
    }

    /// Skips frames until one of `first` or `second` arrives.
    pub async fn recv_until_either(&mut self, first: &str, second: &str) -> Value {
        loop {
            let value = self.recv().await;
            if value["type"] == first || value["type"] == second {
                return value;
            }
        }
    }

    /// Skips frames until one of `kind` arrives.
    pub async fn recv_until(&mut self, kind: &str) -> Value {
        loop {
            let value = self.recv().await;
            if value["type"] == kind {
                return value;
            }
        }
    }

    /// Reads until the server closes; returns the close code. Text frames before it are skipped.
    pub async fn closed_with(&mut self) -> u16 {
        loop {
            let next = tokio::time::timeout(RECEIVE_TIMEOUT, self.socket.next()).await;
            match next.expect("timed out waiting for close") {
                Some(Ok(Message::Close(Some(frame)))) => return frame.code.into(),
                Some(Ok(Message::Close(None))) => return 1005,
                Some(Ok(_)) => continue,
                Some(Err(error)) => panic!("connection failed before a close frame: {error}"),
                None => panic!("connection ended without a close frame"),
            }
        }
    }

    /// Waits until every frame the hub queued before this call has arrived, then asserts
    /// that none of them was anything but a ping or pong: a way to check "nothing came"
    /// without sleeping. Uses a WebSocket ping whose pong the server writes in order.
    pub async fn barrier(&mut self) {
        self.barriers += 1;
        let payload = format!("barrier-{}", self.barriers);
        self.socket
            .send(Message::Ping(payload.clone().into_bytes().into()))
            .await
            .expect("send ping");
        loop {
            let next = tokio::time::timeout(RECEIVE_TIMEOUT, self.socket.next()).await;
            match next.expect("timed out waiting for the barrier") {
                Some(Ok(Message::Pong(bytes))) if bytes.as_ref() == payload.as_bytes() => return,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected nothing before the barrier, got {other:?}"),
            }
        }
    }

    /// Opens a session with `shop`; returns the `session` frame.
    pub async fn open(&mut self, shop: &str, order_id: Option<&str>) -> Value {
        let mut request = json!({"type": "open", "shop_id": shop, "request_id": "open"});
        if let Some(order_id) = order_id {
            request["order_id"] = json!(order_id);
        }
        self.send(request).await;
        self.recv_until("session").await
    }

    /// Sends a text message and returns the ack.
    pub async fn say(&mut self, session: &Value, client_msg_id: &str, text: &str) -> Value {
        self.send(json!({
            "type": "send", "session_id": session_id(session), "client_msg_id": client_msg_id,
            "body": {"kind": "text", "text": text}
        }))
        .await;
        self.recv_until("ack").await
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }

    /// Stops reading but keeps the socket open (for slow-reader tests).
    pub fn socket(&mut self) -> &mut WebSocketStream<MaybeTlsStream<TcpStream>> {
        &mut self.socket
    }
}

/// The `session_id` of a `session` frame (or any frame that carries one).
pub fn session_id(frame: &Value) -> String {
    frame["session_id"]
        .as_str()
        .expect("frame has a session_id")
        .to_string()
}
