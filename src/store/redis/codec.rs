//! Records to and from Redis values: JSON (serde) for records, plain strings for ids and
//! counts. Anything that does not decode is `StoreError::Corrupt` naming the key.

use std::fmt::Display;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use redis::Value;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::protocol::ids::{ClientMsgId, MessageId, SessionId};
use crate::protocol::server::{Body, Member};
use crate::store::{NewMessage, StoreError, StoredMessage};

pub fn corrupt(key: &str, detail: impl Display) -> StoreError {
    StoreError::Corrupt {
        key: key.to_string(),
        detail: detail.to_string(),
    }
}

pub fn encode<T: Serialize>(key: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|error| corrupt(key, error))
}

pub fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|error| corrupt(key, error))
}

/// A string reply's bytes; `None` for nil.
pub fn bytes(key: &str, value: Value) -> Result<Option<Vec<u8>>, StoreError> {
    match value {
        Value::Nil => Ok(None),
        Value::BulkString(bytes) => Ok(Some(bytes)),
        Value::SimpleString(text) => Ok(Some(text.into_bytes())),
        Value::Int(number) => Ok(Some(number.to_string().into_bytes())),
        other => Err(corrupt(key, format!("expected a string, got {other:?}"))),
    }
}

pub fn text(key: &str, value: Value) -> Result<Option<String>, StoreError> {
    bytes(key, value)?
        .map(|bytes| String::from_utf8(bytes).map_err(|error| corrupt(key, error)))
        .transpose()
}

/// A JSON record; `None` for nil.
pub fn json<T: DeserializeOwned>(key: &str, value: Value) -> Result<Option<T>, StoreError> {
    bytes(key, value)?
        .map(|bytes| decode(key, &bytes))
        .transpose()
}

/// The items of an array or set reply; nil is empty.
pub fn items(key: &str, value: Value) -> Result<Vec<Value>, StoreError> {
    match value {
        Value::Nil => Ok(Vec::new()),
        Value::Array(items) | Value::Set(items) => Ok(items),
        other => Err(corrupt(key, format!("expected an array, got {other:?}"))),
    }
}

/// Every item of an array reply as a JSON record.
pub fn json_items<T: DeserializeOwned>(key: &str, value: Value) -> Result<Vec<T>, StoreError> {
    items(key, value)?
        .into_iter()
        .map(|item| json(key, item)?.ok_or_else(|| corrupt(key, "nil item")))
        .collect()
}

/// Every item of an array reply parsed from a string (ids).
pub fn parsed_items<T>(key: &str, value: Value) -> Result<Vec<T>, StoreError>
where
    T: FromStr<Err: Display>,
{
    items(key, value)?
        .into_iter()
        .map(|item| parse(key, &text(key, item)?.unwrap_or_default()))
        .collect()
}

pub fn parse<T>(key: &str, text: &str) -> Result<T, StoreError>
where
    T: FromStr<Err: Display>,
{
    text.parse()
        .map_err(|error| corrupt(key, format!("{text:?}: {error}")))
}

/// Field–value pairs of a hash reply (a flat array in RESP2, a map in RESP3).
pub fn pairs(key: &str, value: Value) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let flat = match value {
        Value::Map(map) => map.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        other => items(key, other)?,
    };
    let mut pairs = Vec::with_capacity(flat.len() / 2);
    let mut flat = flat.into_iter();
    while let (Some(field), Some(value)) = (flat.next(), flat.next()) {
        let field = text(key, field)?.unwrap_or_default();
        pairs.push((field, bytes(key, value)?.unwrap_or_default()));
    }
    Ok(pairs)
}

/// A count or a number stored as a string; nil is 0.
pub fn number(key: &str, value: Value) -> Result<u64, StoreError> {
    match value {
        Value::Int(number) => u64::try_from(number).map_err(|error| corrupt(key, error)),
        other => text(key, other)?.map_or(Ok(0), |text| parse(key, &text)),
    }
}

/// A time as a fixed-width string whose byte order is time order, for comparisons inside Lua
/// and for sorted-set members. Seconds are offset by 2^62 so that every time chrono can hold
/// is positive; a leap second's nanoseconds are clamped into the second.
pub fn sortable_time(at: DateTime<Utc>) -> String {
    let seconds = i128::from(at.timestamp()) + (1_i128 << 62);
    let nanos = at.timestamp_subsec_nanos().min(999_999_999);
    format!("{seconds:020}.{nanos:09}")
}

/// The time a [`sortable_time`] string holds.
pub fn parse_sortable_time(key: &str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    let (seconds, nanos) = text
        .split_once('.')
        .ok_or_else(|| corrupt(key, format!("{text:?} is not a sortable time")))?;
    let seconds = parse::<i128>(key, seconds)? - (1_i128 << 62);
    let seconds = i64::try_from(seconds).map_err(|error| corrupt(key, error))?;
    DateTime::from_timestamp(seconds, parse(key, nanos)?)
        .ok_or_else(|| corrupt(key, format!("{text:?} is out of range")))
}

/// A time exactly, as `<seconds>:<nanoseconds>`: unlike RFC 3339, it holds every time chrono
/// can (`DateTime::MIN_UTC` included).
pub fn exact_time(at: DateTime<Utc>) -> String {
    format!("{}:{}", at.timestamp(), at.timestamp_subsec_nanos())
}

pub fn parse_exact_time(key: &str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    let (seconds, nanos) = text
        .split_once(':')
        .ok_or_else(|| corrupt(key, format!("{text:?} is not <seconds>:<nanos>")))?;
    let (seconds, nanos) = (parse(key, seconds)?, parse(key, nanos)?);
    DateTime::from_timestamp(seconds, nanos)
        .ok_or_else(|| corrupt(key, format!("{text:?} is out of range")))
}

