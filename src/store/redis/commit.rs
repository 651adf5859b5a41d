//! A chat message and its effects in one `EVALSHA` (see `store::commit`), and the one-command
//! read of an eligibility decision's facts.
//!
//! The commit script is the one place that writes keys of several hash tags in one script:
//! the session's keys, the waiting sets of the agents involved, the shop's responses list and
//! the (shop, buyer) pair's contacts and marketing tally. Redis Cluster refuses that (a script's
//! keys must share a slot), so the Redis store needs a standalone Redis, or a Cluster node that
//! holds every slot. The previous agent's waiting set is named inside the script (it is only
//! known there); it follows `keys::user_waiting`.
//!
//! The script also publishes the wake-ups other nodes need: the message's
//! (`Notification::Message`) and, for each agent whose waiting count changed,
//! `Notification::Waiting`. Their JSON is written in Lua; ids are validated to characters that
//! need no escaping, and `tests/integration/nodes.rs` checks that another node reads them.

use std::sync::{Arc, LazyLock};

use redis::Value;

use super::RedisStore;
use super::batch::Batcher;
use super::codec::{self, LoggedMessage};
use super::connection::Connection;
use super::keys::{self, SessionKeys};
use super::lua::Lua;
use super::scripts::{CONTACT_FUNCTION, LOG_FUNCTIONS};
use crate::domain::controls::recent::MAX_RECENT_CONTACTS;
use crate::domain::order::Order;
use crate::domain::shop::ShopLogistics;
use crate::protocol::ids::{OrderId, ShopId, UserId};
use crate::store::{
    Committed, MessageCommit, SessionState, StoreError, WaitingChange, WaitingCount,
};

/// KEYS: 1 meta, 2 dedupe, 3 log, 4 record, 5 controls, 6 waiting_on, 7 decision (the
/// session's), 8 the waiting set of the agent waited on (`waiting_on` again when none), 9 the
/// shop's responses, 10 the pair's contacts, 11 the pair's marketing tally.
///
/// ARGV: 1 the expected version, 2 messages retained, 3 the record JSON, 4 the controls JSON,
/// 5 `unchanged`/`nobody`/`on`, 6 the agent waited on, 7 the decision JSON, 8 the contact's
/// agent, 9 its sortable time, 10 the contacts kept, 11 the marketing tally JSON (each `""`
/// when not written); 12 the session id, 13 the node id, 14 the number of messages n; then n
/// pairs of `client_msg_id` (`""` for none) and message JSON; then the response records JSON.
///
/// Returns `{"duplicate", seq, json}` (a message was stored before; nothing written),
/// `{"conflict", version, record, controls}` (the version differs, the record is gone, or this
/// commit yields; nothing written), or `{"new", first seq, version, agent, count, ...}` with the
/// agents whose waiting count changed. The messages get consecutive seqs; one wake-up names the
/// last (a node that wakes reads the log up to it).
///
/// The meta hash is read once (`HMGET`) and written once (`HSET`): `version`, `last`,
/// `oldest`, and `yield`, the node whose commit was last refused. A node whose commits always
/// reach Redis first (its reply left first, so it sends first) would otherwise refuse the other
/// node's retries for as long as it has messages to send; so the first commit of another node
/// after a refusal yields to the refused node's retry, once. Yielding is a refusal like any
/// other (the state comes back), and one refusal clears `yield`, so a node that gave up costs
/// the others one retry, never a wait.
///
/// Sent in batches (`batch`): one `EVALSHA` runs it for every commit queued, and the batch's
/// wake-ups go out as one `PUBLISH` (`lua::Lua::batched`).
static COMMIT: LazyLock<Lua> = LazyLock::new(|| {
    Lua::batched(&format!(
        "{LOG_FUNCTIONS}{CONTACT_FUNCTION}{}",
        r#"
local meta, dedupe, log, record = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local session, node, n = ARGV[12], ARGV[13], tonumber(ARGV[14])
for i = 1, n do
  local seen, original = find_duplicate(dedupe, log, ARGV[13 + 2 * i])
  if seen then return {'duplicate', seen, original} end
end

local held = redis.call('HMGET', meta, 'version', 'last', 'oldest', 'yield')
local version, yield = tonumber(held[1] or '0'), held[4] or ''
local function refused()
  return {'conflict', version, redis.call('GET', record), redis.call('GET', KEYS[5])}
end
if version ~= tonumber(ARGV[1]) or redis.call('EXISTS', record) == 0 then
  if yield ~= node then redis.call('HSET', meta, 'yield', node) end
  return refused()
end
if yield ~= '' and yield ~= node then
  redis.call('HSET', meta, 'yield', '')
  return refused()
end

local retained = tonumber(ARGV[2])
local last, oldest = tonumber(held[2] or '0'), tonumber(held[3] or '0')
local first, seq, written = last + 1, nil, {}
for i = 1, n do
  local kept
  seq, kept = append_after(dedupe, log, ARGV[13 + 2 * i], retained, ARGV[14 + 2 * i], last,
    oldest)
  last, oldest = last + 1, tonumber(kept)
end
if seq then written = {'last', seq, 'oldest', string.format('%d', oldest)} end
if ARGV[3] ~= '' then redis.call('SET', record, ARGV[3]) end
if ARGV[4] ~= '' then redis.call('SET', KEYS[5], ARGV[4]) end
if ARGV[3] ~= '' or ARGV[4] ~= '' then
  version = version + 1
  table.insert(written, 'version')
  table.insert(written, string.format('%d', version))
end
if yield ~= '' then
  table.insert(written, 'yield')
  table.insert(written, '')
end
if written[1] then redis.call('HSET', meta, unpack(written)) end
if ARGV[7] ~= '' then redis.call('SET', KEYS[7], ARGV[7]) end
for i = 15 + 2 * n, #ARGV do redis.call('RPUSH', KEYS[9], ARGV[i]) end
if ARGV[8] ~= '' then
  record_contact(KEYS[10], ARGV[8], ARGV[9], tonumber(ARGV[10]))
end
if ARGV[11] ~= '' then redis.call('SET', KEYS[11], ARGV[11]) end

if seq then
  notify('{"kind":"message","session_id":"' .. session .. '","seq":' .. seq ..
    ',"node":"' .. node .. '"}')
end

local reply = {'new', first, version}
local function changed(agent)
  local count = redis.call('SCARD', 'lb:{user:' .. agent .. '}:waiting')
  table.insert(reply, agent)
  table.insert(reply, count)
  notify('{"kind":"waiting","agent":"' .. agent .. '","buyers_waiting":' .. count ..
    ',"node":"' .. node .. '"}')
end
local function stop_waiting(agent)
  if redis.call('SREM', 'lb:{user:' .. agent .. '}:waiting', session) == 1 then
    changed(agent)
  end
end

local waiting, agent = ARGV[5], ARGV[6]
if waiting ~= 'unchanged' then
  local previous = redis.call('GET', KEYS[6])
  if waiting == 'nobody' then
    if previous then
      redis.call('DEL', KEYS[6])
      stop_waiting(previous)
    end
  else
    if previous ~= agent then
      redis.call('SET', KEYS[6], agent)
      if previous then stop_waiting(previous) end
    end
    -- Added again even when already waiting on this agent, so that a set that lost the
    -- session (a half-done `set_waiting`) heals; a count only changes when it did.
    if redis.call('SADD', KEYS[8], session) == 1 then changed(agent) end
  end
end
return reply
"#
    ))
});

