//! Feeding the hub's admin API (a shop's logistics settings, an order), so that a load session
//! can name an order and have its carrier's courier invited. A one-request HTTP/1.1 client over
//! a plain TCP stream: the generator needs nothing more, and the crate has no HTTP client
//! outside its tests.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::LoadError;

const TIMEOUT: Duration = Duration::from_secs(10);

/// Sends one HTTP/1.1 request (with `Connection: close`) and reads the whole response, within
/// [`TIMEOUT`]; `what` names the endpoint in a timeout error.
pub(super) async fn exchange(
    addr: SocketAddr,
    request: &str,
    what: &'static str,
) -> Result<String, LoadError> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| LoadError::Timeout(TIMEOUT, what))??;
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// `PUT path` with the admin `token` and a JSON body; fails unless the hub answers 200.
pub async fn put(
    addr: SocketAddr,
    token: &str,
    path: &str,
    body: &serde_json::Value,
) -> Result<(), LoadError> {
    let body = body.to_string();
    let request = format!(
        "PUT {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let response = exchange(addr, &request, "the admin API").await?;
    let status = response.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        Err(LoadError::Protocol(format!("PUT {path}: {status}")))
    }
}