/// A waiting-pool member: sorts by `opened_at`, then by session id, as the memory store does.
pub fn pool_member(opened_at: DateTime<Utc>, session: SessionId) -> String {
    format!("{}|{session}", sortable_time(opened_at))
}

pub fn pool_session(key: &str, member: &str) -> Result<SessionId, StoreError> {
    let id = member.rsplit('|').next().unwrap_or_default();
    parse(key, id)
}

/// A message as the log stores it: everything but `seq`, which is the entry id (`0-<seq>`).
#[derive(Debug, Serialize, Deserialize)]
pub struct LoggedMessage {
    pub msg_id: MessageId,
    #[serde(default)]
    pub client_msg_id: Option<ClientMsgId>,
    pub sender: Member,
    pub body: Body,
    pub sent_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<bool>,
}

impl LoggedMessage {
    pub fn new(message: NewMessage) -> Self {
        LoggedMessage {
            msg_id: message.msg_id,
            client_msg_id: message.client_msg_id,
            sender: message.sender,
            body: message.body,
            sent_at: message.sent_at,
            prompt: message.prompt,
        }
    }

    pub fn stored(self, seq: u64) -> StoredMessage {
        StoredMessage {
            seq,
            msg_id: self.msg_id,
            client_msg_id: self.client_msg_id,
            sender: self.sender,
            body: self.body,
            sent_at: self.sent_at,
            prompt: self.prompt,
        }
    }
}

/// The seq of a stream entry id `0-<seq>`.
pub fn entry_seq(key: &str, id: &str) -> Result<u64, StoreError> {
    match id.split_once('-') {
        Some(("0", seq)) => parse(key, seq),
        _ => Err(corrupt(key, format!("entry id {id:?} is not 0-<seq>"))),
    }
}

/// The messages of an `XRANGE` reply: `[[id, [field, value, ...]], ...]`.
pub fn stream_messages(key: &str, value: Value) -> Result<Vec<StoredMessage>, StoreError> {
    items(key, value)?
        .into_iter()
        .map(|entry| stream_message(key, entry))
        .collect()
}

fn stream_message(key: &str, entry: Value) -> Result<StoredMessage, StoreError> {
    let mut parts = items(key, entry)?.into_iter();
    let (Some(id), Some(fields)) = (parts.next(), parts.next()) else {
        return Err(corrupt(key, "stream entry without id or fields"));
    };
    let seq = entry_seq(key, &text(key, id)?.unwrap_or_default())?;
    let message = pairs(key, fields)?
        .into_iter()
        .find(|(field, _)| field == "m")
        .ok_or_else(|| corrupt(key, format!("entry 0-{seq} has no message field")))?;
    let logged: LoggedMessage = decode(key, &message.1)?;
    Ok(logged.stored(seq))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn sortable_time_sorts_as_time() {
        let epoch = DateTime::UNIX_EPOCH;
        // Each row is earlier than the next.
        let times = [
            epoch - TimeDelta::days(365 * 3000),
            epoch - TimeDelta::nanoseconds(1),
            epoch,
            epoch + TimeDelta::nanoseconds(1),
            epoch + TimeDelta::milliseconds(999),
            epoch + TimeDelta::seconds(1),
            epoch + TimeDelta::days(365 * 5000),
        ];
        for pair in times.windows(2) {
            let (a, b) = (sortable_time(pair[0]), sortable_time(pair[1]));
            assert_eq!(a.len(), b.len());
            assert!(a < b, "{a} < {b}");
        }
    }

    /// The extremes and both sides of the epoch, to nanoseconds.
    fn edge_times() -> [DateTime<Utc>; 4] {
        [
            DateTime::<Utc>::MIN_UTC,
            DateTime::UNIX_EPOCH - TimeDelta::nanoseconds(1),
            DateTime::UNIX_EPOCH + TimeDelta::nanoseconds(123_456_789),
            DateTime::<Utc>::MAX_UTC,
        ]
    }

    #[test]
    fn sortable_times_round_trip() {
        for at in edge_times() {
            let text = sortable_time(at);
            assert_eq!(parse_sortable_time("k", &text).ok(), Some(at), "{text}");
        }
        assert!(parse_sortable_time("k", "12").is_err());
    }

    #[test]
    fn exact_times_round_trip() {
        for at in edge_times() {
            assert_eq!(parse_exact_time("k", &exact_time(at)).ok(), Some(at));
        }
        assert!(parse_exact_time("k", "12").is_err());
    }

    #[test]
    fn pool_members_round_trip() {
        let id = SessionId::new();
        let member = pool_member(DateTime::UNIX_EPOCH, id);
        assert_eq!(pool_session("k", &member).expect("parses"), id);
    }

    #[test]
    fn entry_ids() {
        // (id, seq)
        let cases = [
            ("0-1", Some(1)),
            ("0-42", Some(42)),
            ("1-1", None),
            ("x", None),
        ];
        for (id, seq) in cases {
            assert_eq!(entry_seq("k", id).ok(), seq, "{id}");
        }
    }

    #[test]
    fn corrupt_json_names_the_key() {
        let value = Value::BulkString(b"{not json".to_vec());
        let error = json::<Vec<u32>>("lb:{s:x}:controls", value).expect_err("corrupt");
        assert!(matches!(error, StoreError::Corrupt { key, .. } if key == "lb:{s:x}:controls"));
    }
}
