//! Reading the hub's `/metrics` at the start and end of the measured window, for the store
//! commands it sent per message stored (issue 8: at most 2 with Redis).
//!
//! A one-request HTTP/1.1 `GET` over a plain TCP stream, as `admin` does. Only the two
//! counters it needs are read; a hub whose store sends no commands (memory) has no command
//! counter, and the report then shows none.

use std::net::SocketAddr;

use super::LoadError;
use super::stats::StoreCommands;

const COMMANDS: &str = "logistics_bridge_store_commands_total";
const MESSAGES: &str = "logistics_bridge_messages_total";

/// Where `/metrics` is: `http://IP:PORT/PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsUrl {
    pub addr: SocketAddr,
    pub path: String,
}

impl MetricsUrl {
    pub fn parse(url: &str) -> Result<MetricsUrl, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url:?}: expected http://IP:PORT/PATH"))?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let addr = authority
            .parse()
            .map_err(|_| format!("{url:?}: expected an IP:PORT, not {authority:?}"))?;
        let path = if path.is_empty() { "/metrics" } else { path };
        Ok(MetricsUrl {
            addr,
            path: path.to_string(),
        })
    }
}

/// Commands and messages counted so far: `(commands, messages)`; commands is `None` when the
/// hub does not count any.
pub async fn counters(url: &MetricsUrl) -> Result<(Option<u64>, u64), LoadError> {
    let body = get(url).await?;
    let value = |name: &str| {
        body.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|value| value.trim().parse::<u64>().ok())
    };
    Ok((value(COMMANDS), value(MESSAGES).unwrap_or(0)))
}

/// The counters' growth between two readings.
pub fn between(start: (Option<u64>, u64), end: (Option<u64>, u64)) -> Option<StoreCommands> {
    let (Some(first), Some(last)) = (start.0, end.0) else {
        return None;
    };
    Some(StoreCommands {
        commands: last.saturating_sub(first),
        messages: end.1.saturating_sub(start.1),
    })
}

async fn get(url: &MetricsUrl) -> Result<String, LoadError> {
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        url.path, url.addr
    );
    let response = super::admin::exchange(url.addr, &request, "the metrics endpoint").await?;
    let status = response.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(LoadError::Protocol(format!("GET {}: {status}", url.path)));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        // (url, parsed address and path)
        let cases = [
            (
                "http://127.0.0.1:8080/metrics",
                Some(("127.0.0.1:8080", "/metrics")),
            ),
            (
                "http://127.0.0.1:8080",
                Some(("127.0.0.1:8080", "/metrics")),
            ),
            ("https://127.0.0.1:8080/metrics", None),
            ("http://localhost:8080/metrics", None),
        ];
        for (url, expected) in cases {
            let parsed = MetricsUrl::parse(url).ok();
            let parsed = parsed
                .as_ref()
                .map(|u| (u.addr.to_string(), u.path.as_str()));
            let expected = expected.map(|(a, p)| (a.to_string(), p));
            assert_eq!(parsed, expected, "{url}");
        }
    }

    #[test]
    fn growth_between_readings() {
        let counted = between((Some(100), 10), (Some(300), 110));
        let expected = StoreCommands {
            commands: 200,
            messages: 100,
        };
        assert_eq!(counted, Some(expected));
        assert_eq!(between((None, 10), (None, 20)), None);
    }
}
