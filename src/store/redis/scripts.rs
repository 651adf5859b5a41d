//! The Lua scripts: each one is a step that must be atomic, and touches the keys of one hash tag
//! only, so each runs on one Redis Cluster slot.
//!
//! (The exception is `commit::COMMIT`, which writes a message's effects under several tags and
//! so needs a standalone Redis; see there.)
//!
//! They are sent as `EVALSHA` (see `lua`); the connection loads a script and retries once when
//! Redis answers `NOSCRIPT` (after a restart or `SCRIPT FLUSH`), so the first call after that
//! costs two more commands.

use std::sync::LazyLock;

use super::lua::Lua as Script;

/// Appends one message to a session's log, in one step.
///
/// KEYS: meta hash, dedupe hash, log stream (one session). ARGV: `client_msg_id` (`""` for
/// none), messages retained (at least 1), the message JSON without its seq.
///
/// A `client_msg_id` found in the dedupe hash returns `{"duplicate", seq, json}` and writes
/// nothing. Otherwise it appends as `append_after` does (see [`LOG_FUNCTIONS`]), writes the
/// meta hash's `last` and `oldest` and returns `{"new", seq}`.
pub static APPEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(format!(
        "{LOG_FUNCTIONS}{}",
        r#"
local meta, dedupe, log = KEYS[1], KEYS[2], KEYS[3]
local client_id, retained, message = ARGV[1], tonumber(ARGV[2]), ARGV[3]

local seen, original = find_duplicate(dedupe, log, client_id)
if seen then return {'duplicate', seen, original} end
local held = redis.call('HMGET', meta, 'last', 'oldest')
local seq, oldest = append_after(dedupe, log, client_id, retained, message,
  tonumber(held[1] or '0'), tonumber(held[2] or '0'))
redis.call('HSET', meta, 'last', seq, 'oldest', oldest)
return {'new', seq}
"#
    ))
});

/// Lua functions `APPEND` and `commit::COMMIT` share.
///
/// `find_duplicate(dedupe, log, client_id)` returns the seq and JSON of the retained message
/// with that `client_msg_id` (`""` for none), or nothing.
///
/// `append_after(dedupe, log, client_id, retained, message, last, oldest)` appends after seq
/// `last`, where `oldest` is the oldest seq retained (0 for an empty log), and returns the new
/// seq and the oldest seq retained after it, both as strings. The log holds every seq from
/// `oldest` to `last` (trimming drops the oldest first), so what it holds is known from the
/// meta hash the caller read already, without an `XLEN`. It trims the log to `retained - 1`
/// entries first, dropping the dedupe entries of the trimmed messages (so the hash holds
/// exactly the retained ones, as the memory store does), then `XADD`s the entry under id
/// `0-<seq>`. It writes no meta: the caller writes `last` and `oldest`, with whatever else it
/// changes there, in one `HSET`.
pub const LOG_FUNCTIONS: &str = r#"
local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return false
end

local function find_duplicate(dedupe, log, client_id)
  if client_id == '' then return nil end
  local seen = redis.call('HGET', dedupe, client_id)
  if not seen then return nil end
  local id = '0-' .. seen
  local found = redis.call('XRANGE', log, id, id)
  if not found[1] then return nil end
  return seen, field(found[1][2], 'm')
end

local function append_after(dedupe, log, client_id, retained, message, last, oldest)
  local held = 0
  if oldest > 0 and last >= oldest then held = last - oldest + 1 end
  local excess = held + 1 - retained
  if excess > 0 then
    local dropped = redis.call('XRANGE', log, '-', '+', 'COUNT', excess)
    for _, entry in ipairs(dropped) do
      local dropped_id = field(entry[2], 'c')
      if dropped_id then redis.call('HDEL', dedupe, dropped_id) end
    end
    if dropped[1] then
      oldest = tonumber(string.sub(dropped[#dropped][1], 3)) + 1
      redis.call('XTRIM', log, 'MINID', '0-' .. string.format('%d', oldest))
    end
  end
  local seq = string.format('%d', last + 1)
  if oldest == 0 then oldest = last + 1 end
  local id = '0-' .. seq
  if client_id ~= '' then
    redis.call('XADD', log, id, 'm', message, 'c', client_id)
    redis.call('HSET', dedupe, client_id, seq)
  else
    redis.call('XADD', log, id, 'm', message)
  end
  return seq, string.format('%d', oldest)
end
"#;

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

/// Writes a session's record or controls and bumps the session's version, in one step.
///
/// KEYS: the session's meta hash, the key to write. ARGV: the value. Returns `{version,
/// previous value or false}`.
pub static PUT_VERSIONED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
return {version, redis.call('SET', KEYS[2], ARGV[1], 'GET')}
"#,
    )
});

/// A session's record, controls and version, read in one step.
///
/// KEYS: the record, the controls, the meta hash. Returns `{record or false, controls or
/// false, version or false}`.
pub static SESSION_STATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]),
        redis.call('HGET', KEYS[3], 'version')}
"#,
    )
});

/// Remembers a recent contact: `record_contact(key, agent, at, limit)` keeps the latest time
/// per agent (a sortable time string, see `codec::sortable_time`) and at most `limit` agents,
/// dropping the least recent, as `RecentContacts::record` does.
pub const CONTACT_FUNCTION: &str = r#"
local function record_contact(key, agent, at, limit)
  local held = redis.call('HGET', key, agent)
  if held and held >= at then return end
  -- A field that was there already leaves the count as it was.
  if redis.call('HSET', key, agent, at) == 0 then return end
  if redis.call('HLEN', key) <= limit then return end
  local all = redis.call('HGETALL', key)
  local oldest_agent, oldest_at = nil, nil
  for i = 1, #all, 2 do
    if oldest_at == nil or all[i + 1] < oldest_at then
      oldest_agent, oldest_at = all[i], all[i + 1]
    end
  end
  redis.call('HDEL', key, oldest_agent)
end
"#;

/// `record_contact` alone, for routing's contacts.
///
/// KEYS: the pair's contacts hash. ARGV: the agent, the sortable time, the limit.
pub static RECORD_CONTACT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(format!(
        "{CONTACT_FUNCTION}{}",
        r#"
record_contact(KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3]))
return 1
"#
    ))
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

/// Claims a place among a courier's (`Store::claim_courier`; the rule is `store::claims`).
///
/// KEYS: the courier's open-session set (the index session saves keep), its claims hash
/// (session → deadline, ms since the epoch). ARGV: the session id, the most places, now and
/// the deadline (ms). Returns 1 when the place is the session's (a member, claimed now or
/// again), 0 when the courier is full. Drops the claims that expired.
pub static CLAIM_COURIER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local open, claims, session = KEYS[1], KEYS[2], ARGV[1]
local max, now, deadline = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
if redis.call('SISMEMBER', open, session) == 1 then return 1 end
local held, claimed = redis.call('HGETALL', claims), 0
for i = 1, #held, 2 do
  if tonumber(held[i + 1]) <= now then
    redis.call('HDEL', claims, held[i])
  elseif held[i] == session then
    redis.call('HSET', claims, session, deadline)
    return 1
  elseif redis.call('SISMEMBER', open, held[i]) == 0 then
    claimed = claimed + 1
  end
end
if redis.call('SCARD', open) + claimed >= max then return 0 end
redis.call('HSET', claims, session, deadline)
return 1
"#,
    )
});

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