/// The chosen order and the shop's settings in one step. These keys have different hash tags,
/// so this too needs a standalone Redis (a pipeline of two reads would be cluster-safe but is
/// two commands).
///
/// KEYS: the shop's settings, then the order hash if an order is chosen. Returns `{settings or
/// false, order JSON or false}`.
static ELIGIBILITY_FACTS: LazyLock<Lua> = LazyLock::new(|| {
    Lua::batched(
        r#"
local order = false
if KEYS[2] then order = redis.call('HGET', KEYS[2], 'order') end
return {redis.call('GET', KEYS[1]), order}
"#,
    )
});

impl RedisStore {
    pub(super) async fn commit(&self, commit: &MessageCommit) -> Result<Committed, StoreError> {
        let keys = SessionKeys::new(commit.session);
        let effects = &commit.effects;
        let logged: Vec<LoggedMessage> = commit
            .messages
            .iter()
            .cloned()
            .map(LoggedMessage::new)
            .collect();
        let optional = |value: Option<String>| value.unwrap_or_default();
        let record = effects.record.as_ref();
        let record = record.map(|r| codec::encode(&keys.record, r)).transpose()?;
        let controls = effects.controls.as_ref();
        let controls = controls
            .map(|c| codec::encode(&keys.controls, c))
            .transpose()?;
        let decision = effects.decision.as_ref();
        let decision = decision
            .map(|d| codec::encode(&keys.decision, &**d))
            .transpose()?;
        let marketing_key = keys::marketing(&commit.shop, &commit.buyer);
        let marketing = effects.marketing.as_ref();
        let marketing = marketing
            .map(|t| codec::encode(&marketing_key, t))
            .transpose()?;
        let (waiting, agent) = match &effects.waiting {
            WaitingChange::Unchanged => ("unchanged", None),
            WaitingChange::Nobody => ("nobody", None),
            WaitingChange::On(agent) => ("on", Some(agent)),
        };
        let agent_set = agent.map_or_else(|| keys.waiting_on.clone(), keys::user_waiting);
        let (contact_agent, contact_at) = match &effects.contact {
            Some((agent, at)) => (agent.as_str(), codec::sortable_time(*at)),
            None => ("", String::new()),
        };
        let responses_key = keys::shop_responses(&commit.shop);
        let mut invocation = COMMIT.prepare_invoke();
        invocation
            .key(&keys.meta)
            .key(&keys.dedupe)
            .key(&keys.log)
            .key(&keys.record)
            .key(&keys.controls)
            .key(&keys.waiting_on)
            .key(&keys.decision)
            .key(&agent_set)
            .key(&responses_key)
            .key(keys::contacts(&commit.shop, &commit.buyer))
            .key(&marketing_key);
        invocation
            .arg(commit.version)
            .arg(self.retained)
            .arg(optional(record))
            .arg(optional(controls))
            .arg(waiting)
            .arg(agent.map_or("", UserId::as_str))
            .arg(optional(decision))
            .arg(contact_agent)
            .arg(contact_at)
            .arg(MAX_RECENT_CONTACTS)
            .arg(optional(marketing))
            .arg(commit.session.to_string())
            .arg(commit.origin.to_string())
            .arg(logged.len());
        for message in &logged {
            let client_id = message.client_msg_id.as_ref().map_or("", |id| id.as_str());
            invocation
                .arg(client_id)
                .arg(codec::encode(&keys.log, message)?);
        }
        for response in &effects.responses {
            invocation.arg(codec::encode(&responses_key, response)?);
        }
        let reply = self.commits.call(&keys.log, invocation).await?;
        committed(&keys, logged, reply)
    }

