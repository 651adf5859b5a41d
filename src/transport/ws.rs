//! The WebSocket endpoint: checks at the upgrade, then one task per connection.
//!
//! Reading and writing meet in one `select!`; pings, token expiry and shutdown come through the
//! outbox like frames. Frames queued for the connection are written in batches with one flush
//! per batch.

use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use governor::DefaultDirectRateLimiter;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::{Role as WsRole, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};

use super::AppState;
use super::auth::{self, AuthError};
use super::delivered::Delivered;
use super::read_ahead::ReadAhead;
use crate::hub::outbox::Next;
use crate::hub::registry::{ConnectionHandle, Frame, Outbound};
use crate::hub::{HubError, Identity, Reply, frames};
use crate::protocol::ids::{RequestId, SessionId};
use crate::protocol::{ClientMessage, ErrorCode, Role, ServerMessage, close};

/// Bytes of frames gathered before they are written to the socket (a flush writes them too).
const WRITE_BUFFER: usize = 16 * 1024;
/// Frames read one after another before the loop writes what they queued, at most: as many as
/// one write batch holds (16 took in 10% less at saturation).
const READ_BURST: usize = 64;
/// Frames written before one flush, at most.
const WRITE_BATCH: usize = 64;
/// How long the closing frame may take to write before the socket is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// A write that cannot finish within `limit` means a reader that stopped reading: it is closed
/// as a slow reader, and resumes without a gap when it comes back.
///
/// Most writes finish on their first poll (into tungstenite's buffer, or a socket with room), so
/// only a write that has to wait is given a deadline: reading the clock and arming a timer for
/// every frame was a few per cent of the CPU per message.
async fn bounded_write<E>(
    limit: Duration,
    write: impl std::future::Future<Output = Result<(), E>>,
) -> Result<(), End> {
    let mut write = std::pin::pin!(write);
    let written = match futures_util::FutureExt::now_or_never(&mut write) {
        Some(written) => written,
        None => match tokio::time::timeout(limit, write).await {
            Err(_) => {
                return Err(End::Close(
                    close::SLOW_READER,
                    "slow reader; resume to catch up",
                ));
            }
            Ok(written) => written,
        },
    };
    written.map_err(|_| End::Gone)
}

/// The socket of an upgraded connection.
type WebSocket = WebSocketStream<ReadAhead<TokioIo<hyper::upgrade::Upgraded>>>;

