//! The Lua scripts: each one is a step that must be atomic, and touches the keys of one hash tag
//! only, so each runs on one Redis Cluster slot.
//!
//! They are sent as `EVALSHA`; `redis::Script` loads a script and retries once when Redis
//! answers `NOSCRIPT` (after a restart or `SCRIPT FLUSH`), so the first call after that costs
//! two more commands.

use std::sync::LazyLock;

use redis::Script;

/// Appends one message to a session's log, in one step.
///
/// KEYS: meta hash, dedupe hash, log stream (one session). ARGV: `client_msg_id` (`""` for
/// none), messages retained (at least 1), the message JSON without its seq.
///
/// A `client_msg_id` found in the dedupe hash returns `{"duplicate", seq, json}` and writes
/// nothing. Otherwise it trims the log to `retained - 1` entries first (dropping the dedupe
/// entries of the trimmed messages, so the hash holds exactly the retained ones, as the memory
/// store does), takes the next seq with `HINCRBY`, `XADD`s the entry under id `0-<seq>` and
/// returns `{"new", seq}`.
pub static APPEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return false
end

local meta, dedupe, log = KEYS[1], KEYS[2], KEYS[3]
local client_id, retained, message = ARGV[1], tonumber(ARGV[2]), ARGV[3]

if client_id ~= '' then
  local seen = redis.call('HGET', dedupe, client_id)
  if seen then
    local id = '0-' .. seen
    local found = redis.call('XRANGE', log, id, id)
    if found[1] then
      return {'duplicate', seen, field(found[1][2], 'm')}
    end
  end
end

local excess = redis.call('XLEN', log) + 1 - retained
if excess > 0 then
  local dropped = redis.call('XRANGE', log, '-', '+', 'COUNT', excess)
  for _, entry in ipairs(dropped) do
    local dropped_id = field(entry[2], 'c')
    if dropped_id then redis.call('HDEL', dedupe, dropped_id) end
  end
  redis.call('XTRIM', log, 'MAXLEN', retained - 1)
  local last_dropped = dropped[#dropped][1]
  local oldest = tonumber(string.sub(last_dropped, 3)) + 1
  redis.call('HSET', meta, 'oldest', string.format('%d', oldest))
end

local seq = string.format('%d', redis.call('HINCRBY', meta, 'last', 1))
local id = '0-' .. seq
if client_id ~= '' then
  redis.call('XADD', log, id, 'm', message, 'c', client_id)
  redis.call('HSET', dedupe, client_id, seq)
else
  redis.call('XADD', log, id, 'm', message)
end
redis.call('HSETNX', meta, 'oldest', seq)
return {'new', seq}
"#,
    )
});

/// The retained message with a `client_msg_id`.
///
/// KEYS: dedupe hash, log stream. ARGV: `client_msg_id`. Returns `{seq, json}` or nil.
pub static BY_CLIENT_ID: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local seen = redis.call('HGET', KEYS[1], ARGV[1])
if not seen then return false end
local id = '0-' .. seen
local found = redis.call('XRANGE', KEYS[2], id, id)
if not found[1] then return false end
local fields = found[1][2]
for i = 1, #fields, 2 do
  if fields[i] == 'm' then return {seen, fields[i + 1]} end
end
return false
"#,
    )
});

/// Stores an order unless the stored one is newer.
///
/// KEYS: order hash. ARGV: `updated_at` as a sortable string, the order JSON. Returns 1 when
/// applied, 0 when stale. An equal `updated_at` applies, as in the memory store.
pub static PUT_ORDER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local stored = redis.call('HGET', KEYS[1], 'updated_at')
if stored and stored > ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[1], 'order', ARGV[2])
return 1
"#,
    )
});

/// Compare-and-set of a string key, for read-modify-write done in Rust.
///
/// KEYS: the key. ARGV: the value read (`""` when the key was missing), the new value. Returns
/// 1 when swapped, 0 when someone wrote in between (the caller reads again).
pub static COMPARE_AND_SET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"#,
    )
});

/// Removes a hash field only if it still holds the expected value: closing a session must not
/// drop a newer session of the same (buyer, shop) from the index.
///
/// Sent with `EVAL` (the source, not the hash) inside index pipelines, where a `NOSCRIPT` reply
/// could not be retried. KEYS: the hash. ARGV: the field, the expected value.
pub const HDEL_IF_EQUAL: &str = r#"
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"#;

/// Appends a value to a list unless the list holds it already (`LPOS`, Redis 6.0.6+).
///
/// Sent with `EVAL` inside pipelines, like [`HDEL_IF_EQUAL`]. KEYS: the list. ARGV: the value.
/// Returns 1 when appended.
pub const RPUSH_UNIQUE: &str = r#"
if redis.call('LPOS', KEYS[1], ARGV[1]) then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
return 1
"#;

/// Keeps one shop rating per session: the first one wins.
///
/// KEYS: the set of rated sessions, the ratings list (one shop). ARGV: the session id, the
/// rating JSON. Returns 1 when stored, 0 when the session had a rating already.
pub static ADD_SHOP_RATING: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
return 1
"#,
    )
});
