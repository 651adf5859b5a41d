//! The connection to Redis: made lazily, remade by itself, and never waited on for long.
//!
//! One `ConnectionManager` (a multiplexed connection that reconnects on I/O errors) is shared by
//! every call. It is created on first use rather than at start, so a hub whose Redis is down at
//! start still serves (every store call answers `Unavailable` until Redis is back).
//!
//! Every call is bounded by [`OPERATION_TIMEOUT`], whatever the manager is doing: waiting for a
//! reconnect, a reply, or a connection attempt. A call that times out may still have run on
//! the server (the reply was lost, not the command): callers treat `Unavailable` as "not
//! acknowledged", and a retried `append` with the same `client_msg_id` finds the original.
//!
//! It also counts every command it sends (a pipeline of n commands counts n; a script call
//! counts its `EVALSHA`, and a `NOSCRIPT` reload its `SCRIPT LOAD` and second `EVALSHA`), for
//! `/metrics`: commands per chat message is what the Redis store is judged by.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Cmd, ErrorKind, Pipeline, RedisError, RedisResult, Value};
use tokio::sync::OnceCell;

use super::lua::Invocation;
use crate::store::StoreError;

/// How long one store call may take in all, including a reconnect.
pub(super) const OPERATION_TIMEOUT: Duration = Duration::from_millis(1500);
/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long Redis may take to answer one command on a live connection.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Server error codes that say "not now" rather than "bad data".
const TRANSIENT_CODES: [&str; 12] = [
    "BUSY",
    "LOADING",
    "MASTERDOWN",
    "CLUSTERDOWN",
    "TRYAGAIN",
    "READONLY",
    "MISCONF",
    "OOM",
    "NOREPLICAS",
    "NOAUTH",
    "WRONGPASS",
    "NOPERM",
];

/// A lazily made, self-healing connection.
pub struct Connection {
    client: Client,
    manager: OnceCell<ConnectionManager>,
    /// Commands sent so far.
    commands: Arc<AtomicU64>,
}

impl Connection {
    /// Checks the URL; connects on first use.
    pub fn new(url: &str) -> Result<Connection, StoreError> {
        let client = Client::open(url)
            .map_err(|error| StoreError::Unavailable(format!("bad redis URL {url:?}: {error}")))?;
        Ok(Connection {
            client,
            manager: OnceCell::new(),
            commands: Arc::default(),
        })
    }

    /// The count of commands sent, shared with whoever reports it.
    pub fn command_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.commands)
    }

    fn count(&self, commands: usize) {
        self.commands.fetch_add(commands as u64, Ordering::Relaxed);
    }

    /// The client, for connections of other kinds (pub/sub).
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// Connects now, if not yet connected; the error says why not.
    pub async fn warm_up(&self) -> Result<(), StoreError> {
        self.bounded("PING", async {
            let mut manager = self.manager().await?;
            self.count(1);
            redis::cmd("PING").query_async::<()>(&mut manager).await
        })
        .await
    }

    pub async fn query(&self, key: &str, cmd: &Cmd) -> Result<Value, StoreError> {
        self.bounded(key, async {
            let mut manager = self.manager().await?;
            self.count(1);
            cmd.query_async(&mut manager).await
        })
        .await
    }

    /// Sends the commands in one round trip; one value per command.
    pub async fn pipeline(&self, key: &str, pipe: &Pipeline) -> Result<Vec<Value>, StoreError> {
        self.bounded(key, async {
            let mut manager = self.manager().await?;
            self.count(pipe.len());
            pipe.query_async(&mut manager).await
        })
        .await
    }

    /// `EVALSHA`, loading the script once on `NOSCRIPT`.
    pub async fn script(
        &self,
        key: &str,
        invocation: &Invocation<'_>,
    ) -> Result<Value, StoreError> {
        self.bounded(key, async {
            let mut manager = self.manager().await?;
            let evalsha = invocation.evalsha();
            self.count(1);
            match evalsha.query_async(&mut manager).await {
                Err(error) if error.kind() == ErrorKind::NoScriptError => {
                    self.count(2);
                    invocation.load().query_async::<()>(&mut manager).await?;
                    evalsha.query_async(&mut manager).await
                }
                other => other,
            }
        })
        .await
    }

    async fn manager(&self) -> RedisResult<ConnectionManager> {
        let manager = self
            .manager
            .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config()))
            .await?;
        Ok(manager.clone())
    }

    async fn bounded<T>(
        &self,
        key: &str,
        work: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(OPERATION_TIMEOUT, work).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(store_error(key, &error)),
            Err(_) => Err(StoreError::Unavailable(format!(
                "no answer from redis within {OPERATION_TIMEOUT:?}"
            ))),
        }
    }
}

/// No retries inside the manager: a failed reconnect fails the calls waiting on it at once, and
/// the next call starts a fresh attempt. (Its built-in backoff starts at a second and grows to a
/// minute, which would keep the hub down long after Redis is back.)
fn config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_number_of_retries(0)
        .set_connection_timeout(CONNECT_TIMEOUT)
        .set_response_timeout(RESPONSE_TIMEOUT)
}

/// Redis faults: the data's (`Corrupt`: a wrong type, a failing script) or the service's
/// (`Unavailable`: I/O, timeouts, loading, out of memory, read-only replica, ...).
pub(super) fn store_error(key: &str, error: &RedisError) -> StoreError {
    let is_transient = error
        .code()
        .is_some_and(|code| TRANSIENT_CODES.contains(&code));
    let is_data_fault = matches!(
        error.kind(),
        ErrorKind::TypeError
            | ErrorKind::ResponseError
            | ErrorKind::ExtensionError
            | ErrorKind::ExecAbortError
            | ErrorKind::CrossSlot
    );
    if is_data_fault && !is_transient {
        StoreError::Corrupt {
            key: key.to_string(),
            detail: error.to_string(),
        }
    } else {
        StoreError::Unavailable(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        // (error, is unavailable)
        let cases: Vec<(RedisError, bool)> = vec![
            (RedisError::from(io), true),
            ((ErrorKind::TypeError, "not a string").into(), false),
            (redis::make_extension_error("WRONGTYPE".into(), None), false),
            (redis::make_extension_error("OOM".into(), None), true),
            ((ErrorKind::ResponseError, "script failed").into(), false),
            ((ErrorKind::BusyLoadingError, "loading").into(), true),
        ];
        for (error, unavailable) in cases {
            let mapped = store_error("k", &error);
            assert_eq!(
                matches!(mapped, StoreError::Unavailable(_)),
                unavailable,
                "{error}"
            );
        }
    }
}
