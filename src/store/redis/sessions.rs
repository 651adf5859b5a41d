//! Session records and the indexes of open sessions: by member (`lb:{user:..}:open`), by
//! (buyer, shop) (`lb:{shop:..}:open`), the shop's waiting pool, and agents' presence and load.
//!
//! `put_session` swaps the record with `SET .. GET` and bumps the session's version (one
//! script, one slot; see `scripts::PUT_VERSIONED`), then updates the indexes, which
//! live under other hash tags, in one pipeline. The two steps are not one atomic step (Redis
//! Cluster cannot make cross-slot writes atomic): a reader may see the new record a moment
//! before its indexes. Each put writes every index entry of the new record again (the removals
//! are what the old record had and the new one lacks), so an index left behind by a put that
//! failed half-way is repaired by the session's next put.

use std::collections::BTreeSet;

use redis::Pipeline;

use super::RedisStore;
use super::codec;
use super::keys::{self, SessionKeys};
use super::scripts;
use crate::protocol::client::PresenceStatus;
use crate::protocol::ids::{SessionId, ShopId, UserId};
use crate::protocol::server::{SenderRole, SessionStatus};
use crate::store::{AgentRecord, SessionRecord, StoreError};

/// The index entries an open session has.
#[derive(PartialEq)]
struct Index {
    members: BTreeSet<UserId>,
    shop: ShopId,
    buyer: UserId,
    /// Its waiting-pool member, when no agent has taken it.
    pool: Option<String>,
}

impl Index {
    fn of(session: &SessionRecord) -> Option<Index> {
        if session.status == SessionStatus::Closed {
            return None;
        }
        let is_waiting = !session.has_role(SenderRole::Agent);
        Some(Index {
            members: session.members.iter().map(|m| m.user.clone()).collect(),
            shop: session.shop.clone(),
            buyer: session.buyer.clone(),
            pool: is_waiting.then(|| codec::pool_member(session.opened_at, session.id)),
        })
    }
}

/// The commands that take the indexes from `old`'s entries to `new`'s.
fn reindex(old: Option<&SessionRecord>, new: &SessionRecord) -> Pipeline {
    let id = new.id.to_string();
    let mut pipe = redis::pipe();
    let old = old.and_then(Index::of);
    let new = Index::of(new);
    if let Some(old) = &old {
        remove_stale(&mut pipe, &id, old, new.as_ref());
    }
    if let Some(new) = &new {
        for member in &new.members {
            pipe.sadd(keys::user_open(member), &id).ignore();
        }
        pipe.hset(keys::shop_open(&new.shop), new.buyer.as_str(), &id)
            .ignore();
        if let Some(pool) = &new.pool {
            pipe.zadd(keys::shop_pool(&new.shop), pool, 0).ignore();
        }
    }
    pipe
}

fn remove_stale(pipe: &mut Pipeline, id: &str, old: &Index, new: Option<&Index>) {
    let kept = |user: &UserId| new.is_some_and(|new| new.members.contains(user));
    for member in old.members.iter().filter(|user| !kept(user)) {
        pipe.srem(keys::user_open(member), id).ignore();
    }
    let same_pair = new.is_some_and(|new| new.shop == old.shop && new.buyer == old.buyer);
    if !same_pair {
        pipe.cmd("EVAL")
            .arg(scripts::HDEL_IF_EQUAL)
            .arg(1)
            .arg(keys::shop_open(&old.shop))
            .arg(old.buyer.as_str())
            .arg(id)
            .ignore();
    }
    let same_pool = new.is_some_and(|new| new.shop == old.shop && new.pool == old.pool);
    if let Some(pool) = old.pool.as_ref().filter(|_| !same_pool) {
        pipe.zrem(keys::shop_pool(&old.shop), pool).ignore();
    }
}

impl RedisStore {
    /// Returns the session's new version.
    pub(super) async fn store_session(&self, session: &SessionRecord) -> Result<u64, StoreError> {
        let keys = SessionKeys::new(session.id);
        let key = keys.record;
        let json = codec::encode(&key, session)?;
        let (version, previous) = self.put_versioned(&keys.meta, &key, json).await?;
        // A corrupt previous record cannot be unindexed; index the new one, then report it.
        let (old, fault) = match codec::json::<SessionRecord>(&key, previous) {
            Ok(old) => (old, None),
            Err(error) => (None, Some(error)),
        };
        let pipe = reindex(old.as_ref(), session);
        if !pipe.is_empty() {
            self.connection.pipeline(&key, &pipe).await?;
        }
        fault.map_or(Ok(version), Err)
    }