/// The WebSocket handshake (RFC 6455 section 4.2), then the checks of the caller, then the
/// upgrade.
///
/// Done here rather than with axum's `WebSocketUpgrade`: the task axum spawns keeps the
/// socket's configuration, the offered subprotocols and the upgrade's future for the whole
/// life of the connection, and its `WebSocket` a subprotocol again: about 330 bytes of every
/// idle connection, measured (BENCHMARKS.md). The checks and their answers are axum's.
pub async fn upgrade(State(state): State<AppState>, mut request: Request) -> Response {
    let key = match handshake_key(&request) {
        Ok(key) => key,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(on_upgrade) = request.extensions_mut().remove::<OnUpgrade>() else {
        return (StatusCode::UPGRADE_REQUIRED, "connection is not upgradable").into_response();
    };
    let headers = request.headers();
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if !auth::is_origin_allowed(origin, &state.config.server.allowed_origins) {
        return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    let Some(token) = auth::token_from(headers, request.uri().query()) else {
        return unauthorized(&AuthError::Missing);
    };
    let (identity, expires_at) = match state.auth.verify(&token) {
        Ok(verified) => verified,
        Err(error) => return unauthorized(&error),
    };
    if identity.role == Role::Admin {
        return (StatusCode::FORBIDDEN, "admin tokens are for the HTTP API").into_response();
    }
    // One box holds what the connection starts from, so the task stays small: every idle
    // connection keeps its task for as long as it lives.
    let tasks = state.tasks.clone();
    let upgraded = Box::new(Upgraded {
        state,
        identity,
        expires_at,
        on_upgrade,
    });
    // Tracked, so shutdown waits for the connection to close.
    tasks.spawn(run_connection(upgraded));
    switching_protocols(&key)
}

/// `Sec-WebSocket-Key` of a valid WebSocket handshake, or the answer to one that is not.
fn handshake_key(request: &Request) -> Result<HeaderValue, (StatusCode, &'static str)> {
    let headers = request.headers();
    // In the order axum checks them, with its answers.
    let checks = [
        (
            request.method() == Method::GET,
            StatusCode::METHOD_NOT_ALLOWED,
            "request method must be `GET`",
        ),
        (
            header_has_token(headers, header::CONNECTION, "upgrade"),
            StatusCode::BAD_REQUEST,
            "Connection header did not include 'upgrade'",
        ),
        (
            header_is(headers, header::UPGRADE, "websocket"),
            StatusCode::BAD_REQUEST,
            "`Upgrade` header did not include 'websocket'",
        ),
        (
            header_is(headers, header::SEC_WEBSOCKET_VERSION, "13"),
            StatusCode::BAD_REQUEST,
            "`Sec-WebSocket-Version` header did not include '13'",
        ),
    ];
    if let Some((_, status, why)) = checks.into_iter().find(|(passed, ..)| !passed) {
        return Err((status, why));
    }
    let missing = (
        StatusCode::BAD_REQUEST,
        "`Sec-WebSocket-Key` header missing",
    );
    headers
        .get(header::SEC_WEBSOCKET_KEY)
        .cloned()
        .ok_or(missing)
}

fn header_is(headers: &HeaderMap, name: header::HeaderName, value: &str) -> bool {
    headers
        .get(name)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(value.as_bytes()))
}

/// Whether a comma-separated header (`Connection: keep-alive, Upgrade`) holds `token`.
fn header_has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value
            .as_bytes()
            .split(|&byte| byte == b',')
            .any(|part| part.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}

fn switching_protocols(key: &HeaderValue) -> Response {
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    match HeaderValue::from_str(&accept) {
        Ok(accept) => {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        // Base64 is always a valid header value.
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
    response
}

/// The socket's limits and buffers.
fn socket_config(max_bytes: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        // tungstenite zero-fills its whole read buffer on the first read, so every idle
        // connection keeps it resident. It reads from `ReadAhead`, which takes up to 4 KiB from
        // the socket per system call, so this is only how much it copies out per call: a short
        // frame in one, a longer one in two (BENCHMARKS.md).
        .read_buffer_size(192)
        // Frames fed between two flushes go out in one write(2) instead of one each.
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(WRITE_BUFFER + max_bytes * 4)
        .max_message_size(Some(max_bytes))
        // A frame up to twice the limit is read whole and then refused as too long (1009):
        // refusing it from its header would leave its payload unread, and closing a socket
        // with unread input resets the connection before the peer reads the close code.
        .max_frame_size(Some(max_bytes * 2))
}

fn unauthorized(error: &AuthError) -> Response {
    let headers = [(header::WWW_AUTHENTICATE, "Bearer")];
    (StatusCode::UNAUTHORIZED, headers, error.to_string()).into_response()
}

/// Who the token says is on a socket being upgraded.
struct Upgraded {
    state: AppState,
    identity: Identity,
    expires_at: u64,
    on_upgrade: OnUpgrade,
}

/// The connection's task. Upgrading, registering and unregistering run once each, so their
/// futures are boxed rather than laid out in every idle connection's task.
/// No tracing span per connection: one costs a few hundred bytes for the connection's life.
async fn run_connection(upgraded: Box<Upgraded>) {
    let hub = upgraded.state.hub.clone();
    let Some(connection) = Box::pin(Connection::start(upgraded)).await else {
        return;
    };
    let handle = Arc::clone(&connection.handle);
    let code = connection.run().await;
    tracing::debug!(user = %handle.identity.user, code, "connection closed");
    Box::pin(hub.disconnect(&handle)).await;
}

fn close_message(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code: code.into(),
        reason: Utf8Bytes::from_static(reason),
    }))
}

