//! Group commit: the calls of a per-message script from every session on this node, sent
//! together as one `EVALSHA` of the script's batched form ([`Lua::batched`]).
//!
//! With one `EVALSHA` per chat message the hub paid, for every message, a trip through the
//! client's task, a write and a read, a timer and a wake-up, and Redis its per-script
//! overhead. Now both are paid per batch. A batch is whatever queued while the batches before
//! it were in flight: a call that finds fewer than [`MAX_IN_FLIGHT`] batches out goes at once,
//! in a batch of its own, so a quiet hub waits no longer than before; under load batches grow
//! by themselves.
//!
//! Order: calls go out in the order they were queued, and Redis runs a batch's calls in that
//! order and batches one after another (one pipelined connection). A session's commits are
//! never in flight together anyway: its actor awaits each.
//!
//! Errors: a batch that fails as a whole (Redis unreachable, no answer in time) fails each of
//! its calls with that error; a call whose script raised an error fails alone. Either way a
//! failed call may have been written, as with a single script: callers treat the error as
//! "not acknowledged", and a retried commit finds its `client_msg_id`.

use std::sync::Arc;

use futures_util::stream::{FuturesUnordered, StreamExt};
use redis::Value;
use tokio::sync::{mpsc, oneshot};

use super::connection::{self, Connection};
use super::lua::{Invocation, Lua};
use crate::store::StoreError;

/// Calls in one `EVALSHA` at most. A commit costs Redis about 20 µs, so a full batch holds
/// Redis for a few milliseconds at most.
const MAX_BATCH: usize = 128;
/// Batches sent and not answered yet, at most; while they are out, calls queue for the next.
/// Two keep Redis busy with one batch while the next one is on its way.
const MAX_IN_FLIGHT: usize = 2;
/// Calls queued for a batch before callers wait to queue (the channel is bounded).
const QUEUE: usize = 4096;

/// One call waiting for its batch.
struct Queued {
    call: Invocation<'static>,
    /// Named in the caller's errors.
    key: String,
    reply: oneshot::Sender<Result<Value, StoreError>>,
}

/// The handle callers queue their calls on; its task stops when the last handle is dropped.
#[derive(Clone)]
pub struct Batcher {
    queue: mpsc::Sender<Queued>,
}

impl Batcher {
    /// Starts the task that sends `script`'s batches (a [`Lua::batched`] script) on
    /// `connection`. Needs a Tokio runtime.
    pub fn start(connection: Arc<Connection>, script: &'static Lua) -> Batcher {
        let (queue, calls) = mpsc::channel(QUEUE);
        tokio::spawn(run(connection, script, calls));
        Batcher { queue }
    }

