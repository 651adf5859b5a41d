//! Nodes answering for staff presence (`store::liveness`), in Redis: each step one script.
//!
//! Keys (see `keys`): the deadlines of every node in one sorted set (score: milliseconds since
//! the epoch), the staff each node holds, the nodes holding each user, and a marker left on a
//! node that another node claimed. Like the commit, these scripts write keys of several hash
//! tags (a staff member's presence lives under the shop's or the carrier's), so they need a
//! standalone Redis. Staff are written `a|<user>|<shop>` or `c|<user>|<CARRIER>`: ids never hold
//! `|`, and the Lua side rebuilds the presence key from them.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use redis::Value;
use uuid::Uuid;

use super::RedisStore;
use super::codec;
use super::keys;
use super::lua::Lua;
use crate::domain::order::Carrier;
use crate::protocol::client::PresenceStatus;
use crate::protocol::ids::{ShopId, UserId};
use crate::store::{Beat, Post, Staff, StoreError};

/// How long a claimed node's marker stays: far longer than any node stays silent and lives on.
const CLAIMED_MARKER_SECONDS: u64 = 86_400;

/// Lua: whether a node of `nodes` (a set key) is alive at `now` (its deadline not passed).
const IS_HELD: &str = r#"
local function is_held(deadlines, nodes, now)
  for _, other in ipairs(redis.call('SMEMBERS', nodes)) do
    local deadline = redis.call('ZSCORE', deadlines, other)
    if deadline and tonumber(deadline) >= now then return true end
  end
  return false
end
"#;

/// KEYS: deadlines, the node's held set, the user's nodes. ARGV: node, staff, deadline (ms).
static HOLD: LazyLock<Lua> = LazyLock::new(|| {
    Lua::new(
        r#"
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[1])
return 1
"#,
    )
});

/// KEYS: deadlines, the node's held set, the user's nodes, the presence hash. ARGV: node,
/// staff, now (ms), user, the offline status (JSON). Returns 1 when the user went offline.
static RELEASE: LazyLock<Lua> = LazyLock::new(|| {
    Lua::new(format!(
        "{IS_HELD}{}",
        r#"
redis.call('SREM', KEYS[2], ARGV[2])
redis.call('SREM', KEYS[3], ARGV[1])
if is_held(KEYS[1], KEYS[3], tonumber(ARGV[3])) then return 0 end
redis.call('HSET', KEYS[4], ARGV[4], ARGV[5])
return 1
"#
    ))
});

/// KEYS: deadlines, the user's nodes. ARGV: now (ms). Returns 1 when a live node holds the user.
static HELD: LazyLock<Lua> = LazyLock::new(|| {
    Lua::new(format!(
        "{IS_HELD}{}",
        "if is_held(KEYS[1], KEYS[2], tonumber(ARGV[1])) then return 1 end return 0"
    ))
});