struct Connection {
    state: AppState,
    socket: WebSocket,
    handle: Arc<ConnectionHandle>,
    outbox: crate::hub::outbox::Receiver<Outbound>,
    /// Per session, the last `seq` written: older ones are skipped, skipped-over ones are read
    /// from the log first, so each member gets every message once and in order.
    delivered: Delivered,
    /// Made on the first frame the client sends: an idle connection needs none.
    limiter: Option<Box<DefaultDirectRateLimiter>>,
    bad_frames: u32,
    last_heard: Instant,
}

/// Why the loop ended: the close code to send, or none when the peer already went.
enum End {
    Close(u16, &'static str),
    Gone,
}

impl Connection {
    /// Registers with the hub; refused, the socket is closed with 1011.
    async fn start(upgraded: Box<Upgraded>) -> Option<Box<Connection>> {
        let Upgraded {
            state,
            identity,
            expires_at,
            on_upgrade,
        } = *upgraded;
        let io = match on_upgrade.await {
            Ok(io) => ReadAhead::new(TokioIo::new(io)),
            Err(error) => {
                tracing::debug!(%error, "the upgrade did not complete");
                return None;
            }
        };
        let config = socket_config(state.config.server.max_message_bytes);
        let mut socket = WebSocketStream::from_raw_socket(io, WsRole::Server, Some(config)).await;
        let user = identity.user.clone();
        let (handle, outbox) = match state.hub.connect(identity, expires_at).await {
            Ok(connected) => connected,
            Err(error) => {
                tracing::warn!(%error, %user, "connection refused by the hub");
                let close = close_message(close::INTERNAL, "internal error");
                let _ = socket.send(close).await;
                return None;
            }
        };
        Some(Box::new(Connection {
            limiter: None,
            state,
            socket,
            handle,
            outbox,
            delivered: Delivered::default(),
            bad_frames: 0,
            last_heard: Instant::now(),
        }))
    }

    /// Runs until the connection ends; returns the close code used.
    async fn run(mut self: Box<Self>) -> u16 {
        let end = self.serve().await;
        Box::pin(self.close(end)).await
    }

    async fn close(&mut self, end: End) -> u16 {
        match end {
            End::Close(code, reason) => {
                let close = self.socket.send(close_message(code, reason));
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, close).await;
                self.await_peer_close().await;
                code
            }
            End::Gone => close::NORMAL,
        }
    }

