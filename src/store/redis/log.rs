//! Session message logs: one Redis Stream per session, entry id `0-<seq>`.
//!
//! `append` is one `EVALSHA` (see `scripts::APPEND`): dedupe, seq, `XADD` and trimming in one
//! atomic step, so two hub nodes appending to one session never share or skip a seq.
//! `messages_after` is one round trip of two commands (`XRANGE` and `HMGET` of the meta hash).

use redis::Value;

use super::RedisStore;
use super::codec::{self, LoggedMessage};
use super::keys::SessionKeys;
use super::scripts;
use crate::protocol::ids::{ClientMsgId, SessionId};
use crate::store::{Appended, History, NewMessage, StoreError, StoredMessage};

impl RedisStore {
    pub(super) async fn append_message(
        &self,
        session: SessionId,
        message: NewMessage,
    ) -> Result<Appended, StoreError> {
        let keys = SessionKeys::new(session);
        let logged = LoggedMessage::new(message);
        let json = codec::encode(&keys.log, &logged)?;
        let client_id = logged.client_msg_id.as_ref().map_or("", |id| id.as_str());
        let mut invocation = scripts::APPEND.prepare_invoke();
        invocation
            .key(&keys.meta)
            .key(&keys.dedupe)
            .key(&keys.log)
            .arg(client_id)
            .arg(self.retained)
            .arg(json);
        let reply = self.connection.script(&keys.log, &invocation).await?;
        let mut parts = codec::items(&keys.log, reply)?.into_iter();
        let outcome = codec::text(&keys.log, parts.next().unwrap_or(Value::Nil))?;
        let seq = codec::number(&keys.log, parts.next().unwrap_or(Value::Nil))?;
        match outcome.as_deref() {
            Some("new") => Ok(Appended::New(logged.stored(seq))),
            Some("duplicate") => {
                let original = parts.next().unwrap_or(Value::Nil);
                let original: LoggedMessage = codec::json(&keys.log, original)?
                    .ok_or_else(|| codec::corrupt(&keys.log, "duplicate without its message"))?;
                Ok(Appended::Duplicate(original.stored(seq)))
            }
            other => Err(codec::corrupt(
                &keys.log,
                format!("append answered {other:?}"),
            )),
        }
    }

    pub(super) async fn message_with_client_id(
        &self,
        session: SessionId,
        client_msg_id: &ClientMsgId,
    ) -> Result<Option<StoredMessage>, StoreError> {
        let keys = SessionKeys::new(session);
        let mut invocation = scripts::BY_CLIENT_ID.prepare_invoke();
        invocation
            .key(&keys.dedupe)
            .key(&keys.log)
            .arg(client_msg_id.as_str());
        let reply = self.connection.script(&keys.log, &invocation).await?;
        if reply == Value::Nil {
            return Ok(None);
        }
        let mut parts = codec::items(&keys.log, reply)?.into_iter();
        let seq = codec::number(&keys.log, parts.next().unwrap_or(Value::Nil))?;
        let logged: Option<LoggedMessage> =
            codec::json(&keys.log, parts.next().unwrap_or(Value::Nil))?;
        Ok(logged.map(|logged| logged.stored(seq)))
    }

    pub(super) async fn history(
        &self,
        session: SessionId,
        after_seq: u64,
        limit: usize,
    ) -> Result<History, StoreError> {
        let keys = SessionKeys::new(session);
        let mut pipe = redis::pipe();
        pipe.cmd("HMGET").arg(&keys.meta).arg("last").arg("oldest");
        // Inclusive start at `after_seq + 1`: an exclusive `(0-<u64::MAX>` is an error.
        let wants_messages = limit > 0 && after_seq < u64::MAX;
        if wants_messages {
            let start = format!("0-{}", after_seq + 1);
            let count = limit.min(i64::MAX as usize);
            pipe.xrange_count(&keys.log, start, "+", count);
        }
        let mut replies = self
            .connection
            .pipeline(&keys.log, &pipe)
            .await?
            .into_iter();
        let meta = codec::items(&keys.meta, replies.next().unwrap_or(Value::Nil))?;
        let mut meta = meta.into_iter();
        let last_seq = codec::number(&keys.meta, meta.next().unwrap_or(Value::Nil))?;
        let oldest_seq = match meta.next().unwrap_or(Value::Nil) {
            Value::Nil => last_seq + 1,
            oldest => codec::number(&keys.meta, oldest)?,
        };
        let messages = match replies.next() {
            Some(range) => codec::stream_messages(&keys.log, range)?,
            None => Vec::new(),
        };
        Ok(History {
            messages,
            oldest_seq,
            last_seq,
        })
    }
}
