//! The bare relay: the yardstick of what tokio + tokio-tungstenite can do on this machine.
//!
//! A client connects to `/ws?session=KEY` and every text frame it sends is forwarded, as is,
//! to the other connections of that session. No identity, store, rules, acks or JSON. Built
//! like the hub's connection loop so the comparison is fair: one task per connection where
//! reading and writing meet in one `select!`, a bounded outbox per connection that is closed
//! (4001) when full rather than waited on, batched writes with one flush per batch (the frames
//! of a batch gathered in a 16 KiB write buffer, one write(2) at the flush), the frames a socket
//! already holds read before writing, reads through the hub's `ReadAhead` (one `recvfrom` takes
//! what the kernel holds, up to 4 KiB), and TCP_NODELAY on accepted sockets. Forwarding shares
//! the frame's bytes; nothing is copied.
//!
//! Until the ninth session the write buffer was 0, so every frame of a batch was its own
//! write(2) while the hub's were gathered: the yardstick was short of what the stack can do
//! (BENCHMARKS.md, "What changed in the ninth session").

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::transport::read_ahead::ReadAhead;

/// Frames written before one flush, at most (as in the hub).
const WRITE_BATCH: usize = 64;
/// Frames read one after another before the loop writes, at most (as in the hub).
const READ_BURST: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayConfig {
    /// tungstenite's read buffer per connection; its default is 128 KiB.
    pub read_buffer: usize,
    /// Bytes gathered before a write reaches the socket; 0 writes every frame at once.
    pub write_buffer: usize,
    /// The most bytes a connection may have waiting to be written.
    pub max_write_buffer: usize,
    pub max_message_bytes: usize,
    /// Frames queued for one connection before it counts as a slow reader.
    pub outbox_capacity: usize,
    pub nodelay: bool,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            // The smallest that still reads a typical frame in one go: tungstenite zero-fills the
            // whole read buffer, so each idle connection keeps it resident.
            read_buffer: 256,
            // As the hub's (`transport::ws`): a batch's frames are one write at its flush.
            write_buffer: 16 * 1024,
            max_write_buffer: 256 * 1024,
            max_message_bytes: 65_536,
            outbox_capacity: 4096,
            nodelay: true,
        }
    }
}

impl RelayConfig {
    fn websocket(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(self.read_buffer)
            .write_buffer_size(self.write_buffer)
            .max_write_buffer_size(self.max_write_buffer.max(self.write_buffer + 1))
            .max_message_size(Some(self.max_message_bytes))
            .max_frame_size(Some(self.max_message_bytes))
    }
}

/// One member's outbox, as the other members see it.
struct Member {
    id: u64,
    outbox: mpsc::Sender<Utf8Bytes>,
    overflowed: CancellationToken,
}

/// The members of one session. Locked only to copy or change the list, never across an await.
#[derive(Default)]
struct Room {
    members: RwLock<Vec<Arc<Member>>>,
}

impl Room {
    fn forward(&self, from: u64, text: &Utf8Bytes) {
        let members = self.members.read().unwrap_or_else(PoisonError::into_inner);
        for member in members.iter().filter(|m| m.id != from) {
            if let Err(TrySendError::Full(_)) = member.outbox.try_send(text.clone()) {
                member.overflowed.cancel();
            }
        }
    }
}

#[derive(Default)]
struct Rooms {
    next_id: AtomicU64,
    /// Held only for map operations.
    rooms: Mutex<HashMap<String, Arc<Room>>>,
}

impl Rooms {
    fn join(&self, key: &str, member: Arc<Member>) -> Arc<Room> {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        let room = rooms.entry(key.to_string()).or_default().clone();
        room.members
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(member);
        room
    }

    fn leave(&self, key: &str, id: u64) {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(room) = rooms.get(key) else { return };
        let mut members = room.members.write().unwrap_or_else(PoisonError::into_inner);
        members.retain(|m| m.id != id);
        if members.is_empty() {
            drop(members);
            rooms.remove(key);
        }
    }
}

/// Serves until `shutdown` resolves, then closes every connection with 1001.
pub async fn serve(
    listener: TcpListener,
    config: RelayConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let rooms = Arc::new(Rooms::default());
    let cancel = CancellationToken::new();
    let tasks = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            // Out of file descriptors and the like: wait for connections to close.
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let connection = Connection {
            rooms: Arc::clone(&rooms),
            config,
            shutdown: cancel.clone(),
        };
        tasks.spawn(connection.run(stream));
    }
    cancel.cancel();
    tasks.close();
    tasks.wait().await;
    Ok(())
}

struct Connection {
    rooms: Arc<Rooms>,
    config: RelayConfig,
    shutdown: CancellationToken,
}