    /// The closing handshake: reads (and drops) what the peer still sends until its Close,
    /// briefly. Dropping a socket with unread input would reset the connection, and the reset
    /// can overtake our close frame, so the peer would never learn why it was closed.
    async fn await_peer_close(&mut self) {
        let drain = async {
            for _ in 0..64 {
                match self.socket.next().await {
                    None | Some(Ok(Message::Close(_))) => return,
                    Some(_) => continue,
                }
            }
        };
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, drain).await;
    }

    /// Pings and token expiry come as `Tick`s from the shared keepalive sweep (see
    /// `keepalive`), so the connection holds no timer of its own.
    async fn serve(&mut self) -> End {
        // Registered now: a shutdown from here on comes through the outbox
        // (`Hub::shut_down_connections`); one that came before shows on the token.
        if self.state.shutdown.is_cancelled() {
            return End::Close(close::GOING_AWAY, "server shutting down");
        }
        loop {
            let step = tokio::select! {
                biased;
                next = self.outbox.recv() => match next {
                    // Boxed like reading: a write's state is needed only while writing.
                    Next::Value(outbound) => Box::pin(self.write_batch(outbound)).await,
                    Next::Overflowed => Err(End::Close(close::SLOW_READER, "slow reader; resume to catch up")),
                    // The hub holds the sending half for as long as we are registered.
                    Next::Closed => Err(End::Close(close::INTERNAL, "internal error")),
                },
                // Boxed: reading a frame can run the whole hub (`Hub::handle`); inline, that state
                // would be part of every idle connection's task.
                frame = self.socket.next() => self.read_burst(frame).await,
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    /// Reads `frame` and then, while each was applied without waiting (no store round trip),
    /// the frames the socket already holds, up to `READ_BURST`, before the loop writes what
    /// they queued: a sender's acks then go out in one write instead of one each. A frame whose
    /// handling waited ends the burst, so its ack is not held behind the next frame's wait.
    async fn read_burst(&mut self, frame: Option<Result<Message, WsError>>) -> Result<(), End> {
        let mut next = Some(frame);
        for _ in 0..READ_BURST {
            let Some(frame) = next.take() else { break };
            let mut read = Box::pin(self.read(frame));
            match futures_util::poll!(read.as_mut()) {
                Poll::Ready(result) => result?,
                Poll::Pending => return read.await,
            }
            drop(read);
            next = futures_util::FutureExt::now_or_never(self.socket.next());
        }
        match next {
            // Read but not applied yet: applied now, and the loop writes next.
            Some(frame) => Box::pin(self.read(frame)).await,
            None => Ok(()),
        }
    }

    /// A write that takes longer than a connection may stay silent means a stalled reader.
    fn write_timeout(&self) -> Duration {
        self.state.config.server.idle_timeout
    }

    /// A keepalive tick: close an expired token or a silent peer, else ping (flushed with the
    /// batch).
    async fn tick(&mut self, expired: bool) -> Result<(), End> {
        if expired {
            return Err(End::Close(close::POLICY, "token expired"));
        }
        if self.last_heard.elapsed() > self.state.config.server.idle_timeout {
            return Err(End::Close(close::IDLE, "idle timeout"));
        }
        let limit = self.write_timeout();
        let ping = self.socket.feed(Message::Ping(Default::default()));
        bounded_write(limit, ping).await
    }

    async fn write_batch(&mut self, first: Outbound) -> Result<(), End> {
        self.write_one(first).await?;
        for _ in 1..WRITE_BATCH {
            let Some(next) = self.outbox.try_recv() else {
                break;
            };
            self.write_one(next).await?;
        }
        self.flush().await
    }

    async fn write_one(&mut self, outbound: Outbound) -> Result<(), End> {
        match outbound {
            Outbound::Frame(frame) => self.feed(frame).await,
            Outbound::Message {
                session_id,
                seq,
                frame,
            } => {
                let last = self.delivered.get(session_id);
                if last.is_some_and(|last| seq <= last) {
                    return Ok(());
                }
                if let Some(last) = last.filter(|last| seq > last + 1) {
                    self.catch_up(session_id, last, seq - 1).await?;
                }
                self.delivered.set(session_id, seq);
                self.feed(frame).await
            }
            Outbound::Ack {
                session_id,
                seq,
                frame,
            } => {
                // Another node's message may have taken the seq before this one and not be
                // here yet: write it first, or its wake-up would find it already passed.
                let last = self.delivered.get(session_id);
                if let Some(last) = last.filter(|last| seq > last + 1) {
                    self.catch_up(session_id, last, seq - 1).await?;
                }
                self.delivered.raise(session_id, seq);
                self.feed(frame).await
            }
            Outbound::Wake { session_id, seq } => {
                let last = self.delivered.get(session_id);
                match last {
                    Some(last) if seq <= last => Ok(()),
                    Some(last) => self.catch_up(session_id, last, seq).await,
                    None => self.catch_up(session_id, seq - 1, seq).await,
                }
            }
            Outbound::Tick { expired } => self.tick(expired).await,
            Outbound::Shutdown => Err(End::Close(close::GOING_AWAY, "server shutting down")),
            Outbound::Resync => {
                let followed = self.delivered.all();
                for (session_id, last) in followed {
                    self.catch_up(session_id, last, u64::MAX).await?;
                }
                Ok(())
            }
        }
    }

    /// Writes what the log holds after `after` up to `until` (inclusive), as this connection's
    /// viewer sees it. A store error leaves the gap for the next wake-up or resume.
    async fn catch_up(&mut self, session_id: SessionId, after: u64, until: u64) -> Result<(), End> {
        let hub = self.state.hub.clone();
        let viewer = self.handle.identity.role;
        let mut cursor = after;
        while cursor < until {
            let Ok(page) = hub.history(session_id, cursor).await else {
                return Ok(());
            };
            if page.messages.is_empty() {
                break;
            }
            for stored in page.messages.iter().take_while(|m| m.seq <= until) {
                let frame = hub.frame_for(viewer, session_id, stored).await;
                self.feed(frame).await?;
                cursor = stored.seq;
            }
            if page.messages.last().is_some_and(|m| m.seq >= until) {
                break;
            }
        }
        if cursor > after {
            self.delivered.set(session_id, cursor);
        }
        Ok(())
    }

    async fn feed(&mut self, frame: Frame) -> Result<(), End> {
        let limit = self.write_timeout();
        let write = self.socket.feed(Message::Text(frame));
        bounded_write(limit, write).await
    }

    async fn flush(&mut self) -> Result<(), End> {
        let limit = self.write_timeout();
        bounded_write(limit, self.socket.flush()).await
    }

    async fn read(&mut self, frame: Option<Result<Message, WsError>>) -> Result<(), End> {
        self.last_heard = Instant::now();
        let message = match frame {
            None => return Err(End::Gone),
            Some(Err(error)) => return Err(read_error(error)),
            Some(Ok(message)) => message,
        };
        match message {
            Message::Text(text) => self.on_text(text).await,
            Message::Binary(_) => Err(End::Close(close::BINARY, "binary frames are not supported")),
            Message::Close(_) => Err(End::Gone),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(()),
        }
    }

    async fn on_text(&mut self, text: Utf8Bytes) -> Result<(), End> {
        let user = &self.handle.identity.user;
        let limits = &self.state.limits;
        let limiter = self
            .limiter
            .get_or_insert_with(|| Box::new(limits.for_connection()));
        if !limits.allow(limiter, user) {
            let (request_id, request_type) = describe(&text);
            let message = "too many requests; nothing was stored".to_string();
            return self
                .reply_error(request_id, request_type, ErrorCode::RateLimited, message)
                .await;
        }
        let message = match crate::protocol::parse::client_message(&text) {
            Ok(message) => message,
            Err(error) => return self.on_bad_frame(&text, &error).await,
        };
        self.bad_frames = 0;
        let kind = message.kind();
        let request_id = message.request_id().cloned();
        if let Err(error) = validate(&message) {
            return self.reply_hub_error(request_id, kind, &error).await;
        }
        match self.state.hub.handle(&self.handle, message).await {
            Ok(Reply::None) => Ok(()),
            Ok(Reply::Replay {
                session_id,
                after_seq,
                request_id,
                context,
            }) => {
                self.replay(session_id, after_seq, request_id).await?;
                match context {
                    Some(card) => {
                        self.feed(card).await?;
                        self.flush().await
                    }
                    None => Ok(()),
                }
            }
            Ok(Reply::NotRecovered {
                session_id,
                after_seq,
                request_id,
            }) => {
                let resumed = ServerMessage::Resumed {
                    request_id,
                    session_id,
                    after_seq,
                    recovered: false,
                    last_seq: 0,
                    oldest_seq: 1,
                };
                self.feed(frames::encode(&resumed)).await?;
                self.flush().await
            }
            Err(error) => self.reply_hub_error(request_id, kind, &error).await,
        }
    }

    async fn on_bad_frame(&mut self, text: &str, error: &serde_json::Error) -> Result<(), End> {
        self.bad_frames += 1;
        let (request_id, request_type) = describe(text);
        let code = match (&request_type, error.classify()) {
            (Some(_), serde_json::error::Category::Data) => ErrorCode::InvalidMessage,
            _ => ErrorCode::MalformedFrame,
        };
        self.reply_error(request_id, request_type, code, error.to_string())
            .await?;
        if self.bad_frames >= self.state.config.server.max_bad_frames {
            return Err(End::Close(close::BAD_FRAMES, "too many bad frames"));
        }
        Ok(())
    }

    async fn reply_hub_error(
        &mut self,
        request_id: Option<RequestId>,
        kind: &str,
        error: &HubError,
    ) -> Result<(), End> {
        self.state.hub.metrics().error(error.code());
        let frame = frames::error(request_id, Some(kind), error);
        self.feed(frame).await?;
        self.flush().await
    }

    async fn reply_error(
        &mut self,
        request_id: Option<RequestId>,
        request_type: Option<String>,
        code: ErrorCode,
        message: String,
    ) -> Result<(), End> {
        self.state.hub.metrics().error(code);
        let frame = frames::peer_error(request_id, request_type, code, message);
        self.feed(frame).await?;
        self.flush().await
    }

    /// Writes the session's log after `after_seq` straight to the socket, then `resumed`.
    async fn replay(
        &mut self,
        session_id: SessionId,
        after_seq: u64,
        request_id: Option<RequestId>,
    ) -> Result<(), End> {
        let hub = self.state.hub.clone();
        let first = match hub.history(session_id, after_seq).await {
            Ok(history) => history,
            Err(error) => return self.reply_hub_error(request_id, "resume", &error).await,
        };
        let (oldest_seq, last_seq) = (first.oldest_seq, first.last_seq);
        let recovered = after_seq <= last_seq && after_seq.saturating_add(1) >= oldest_seq;
        if recovered {
            let mut page = first;
            let mut cursor = after_seq;
            while cursor < last_seq && !page.messages.is_empty() {
                let viewer = self.handle.identity.role;
                for stored in page.messages.iter().take_while(|m| m.seq <= last_seq) {
                    let frame = hub.frame_for(viewer, session_id, stored).await;
                    self.feed(frame).await?;
                    cursor = stored.seq;
                }
                if cursor >= last_seq {
                    break;
                }
                page = match hub.history(session_id, cursor).await {
                    Ok(history) => history,
                    Err(error) => return self.reply_hub_error(request_id, "resume", &error).await,
                };
            }
            self.delivered.raise(session_id, last_seq);
        }
        let resumed = ServerMessage::Resumed {
            request_id,
            session_id,
            after_seq,
            recovered,
            last_seq,
            oldest_seq,
        };
        self.feed(frames::encode(&resumed)).await?;
        self.flush().await
    }
}

/// Checks the parts of a message serde's types cannot express.
fn validate(message: &ClientMessage) -> Result<(), HubError> {
    if let ClientMessage::Send { body, .. } = message {
        body.validate()
            .map_err(|error| HubError::peer(ErrorCode::InvalidMessage, error.to_string()))?;
    }
    Ok(())
}

/// Best effort at the `request_id` and `type` of a frame that failed to parse, for the reply.
fn describe(text: &str) -> (Option<RequestId>, Option<String>) {
    let Ok(serde_json::Value::Object(object)) = serde_json::from_str(text) else {
        return (None, None);
    };
    let request_id = object
        .get("request_id")
        .and_then(|v| v.as_str())
        .and_then(|v| RequestId::new(v).ok());
    let known = |kind: &&str| crate::protocol::client::KINDS.contains(kind);
    let kind = object.get("type").and_then(|v| v.as_str()).filter(known);
    (request_id, kind.map(str::to_string))
}

/// A read error: an oversized frame closes with 1009, anything else means the peer is gone.
fn read_error(error: WsError) -> End {
    match error {
        WsError::Capacity(_) => End::Close(close::TOO_BIG, "message too big"),
        _ => End::Gone,
    }
}