    /// Runs `call` (built on the batched script) in the next batch; its reply as the script
    /// alone would have answered it.
    ///
    /// Bounded like every store call: a caller queued behind batches that wait on a Redis
    /// that does not answer is told `Unavailable` after `OPERATION_TIMEOUT`, as it would have
    /// been alone. Its call may still go out later; callers treat the error as "not
    /// acknowledged", and a retried commit finds its `client_msg_id`.
    pub async fn call(&self, key: &str, call: Invocation<'static>) -> Result<Value, StoreError> {
        let (reply, answer) = oneshot::channel();
        let queued = Queued {
            call,
            key: key.to_string(),
            reply,
        };
        let answered = async {
            self.queue.send(queued).await.map_err(|_| stopped())?;
            answer.await.map_err(|_| stopped())?
        };
        match tokio::time::timeout(connection::OPERATION_TIMEOUT, answered).await {
            Ok(answered) => answered,
            Err(_) => Err(StoreError::Unavailable(format!(
                "no answer from redis within {:?}",
                connection::OPERATION_TIMEOUT
            ))),
        }
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the redis batcher stopped".into())
}

async fn run(connection: Arc<Connection>, script: &'static Lua, mut calls: mpsc::Receiver<Queued>) {
    let mut in_flight = FuturesUnordered::new();
    loop {
        tokio::select! {
            Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
            first = calls.recv(), if in_flight.len() < MAX_IN_FLIGHT => {
                let Some(first) = first else { break };
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match calls.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                in_flight.push(send(Arc::clone(&connection), script, batch));
            }
        }
    }
    while in_flight.next().await.is_some() {}
}

/// Sends one batch and hands each call its reply.
async fn send(connection: Arc<Connection>, script: &'static Lua, batch: Vec<Queued>) {
    let count = batch.len();
    let mut calls = Vec::with_capacity(count);
    let mut waiting = Vec::with_capacity(count);
    for queued in batch {
        calls.push(queued.call);
        waiting.push((queued.key, queued.reply));
    }
    let invocation = script.invoke_batch(&mut calls);
    let first_key = waiting.first().map_or("", |(key, _)| key.as_str());
    let answered = connection.script(first_key, &invocation).await;
    match answered.and_then(|reply| split(first_key, reply, count)) {
        Ok(replies) => {
            for (reply, (key, caller)) in replies.into_iter().zip(waiting) {
                // A caller that gave up waiting is gone; its call was still run.
                let _ = caller.send(unwrap(&key, reply));
            }
        }
        Err(error) => {
            for (_, caller) in waiting {
                let _ = caller.send(Err(copy(&error)));
            }
        }
    }
}

/// The batch's reply: one item per call.
fn split(key: &str, reply: Value, count: usize) -> Result<Vec<Value>, StoreError> {
    match reply {
        Value::Array(items) if items.len() == count => Ok(items),
        other => Err(StoreError::Corrupt {
            key: key.to_string(),
            detail: format!("a batch of {count} calls answered {other:?}"),
        }),
    }
}

/// One call's item: `{1, reply}`, `{1}` for nothing, or `{0, "CODE message"}`.
fn unwrap(key: &str, item: Value) -> Result<Value, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        key: key.to_string(),
        detail,
    };
    let Value::Array(mut parts) = item else {
        return Err(corrupt(format!("a batched call answered {item:?}")));
    };
    let reply = if parts.len() == 2 { parts.pop() } else { None };
    match (parts.first(), reply) {
        (Some(Value::Int(1)), reply) if parts.len() == 1 => Ok(reply.unwrap_or(Value::Nil)),
        (Some(Value::Int(0)), Some(message)) => Err(raised(key, &message)),
        _ => Err(corrupt(format!("a batched call answered {parts:?}"))),
    }
}

/// The error a call's script raised, judged as the connection judges a script's error reply
/// (an `OOM` or `BUSY` is Redis being unavailable, anything else a fault in the data).
fn raised(key: &str, message: &Value) -> StoreError {
    let text = match message {
        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Value::SimpleString(text) => text.clone(),
        other => format!("{other:?}"),
    };
    let (code, detail) = text.split_once(' ').unwrap_or((text.as_str(), ""));
    let error = redis::make_extension_error(code.to_string(), Some(detail.to_string()));
    connection::store_error(key, &error)
}

/// `StoreError` is not `Clone`: one batch's failure is told to each of its callers.
fn copy(error: &StoreError) -> StoreError {
    match error {
        StoreError::Unavailable(detail) => StoreError::Unavailable(detail.clone()),
        StoreError::Corrupt { key, detail } => StoreError::Corrupt {
            key: key.clone(),
            detail: detail.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn a_batched_call_answers_its_reply_nothing_or_its_error() {
        let reply = Value::Array(vec![Value::Int(1), bulk("new")]);
        assert_eq!(unwrap("k", reply).expect("reply"), bulk("new"));
        let nothing = Value::Array(vec![Value::Int(1)]);
        assert_eq!(unwrap("k", nothing).expect("nil"), Value::Nil);
        let wrong_type = Value::Array(vec![Value::Int(0), bulk("WRONGTYPE Operation")]);
        assert!(matches!(
            unwrap("k", wrong_type),
            Err(StoreError::Corrupt { .. })
        ));
        let out_of_memory = Value::Array(vec![Value::Int(0), bulk("OOM command not allowed")]);
        assert!(matches!(
            unwrap("k", out_of_memory),
            Err(StoreError::Unavailable(_))
        ));
        for odd in [
            Value::Int(1),
            Value::Array(vec![]),
            Value::Array(vec![Value::Int(2)]),
        ] {
            assert!(matches!(unwrap("k", odd), Err(StoreError::Corrupt { .. })));
        }
    }

    #[test]
    fn a_batch_reply_must_have_one_item_per_call() {
        let two = Value::Array(vec![Value::Nil, Value::Nil]);
        assert_eq!(split("k", two.clone(), 2).expect("two").len(), 2);
        assert!(split("k", two, 3).is_err());
        assert!(split("k", Value::Nil, 1).is_err());
    }
}