    /// Writes `key` (the session's record or controls) and bumps the session's version in one
    /// step; returns the new version and the previous value.
    pub(super) async fn put_versioned(
        &self,
        meta: &str,
        key: &str,
        value: String,
    ) -> Result<(u64, redis::Value), StoreError> {
        let mut invocation = scripts::PUT_VERSIONED.prepare_invoke();
        invocation.key(meta).key(key).arg(value);
        let reply = self.connection.script(key, &invocation).await?;
        let mut parts = codec::items(key, reply)?.into_iter();
        let version = codec::number(key, parts.next().unwrap_or(redis::Value::Nil))?;
        Ok((version, parts.next().unwrap_or(redis::Value::Nil)))
    }

    pub(super) async fn load_session(
        &self,
        id: SessionId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let key = SessionKeys::new(id).record;
        let reply = self
            .connection
            .query(&key, redis::cmd("GET").arg(&key))
            .await?;
        codec::json(&key, reply)
    }

    pub(super) async fn open_session_of(
        &self,
        buyer: &UserId,
        shop: &ShopId,
    ) -> Result<Option<SessionId>, StoreError> {
        let key = keys::shop_open(shop);
        let mut get = redis::cmd("HGET");
        get.arg(&key).arg(buyer.as_str());
        let reply = self.connection.query(&key, &get).await?;
        codec::text(&key, reply)?
            .map(|id| codec::parse(&key, &id))
            .transpose()
    }

    pub(super) async fn open_sessions_of(
        &self,
        user: &UserId,
    ) -> Result<Vec<SessionId>, StoreError> {
        let key = keys::user_open(user);
        let reply = self
            .connection
            .query(&key, redis::cmd("SMEMBERS").arg(&key))
            .await?;
        let mut ids: Vec<SessionId> = codec::parsed_items(&key, reply)?;
        ids.sort();
        Ok(ids)
    }

    pub(super) async fn pool(&self, shop: &ShopId) -> Result<Vec<SessionId>, StoreError> {
        let key = keys::shop_pool(shop);
        let mut range = redis::cmd("ZRANGE");
        range.arg(&key).arg(0).arg(-1);
        let reply = self.connection.query(&key, &range).await?;
        codec::items(&key, reply)?
            .into_iter()
            .map(|member| {
                codec::pool_session(&key, &codec::text(&key, member)?.unwrap_or_default())
            })
            .collect()
    }

    pub(super) async fn store_presence(
        &self,
        shop: &ShopId,
        agent: &UserId,
        status: PresenceStatus,
    ) -> Result<(), StoreError> {
        let key = keys::shop_presence(shop);
        let mut set = redis::cmd("HSET");
        set.arg(&key)
            .arg(agent.as_str())
            .arg(codec::encode(&key, &status)?);
        self.connection.query(&key, &set).await?;
        Ok(())
    }

    /// Presence from the shop's hash, then every agent's open-session count in one pipeline.
    pub(super) async fn shop_agents(&self, shop: &ShopId) -> Result<Vec<AgentRecord>, StoreError> {
        let key = keys::shop_presence(shop);
        let reply = self
            .connection
            .query(&key, redis::cmd("HGETALL").arg(&key))
            .await?;
        let mut present = Vec::new();
        for (agent, status) in codec::pairs(&key, reply)? {
            let agent: UserId = codec::parse(&key, &agent)?;
            let status: PresenceStatus = codec::decode(&key, &status)?;
            present.push((agent, status));
        }
        present.sort_by(|a, b| a.0.cmp(&b.0));
        let ids: Vec<UserId> = present.iter().map(|(agent, _)| agent.clone()).collect();
        let loads = self.open_session_counts(&key, &ids).await?;
        let records = present.into_iter().zip(loads);
        Ok(records
            .map(|((agent, status), open_sessions)| AgentRecord {
                agent,
                status,
                open_sessions,
            })
            .collect())
    }

    /// How many open sessions each user is a member of, in one pipeline of `SCARD`s.
    pub(super) async fn open_session_counts(
        &self,
        context: &str,
        users: &[UserId],
    ) -> Result<Vec<u32>, StoreError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for user in users {
            pipe.scard(keys::user_open(user));
        }
        let counts = self.connection.pipeline(context, &pipe).await?;
        users
            .iter()
            .zip(counts)
            .map(|(user, count)| {
                let count = codec::number(&keys::user_open(user), count)?;
                Ok(u32::try_from(count).unwrap_or(u32::MAX))
            })
            .collect()
    }
}