    pub(super) async fn facts(
        &self,
        order: Option<&OrderId>,
        shop: &ShopId,
    ) -> Result<(Option<Order>, Option<ShopLogistics>), StoreError> {
        let settings_key = keys::shop_settings(shop);
        let order_key = order.map(keys::order);
        let mut invocation = ELIGIBILITY_FACTS.prepare_invoke();
        invocation.key(&settings_key);
        if let Some(order_key) = &order_key {
            invocation.key(order_key);
        }
        let reply = self.facts.call(&settings_key, invocation).await?;
        let mut parts = codec::items(&settings_key, reply)?.into_iter();
        let settings = codec::json(&settings_key, parts.next().unwrap_or(Value::Nil))?;
        let order_key = order_key.unwrap_or_default();
        let order = codec::json(&order_key, parts.next().unwrap_or(Value::Nil))?;
        Ok((order, settings))
    }
}

/// Batches the commits of every session on this node.
pub(super) fn commit_batcher(connection: &Arc<Connection>) -> Batcher {
    Batcher::start(Arc::clone(connection), &COMMIT)
}

/// Batches the eligibility reads of every session on this node.
pub(super) fn facts_batcher(connection: &Arc<Connection>) -> Batcher {
    Batcher::start(Arc::clone(connection), &ELIGIBILITY_FACTS)
}

/// Reads the commit script's reply.
fn committed(
    keys: &SessionKeys,
    logged: Vec<LoggedMessage>,
    reply: Value,
) -> Result<Committed, StoreError> {
    let key = keys.log.as_str();
    let mut parts = codec::items(key, reply)?.into_iter();
    let mut next = || parts.next().unwrap_or(Value::Nil);
    let outcome = codec::text(key, next())?;
    match outcome.as_deref() {
        Some("conflict") => Ok(Committed::Conflict(SessionState {
            version: codec::number(&keys.meta, next())?,
            record: codec::json(&keys.record, next())?,
            controls: codec::json(&keys.controls, next())?,
        })),
        Some("duplicate") => {
            let seq = codec::number(key, next())?;
            let original: LoggedMessage = codec::json(key, next())?
                .ok_or_else(|| codec::corrupt(key, "duplicate without its message"))?;
            Ok(Committed::Duplicate(Arc::new(original.stored(seq))))
        }
        Some("new") => {
            let first = codec::number(key, next())?;
            let version = codec::number(key, next())?;
            let mut waiting = Vec::new();
            while let Some(agent) = codec::text(key, next())? {
                let count = codec::number(key, next())?;
                waiting.push(WaitingCount {
                    agent: codec::parse(key, &agent)?,
                    buyers_waiting: u32::try_from(count).unwrap_or(u32::MAX),
                });
            }
            let stored = (first..).zip(logged);
            let stored = stored.map(|(seq, message)| Arc::new(message.stored(seq)));
            Ok(Committed::New {
                stored: stored.collect(),
                version,
                waiting,
            })
        }
        other => Err(codec::corrupt(key, format!("commit answered {other:?}"))),
    }
}
