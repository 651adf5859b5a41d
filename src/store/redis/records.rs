//! Everything but sessions and logs: orders, shop settings, decisions, controls, service
//! records, recent contacts, marketing tallies and waiting counts.

use chrono::{DateTime, Utc};
use redis::Value;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::RedisStore;
use super::codec;
use super::keys::{self, SessionKeys};
use super::scripts;
use crate::domain::controls::assessment::{LogisticsRecord, ResponseRecord};
use crate::domain::controls::recent::{MAX_RECENT_CONTACTS, RecentContacts};
use crate::domain::order::Order;
use crate::protocol::ids::{OrderId, SessionId, ShopId, UserId};
use crate::store::{OrderWrite, ServiceRecords, SessionControls, StoreError};

impl RedisStore {
    pub(super) async fn get_json<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let reply = self
            .connection
            .query(key, redis::cmd("GET").arg(key))
            .await?;
        codec::json(key, reply)
    }

    pub(super) async fn set_json<T: Serialize>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let mut set = redis::cmd("SET");
        set.arg(key).arg(codec::encode(key, value)?);
        self.connection.query(key, &set).await?;
        Ok(())
    }

    /// Every item of a list, as JSON records.
    pub(super) async fn json_list<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Vec<T>, StoreError> {
        let mut range = redis::cmd("LRANGE");
        range.arg(key).arg(0).arg(-1);
        codec::json_items(key, self.connection.query(key, &range).await?)
    }

    /// One `EVALSHA`: the `updated_at` comparison and the write are one step.
    pub(super) async fn store_order(&self, order: &Order) -> Result<OrderWrite, StoreError> {
        let key = keys::order(&order.order_id);
        let mut invocation = scripts::PUT_ORDER.prepare_invoke();
        invocation
            .key(&key)
            .arg(codec::sortable_time(order.updated_at))
            .arg(codec::encode(&key, order)?);
        let applied = codec::number(&key, self.connection.script(&key, &invocation).await?)?;
        Ok(if applied == 1 {
            OrderWrite::Applied
        } else {
            OrderWrite::Stale
        })
    }

    pub(super) async fn load_order(&self, id: &OrderId) -> Result<Option<Order>, StoreError> {
        let key = keys::order(id);
        let mut get = redis::cmd("HGET");
        get.arg(&key).arg("order");
        codec::json(&key, self.connection.query(&key, &get).await?)
    }

    /// One `RPUSH` per shop, in one pipeline.
    pub(super) async fn push_responses(
        &self,
        records: &[ResponseRecord],
    ) -> Result<(), StoreError> {
        let Some(first) = records.first() else {
            return Ok(());
        };
        let mut pipe = redis::pipe();
        for record in records {
            let key = keys::shop_responses(&record.shop);
            let json = codec::encode(&key, record)?;
            pipe.rpush(key, json).ignore();
        }
        let key = keys::shop_responses(&first.shop);
        self.connection.pipeline(&key, &pipe).await?;
        Ok(())
    }

    pub(super) async fn push_logistics(&self, record: &LogisticsRecord) -> Result<(), StoreError> {
        let key = keys::shop_logistics(&record.shop);
        let mut push = redis::cmd("RPUSH");
        push.arg(&key).arg(codec::encode(&key, record)?);
        self.connection.query(&key, &push).await?;
        Ok(())
    }

    /// Two round trips: the shop's lists and open sessions, then those sessions' controls.
    pub(super) async fn shop_service_records(
        &self,
        shop: &ShopId,
    ) -> Result<ServiceRecords, StoreError> {
        let responses_key = keys::shop_responses(shop);
        let logistics_key = keys::shop_logistics(shop);
        let open_key = keys::shop_open(shop);
        let mut pipe = redis::pipe();
        pipe.lrange(&responses_key, 0, -1)
            .lrange(&logistics_key, 0, -1)
            .hvals(&open_key);
        let mut replies = self
            .connection
            .pipeline(&open_key, &pipe)
            .await?
            .into_iter();
        let mut next = || replies.next().unwrap_or(Value::Nil);
        let mut responses: Vec<ResponseRecord> = codec::json_items(&responses_key, next())?;
        let logistics = codec::json_items(&logistics_key, next())?;
        let mut open: Vec<SessionId> = codec::parsed_items(&open_key, next())?;
        open.sort();
        for controls in self.controls_of(&open).await?.into_iter().flatten() {
            responses.extend(controls.ledger.pending_records());
        }
        Ok(ServiceRecords {
            responses,
            logistics,
        })
    }

    async fn controls_of(
        &self,
        sessions: &[SessionId],
    ) -> Result<Vec<Option<SessionControls>>, StoreError> {
        if sessions.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = sessions
            .iter()
            .map(|id| SessionKeys::new(*id).controls)
            .collect();
        let mut pipe = redis::pipe();
        for key in &keys {
            pipe.get(key);
        }
        let replies = self.connection.pipeline(&keys[0], &pipe).await?;
        keys.iter()
            .zip(replies)
            .map(|(key, reply)| codec::json(key, reply))
            .collect()
    }

    /// One `EVALSHA`: the pair's hash keeps each agent's latest time and the most recent
    /// agents, as `RecentContacts::record` does (see `scripts::CONTACT_FUNCTION`).
    pub(super) async fn add_contact(
        &self,
        shop: &ShopId,
        buyer: &UserId,
        agent: &UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = keys::contacts(shop, buyer);
        let mut invocation = scripts::RECORD_CONTACT.prepare_invoke();
        invocation
            .key(&key)
            .arg(agent.as_str())
            .arg(codec::sortable_time(at))
            .arg(MAX_RECENT_CONTACTS);
        self.connection.script(&key, &invocation).await?;
        Ok(())
    }

    pub(super) async fn contacts_of(
        &self,
        shop: &ShopId,
        buyer: &UserId,
    ) -> Result<RecentContacts, StoreError> {
        let key = keys::contacts(shop, buyer);
        let reply = self
            .connection
            .query(&key, redis::cmd("HGETALL").arg(&key))
            .await?;
        let mut contacts = RecentContacts::default();
        for (agent, at) in codec::pairs(&key, reply)? {
            let at = String::from_utf8(at).map_err(|error| codec::corrupt(&key, error))?;
            contacts.record(
                codec::parse(&key, &agent)?,
                codec::parse_sortable_time(&key, &at)?,
            );
        }
        Ok(contacts)
    }

    /// The buyer now waits on `agent`: one round trip (`SET .. GET` of the session's agent and
    /// `SADD` to the agent's set), plus an `SREM` from the previous agent's set when it changed.
    /// The `SADD` is repeated on every call so that a half-done earlier call heals.
    pub(super) async fn wait_on(
        &self,
        session: SessionId,
        agent: &UserId,
    ) -> Result<Vec<UserId>, StoreError> {
        let key = SessionKeys::new(session).waiting_on;
        let id = session.to_string();
        let mut pipe = redis::pipe();
        pipe.cmd("SET").arg(&key).arg(agent.as_str()).arg("GET");
        pipe.sadd(keys::user_waiting(agent), &id).ignore();
        let reply = self.connection.pipeline(&key, &pipe).await?;
        let previous = self.waiting_agent(&key, reply.into_iter().next())?;
        if previous.as_ref() == Some(agent) {
            return Ok(Vec::new());
        }
        if let Some(previous) = &previous {
            self.stop_waiting_on(previous, &id).await?;
        }
        Ok(previous.into_iter().chain([agent.clone()]).collect())
    }

    /// The buyer waits on nobody now.
    pub(super) async fn wait_on_nobody(
        &self,
        session: SessionId,
    ) -> Result<Vec<UserId>, StoreError> {
        let key = SessionKeys::new(session).waiting_on;
        let reply = self
            .connection
            .query(&key, redis::cmd("GETDEL").arg(&key))
            .await?;
        let previous = self.waiting_agent(&key, Some(reply))?;
        if let Some(previous) = &previous {
            self.stop_waiting_on(previous, &session.to_string()).await?;
        }
        Ok(previous.into_iter().collect())
    }

    fn waiting_agent(&self, key: &str, reply: Option<Value>) -> Result<Option<UserId>, StoreError> {
        codec::text(key, reply.unwrap_or(Value::Nil))?
            .map(|agent| codec::parse(key, &agent))
            .transpose()
    }

    async fn stop_waiting_on(&self, agent: &UserId, session: &str) -> Result<(), StoreError> {
        let key = keys::user_waiting(agent);
        self.connection
            .query(&key, redis::cmd("SREM").arg(&key).arg(session))
            .await?;
        Ok(())
    }

    pub(super) async fn count_waiting(&self, agent: &UserId) -> Result<u32, StoreError> {
        let key = keys::user_waiting(agent);
        let reply = self
            .connection
            .query(&key, redis::cmd("SCARD").arg(&key))
            .await?;
        Ok(u32::try_from(codec::number(&key, reply)?).unwrap_or(u32::MAX))
    }
}