/// KEYS: deadlines, the node's claimed marker. ARGV: node, now (ms), deadline (ms), the offline
/// status (JSON), the marker's lifetime (s). Returns `{rejoined (0/1), {staff, ...}}`: the staff
/// of claimed nodes who went offline.
static BEAT: LazyLock<Lua> = LazyLock::new(|| {
    Lua::new(format!(
        "{IS_HELD}{}",
        r#"
local deadlines, now = KEYS[1], tonumber(ARGV[2])
redis.call('ZADD', deadlines, ARGV[3], ARGV[1])
local rejoined = redis.call('DEL', KEYS[2])
local offline = {}
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', deadlines, '-inf', '(' .. ARGV[2])) do
  if dead ~= ARGV[1] and redis.call('ZREM', deadlines, dead) == 1 then
    redis.call('SET', 'lb:{node:' .. dead .. '}:claimed', '1', 'EX', ARGV[5])
    local held = 'lb:{node:' .. dead .. '}:held'
    for _, staff in ipairs(redis.call('SMEMBERS', held)) do
      local kind, user, post = string.match(staff, '^(%a)|([^|]+)|([^|]+)$')
      if kind then
        local nodes = 'lb:{user:' .. user .. '}:nodes'
        redis.call('SREM', nodes, dead)
        if not is_held(deadlines, nodes, now) then
          local presence = 'lb:{carrier:' .. post .. '}:desk'
          if kind == 'a' then presence = 'lb:{shop:' .. post .. '}:presence' end
          redis.call('HSET', presence, user, ARGV[4])
          table.insert(offline, staff)
        end
      end
    end
    redis.call('DEL', held)
  end
end
return {rejoined, offline}
"#
    ))
});

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn encode_staff(staff: &Staff) -> String {
    match &staff.post {
        Post::Shop(shop) => format!("a|{}|{shop}", staff.user),
        Post::Carrier(carrier) => format!("c|{}|{}", staff.user, carrier.code()),
    }
}

fn decode_staff(key: &str, text: &str) -> Result<Staff, StoreError> {
    let bad = || codec::corrupt(key, format!("not a staff member: {text:?}"));
    let mut parts = text.splitn(3, '|');
    let (Some(kind), Some(user), Some(post)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let user = UserId::new(user).map_err(|_| bad())?;
    let post = match kind {
        "a" => Post::Shop(ShopId::new(post).map_err(|_| bad())?),
        "c" => Post::Carrier(Carrier::from_code(post).ok_or_else(bad)?),
        _ => return Err(bad()),
    };
    Ok(Staff { user, post })
}

fn presence_key(staff: &Staff) -> String {
    match &staff.post {
        Post::Shop(shop) => keys::shop_presence(shop),
        Post::Carrier(carrier) => keys::courier_desk(*carrier),
    }
}

impl RedisStore {
    pub(super) async fn hold_staff(
        &self,
        node: Uuid,
        staff: &Staff,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let held = keys::node_held(node);
        let mut invocation = HOLD.prepare_invoke();
        invocation
            .key(keys::NODE_DEADLINES)
            .key(&held)
            .key(keys::user_nodes(&staff.user))
            .arg(node.to_string())
            .arg(encode_staff(staff))
            .arg(millis(until));
        self.connection.script(&held, &invocation).await?;
        Ok(())
    }

    pub(super) async fn release_staff(
        &self,
        node: Uuid,
        staff: &Staff,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let held = keys::node_held(node);
        let presence = presence_key(staff);
        let mut invocation = RELEASE.prepare_invoke();
        invocation
            .key(keys::NODE_DEADLINES)
            .key(&held)
            .key(keys::user_nodes(&staff.user))
            .key(&presence)
            .arg(node.to_string())
            .arg(encode_staff(staff))
            .arg(millis(now))
            .arg(staff.user.as_str())
            .arg(codec::encode(&presence, &PresenceStatus::Offline)?);
        let reply = self.connection.script(&held, &invocation).await?;
        Ok(codec::number(&held, reply)? == 1)
    }

    pub(super) async fn staff_is_held(
        &self,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let nodes = keys::user_nodes(user);
        let mut invocation = HELD.prepare_invoke();
        invocation
            .key(keys::NODE_DEADLINES)
            .key(&nodes)
            .arg(millis(now));
        let reply = self.connection.script(&nodes, &invocation).await?;
        Ok(codec::number(&nodes, reply)? == 1)
    }

    pub(super) async fn beat_node(
        &self,
        node: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Beat, StoreError> {
        let key = keys::NODE_DEADLINES;
        let mut invocation = BEAT.prepare_invoke();
        invocation
            .key(key)
            .key(keys::node_claimed(node))
            .arg(node.to_string())
            .arg(millis(now))
            .arg(millis(until))
            .arg(codec::encode(key, &PresenceStatus::Offline)?)
            .arg(CLAIMED_MARKER_SECONDS);
        let reply = self.connection.script(key, &invocation).await?;
        let mut parts = codec::items(key, reply)?.into_iter();
        let (Some(rejoined), Some(offline)) = (parts.next(), parts.next()) else {
            return Err(codec::corrupt(key, "a beat answered without its two parts"));
        };
        let offline = codec::items(key, offline)?
            .into_iter()
            .map(|item: Value| {
                let text = codec::text(key, item)?.unwrap_or_default();
                decode_staff(key, &text)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Beat {
            rejoined: codec::number(key, rejoined)? == 1,
            offline,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_are_written_so_that_they_read_back() {
        let agent = Staff {
            user: UserId::new("a.1").expect("id"),
            post: Post::Shop(ShopId::new("s:9").expect("id")),
        };
        let courier = Staff {
            user: UserId::new("c-1").expect("id"),
            post: Post::Carrier(Carrier::Yunda),
        };
        assert_eq!(encode_staff(&courier), "c|c-1|YUNDA");
        for staff in [agent, courier] {
            assert_eq!(
                decode_staff("k", &encode_staff(&staff)).expect("staff"),
                staff
            );
        }
        assert!(decode_staff("k", "x|u|s").is_err());
        assert!(decode_staff("k", "a|u").is_err());
    }
}