impl Connection {
    // The handshake callback's error type is tungstenite's, large or not.
    #[allow(clippy::result_large_err)]
    async fn run(self, stream: TcpStream) {
        if self.config.nodelay {
            let _ = stream.set_nodelay(true);
        }
        let (outbox, receiver) = mpsc::channel(self.config.outbox_capacity);
        let member = Arc::new(Member {
            id: self.rooms.next_id.fetch_add(1, Ordering::Relaxed),
            outbox,
            overflowed: CancellationToken::new(),
        });
        // Joins the room before the handshake's response goes out, so that a client whose
        // handshake completed is in its room: a frame another member sends next reaches it.
        let mut joined = None;
        let join = |request: &Request, response: Response| {
            let key = session_key(request.uri().query().unwrap_or_default());
            joined = Some((self.rooms.join(&key, Arc::clone(&member)), key));
            Ok(response)
        };
        let config = Some(self.config.websocket());
        let stream = ReadAhead::new(stream);
        let accepted = tokio_tungstenite::accept_hdr_async_with_config(stream, join, config).await;
        let Some((room, key)) = joined else { return };
        let Ok(socket) = accepted else {
            self.rooms.leave(&key, member.id);
            return;
        };
        self.relay(socket, &room, &member, receiver).await;
        self.rooms.leave(&key, member.id);
    }

    async fn relay(
        &self,
        mut socket: tokio_tungstenite::WebSocketStream<ReadAhead<TcpStream>>,
        room: &Room,
        member: &Member,
        mut outbox: mpsc::Receiver<Utf8Bytes>,
    ) {
        let close = loop {
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => break Some((CloseCode::Away, "shutting down")),
                () = member.overflowed.cancelled() => break Some((CloseCode::Library(4001), "slow reader")),
                Some(first) = outbox.recv() => {
                    if write_batch(&mut socket, &mut outbox, first).await.is_err() {
                        break None;
                    }
                }
                frame = socket.next() => {
                    // As the hub does: the frames the socket already holds, before writing.
                    let mut next = Some(frame);
                    let mut ended = false;
                    for _ in 0..READ_BURST {
                        let Some(frame) = next.take() else { break };
                        match frame {
                            Some(Ok(Message::Text(text))) => room.forward(member.id, &text),
                            Some(Ok(Message::Close(_)) | Err(_)) | None => {
                                ended = true;
                                break;
                            }
                            Some(Ok(_)) => {}
                        }
                        next = futures_util::FutureExt::now_or_never(socket.next());
                    }
                    if ended {
                        break None;
                    }
                    // The frame read when the burst ran out is off the socket already.
                    if let Some(frame) = next {
                        match frame {
                            Some(Ok(Message::Text(text))) => room.forward(member.id, &text),
                            Some(Ok(Message::Close(_)) | Err(_)) | None => break None,
                            Some(Ok(_)) => {}
                        }
                    }
                }
            }
        };
        if let Some((code, reason)) = close {
            let frame = CloseFrame {
                code,
                reason: Utf8Bytes::from_static(reason),
            };
            let _ = socket.send(Message::Close(Some(frame))).await;
        }
    }
}

async fn write_batch(
    socket: &mut tokio_tungstenite::WebSocketStream<ReadAhead<TcpStream>>,
    outbox: &mut mpsc::Receiver<Utf8Bytes>,
    first: Utf8Bytes,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    socket.feed(Message::Text(first)).await?;
    for _ in 1..WRITE_BATCH {
        let Ok(next) = outbox.try_recv() else { break };
        socket.feed(Message::Text(next)).await?;
    }
    socket.flush().await
}

/// The `session` query parameter; connections without one share the empty session.
fn session_key(query: &str) -> String {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("session="))
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_key_comes_from_the_query() {
        assert_eq!(session_key("session=p7"), "p7");
        assert_eq!(session_key("a=1&session=x&b=2"), "x");
        assert_eq!(session_key(""), "");
    }

    #[tokio::test]
    async fn a_frame_reaches_the_other_members_only() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, RelayConfig::default(), async {
            let _ = stopped.await;
        }));
        let url = format!("ws://{addr}/ws?session=t");
        let mut sockets = Vec::new();
        for _ in 0..3 {
            let (socket, _) = tokio_tungstenite::connect_async(&url)
                .await
                .expect("connect");
            sockets.push(socket);
        }
        // The last to join announces itself; when both others have it, everyone is in.
        sockets[2].send(Message::text("sync")).await.expect("send");
        for socket in &mut sockets[..2] {
            let frame = socket.next().await.expect("frame").expect("ok");
            assert_eq!(frame, Message::text("sync"));
        }
        sockets[0].send(Message::text("hello")).await.expect("send");
        for socket in &mut sockets[1..] {
            let frame = socket.next().await.expect("frame").expect("ok");
            assert_eq!(frame, Message::text("hello"));
        }
        let nothing =
            tokio::time::timeout(std::time::Duration::from_millis(100), sockets[0].next()).await;
        assert!(nothing.is_err(), "the sender got its own frame back");
        let _ = stop.send(());
        server.await.expect("join").expect("serve");
    }
}
