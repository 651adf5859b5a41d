//! Opening client WebSocket connections: source addresses, TCP_NODELAY, small buffers.
//!
//! One process can hold about 20,000 sockets here, and loopback connections from one source
//! address to one server port share the ephemeral port range (about 28,000 ports). A
//! [`Connector`] given several source addresses (127.0.0.2, 127.0.0.3, ...) spreads
//! connections over them round robin, so many generator processes can hold more connections
//! than one source address has ports.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::StreamExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::LoadError;

pub type Socket = WebSocketStream<TcpStream>;

/// Where a server listens, read from a `ws://HOST:PORT/PATH` url.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub addr: SocketAddr,
    pub path: String,
}

impl Endpoint {
    /// Parses `ws://IP:PORT/PATH` (the path defaults to `/ws`); host names are not resolved.
    pub fn parse(url: &str) -> Result<Endpoint, LoadError> {
        let bad = || LoadError::Url(url.to_string());
        let rest = url.strip_prefix("ws://").ok_or_else(bad)?;
        let (host, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, "/ws"),
        };
        let host = if host.starts_with("localhost:") {
            host.replacen("localhost", "127.0.0.1", 1)
        } else {
            host.to_string()
        };
        let addr = host.parse().map_err(|_| bad())?;
        Ok(Endpoint {
            addr,
            path: path.to_string(),
        })
    }
}

pub struct Connector {
    endpoint: Endpoint,
    sources: Vec<IpAddr>,
    next_source: AtomicUsize,
    config: WebSocketConfig,
    /// `SO_SNDBUF` of each socket; `None` leaves it to the kernel's autotuning.
    send_buffer: Option<u32>,
}

impl Connector {
    /// `read_buffer` is tungstenite's read buffer per connection: its default is 128 KiB, which
    /// the generator does not need for frames of a few hundred bytes.
    pub fn new(endpoint: Endpoint, sources: Vec<IpAddr>, read_buffer: usize) -> Connector {
        let config = WebSocketConfig::default()
            .read_buffer_size(read_buffer)
            .write_buffer_size(0)
            .max_write_buffer_size(16 << 20)
            .max_message_size(Some(16 << 20));
        Connector {
            endpoint,
            sources,
            next_source: AtomicUsize::new(0),
            config,
            send_buffer: None,
        }
    }

    /// Caps each socket's kernel send buffer at `bytes` (Linux doubles it for its own
    /// bookkeeping). Against a server slower than the offered rate, autotuned buffers grow to
    /// megabytes, and the generator spends the CPU it shares with the server copying into
    /// them messages the server will not read within the run (with Redis, 0.85 of a core
    /// against 0.26 with 64 KiB; BENCHMARKS.md). A capped buffer fills, the sender waits for
    /// room, and what falls due meanwhile goes out late, charged to latency from the schedule.
    pub fn with_send_buffer(mut self, bytes: Option<u32>) -> Connector {
        self.send_buffer = bytes;
        self
    }

    /// Gathers up to `bytes` of frames before writing them (0: each frame is written when fed),
    /// so that a sender's batch of overdue messages goes out in one write at its flush.
    pub fn with_write_buffer(mut self, bytes: usize) -> Connector {
        self.config = self.config.write_buffer_size(bytes);
        self
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Opens a WebSocket on `path_and_query` (relative to the server), with a bearer token.
    pub async fn connect(
        &self,
        path_and_query: &str,
        bearer: Option<&str>,
    ) -> Result<Socket, LoadError> {
        let stream = self.tcp().await?;
        let url = format!("ws://{}{}", self.endpoint.addr, path_and_query);
        let mut request = url.into_client_request()?;
        if let Some(token) = bearer {
            let value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|error| LoadError::Token(error.to_string()))?;
            request.headers_mut().insert("authorization", value);
        }
        let (socket, _response) =
            tokio_tungstenite::client_async_with_config(request, stream, Some(self.config)).await?;
        Ok(socket)
    }

    async fn tcp(&self) -> Result<TcpStream, LoadError> {
        let socket = match self.endpoint.addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        if let Some(bytes) = self.send_buffer {
            socket.set_send_buffer_size(bytes)?;
        }
        if let Some(source) = self.pick_source() {
            socket.bind(SocketAddr::new(source, 0))?;
        }
        let stream = socket.connect(self.endpoint.addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn pick_source(&self) -> Option<IpAddr> {
        if self.sources.is_empty() {
            return None;
        }
        let index = self.next_source.fetch_add(1, Ordering::Relaxed);
        Some(self.sources[index % self.sources.len()])
    }
}

/// The next text frame, skipping pings and pongs; `None` when the connection ended.
pub async fn next_text(socket: &mut Socket) -> Option<Result<Utf8Bytes, LoadError>> {
    loop {
        match socket.next().await? {
            Ok(Message::Text(text)) => return Some(Ok(text)),
            Ok(Message::Close(frame)) => {
                let why = frame.map_or("no code".to_string(), |f| {
                    format!("{} {}", u16::from(f.code), f.reason)
                });
                return Some(Err(LoadError::Protocol(format!("closed: {why}"))));
            }
            Ok(Message::Binary(_)) => {
                return Some(Err(LoadError::Protocol("binary frame".into())));
            }
            Ok(_) => {}
            Err(error) => return Some(Err(error.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        let cases = [
            ("ws://127.0.0.1:8080/ws", Some(("127.0.0.1:8080", "/ws"))),
            ("ws://127.0.0.1:9", Some(("127.0.0.1:9", "/ws"))),
            ("ws://localhost:80/x", Some(("127.0.0.1:80", "/x"))),
            ("http://127.0.0.1:80/ws", None),
            ("ws://example:80/ws", None),
        ];
        for (url, expected) in cases {
            let parsed = Endpoint::parse(url).ok();
            let expected = expected.map(|(addr, path)| Endpoint {
                addr: addr.parse().expect("test address"),
                path: path.to_string(),
            });
            assert_eq!(parsed, expected, "{url}");
        }
    }
}
