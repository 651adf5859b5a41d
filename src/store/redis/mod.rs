//! The Redis store: every piece of state in Redis, so that several hub nodes behind a load
//! balancer can share it and any node can serve any client.
//!
//! Same semantics as `MemoryStore` (the conformance suite in `tests/integration/store` runs
//! against both). What differs is where the atomic steps are:
//!
//! - `commit_message` is one `EVALSHA` (see `commit`): a chat message, with the version check,
//!   and every effect it has, plus the wake-ups for other nodes. It is the one script that
//!   writes under several hash tags, so the store needs a standalone Redis. Commits, and the
//!   read of an eligibility decision's facts, go out in batches across sessions (`batch`).
//! - `session_state` reads the record, controls and version in one script; `put_session` and
//!   `put_controls` bump the version in the same script that writes.
//! - `append` is one `EVALSHA` of a Lua script (dedupe by `client_msg_id`, next seq, `XADD` to
//!   the session's stream with id `0-<seq>`, exact trimming to `retained`), so the `ack` that
//!   follows it means Redis has the message.
//! - `put_order` compares `updated_at` and writes in one script.
//! - `put_session` swaps the record, then updates the indexes (which live under other hash
//!   tags) in one pipeline; see `sessions`.
//! - `record_contact` is one script over the pair's hash of agents and times.
//!
//! Keys carry hash tags (see `keys`) so that other scripts and multi-key commands stay in one
//! Redis Cluster slot; this store talks to one Redis through one multiplexed connection, which
//! counts the commands it sends (`command_counter`, shown on `/metrics`).
//!
//! Redis down: every call fails within about 1.5 s with `StoreError::Unavailable` and nothing is
//! acknowledged; the connection is remade by itself on a later call. `connect` succeeds even
//! when Redis is down at start (it logs a warning), so the hub comes up and recovers when
//! Redis does. A bad URL is refused at once.

mod batch;
mod codec;
mod commit;
mod connection;
mod keys;
mod log;
mod lua;
mod nodes;
mod notify;
mod records;
mod routing;
mod scripts;
mod sessions;
mod splice;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use self::connection::Connection;
use super::{
    AgentRecord, Appended, Beat, BuyerProfile, Committed, CourierRecord, History, MessageCommit,
    NewMessage, Notification, OrderWrite, ServiceRecords, SessionControls, SessionRecord,
    SessionState, ShopAccount, ShopRating, Staff, Store, StoreError, StoredMessage,
};
use crate::domain::controls::assessment::{LogisticsRecord, ResponseRecord};
use crate::domain::controls::marketing::MarketingTally;
use crate::domain::controls::recent::RecentContacts;
use crate::domain::eligibility::Decision;
use crate::domain::order::{Carrier, Order};
use crate::domain::routing::{RoutingConfig, RoutingDecision};
use crate::domain::shop::ShopLogistics;
use crate::domain::splice::{EvaluationEntry, Splice};
use crate::protocol::client::PresenceStatus;
use crate::protocol::ids::{ClientMsgId, InviteId, OrderId, SessionId, ShopId, UserId};

/// The store of a hub node that shares its state through Redis. Cheap to clone.
#[derive(Clone)]
pub struct RedisStore {
    connection: std::sync::Arc<Connection>,
    /// Chat messages' commits and their eligibility reads, batched across sessions
    /// (`batch`): the two calls on every message's path.
    commits: batch::Batcher,
    facts: batch::Batcher,
    /// Wake-ups from other nodes.
    subscriber: std::sync::Arc<notify::Subscriber>,
    /// How many messages each session keeps; older ones are trimmed from its stream.
    retained: usize,
}

impl RedisStore {
    /// A store on the Redis at `url` (`redis://host:port/db`), keeping `retained` messages per
    /// session. Fails only on a bad URL; an unreachable Redis is logged and retried on use.
    pub async fn connect(url: &str, retained: usize) -> Result<RedisStore, StoreError> {
        let connection = Connection::new(url)?;
        match connection.warm_up().await {
            Ok(()) => tracing::info!(url, "connected to redis"),
            Err(error) => tracing::warn!(url, %error, "redis unreachable; will retry on use"),
        }
        let subscriber = notify::start(connection.client());
        let connection = std::sync::Arc::new(connection);
        Ok(RedisStore {
            subscriber: std::sync::Arc::new(subscriber),
            commits: commit::commit_batcher(&connection),
            facts: commit::facts_batcher(&connection),
            connection,
            retained: retained.max(1),
        })
    }
}

#[async_trait]
impl Store for RedisStore {
    fn is_shared(&self) -> bool {
        true
    }

    async fn publish(&self, notification: &Notification) -> Result<(), StoreError> {
        let payload = serde_json::to_string(notification).map_err(|error| StoreError::Corrupt {
            key: notify::CHANNEL.into(),
            detail: error.to_string(),
        })?;
        let mut command = redis::cmd("PUBLISH");
        command.arg(notify::CHANNEL).arg(payload);
        self.connection.query(notify::CHANNEL, &command).await?;
        Ok(())
    }

    fn subscribe(&self) -> Option<tokio::sync::broadcast::Receiver<Notification>> {
        Some(self.subscriber.sender.subscribe())
    }

    fn command_counter(&self) -> Option<std::sync::Arc<std::sync::atomic::AtomicU64>> {
        Some(self.connection.command_counter())
    }

    async fn eligibility_facts(
        &self,
        order: Option<&OrderId>,
        shop: &ShopId,
    ) -> Result<(Option<Order>, Option<ShopLogistics>), StoreError> {
        self.facts(order, shop).await
    }

    async fn commit_message(&self, commit: &MessageCommit) -> Result<Committed, StoreError> {
        self.commit(commit).await
    }

    async fn put_order(&self, order: &Order) -> Result<OrderWrite, StoreError> {
        self.store_order(order).await
    }

    async fn order(&self, id: &OrderId) -> Result<Option<Order>, StoreError> {
        self.load_order(id).await
    }

    async fn put_shop_logistics(
        &self,
        shop: &ShopId,
        settings: &ShopLogistics,
    ) -> Result<(), StoreError> {
        self.set_json(&keys::shop_settings(shop), settings).await
    }

    async fn shop_logistics(&self, shop: &ShopId) -> Result<Option<ShopLogistics>, StoreError> {
        self.get_json(&keys::shop_settings(shop)).await
    }

    async fn put_session(&self, session: &SessionRecord) -> Result<u64, StoreError> {
        self.store_session(session).await
    }

    async fn session(&self, id: SessionId) -> Result<Option<SessionRecord>, StoreError> {
        self.load_session(id).await
    }

    async fn open_session(
        &self,
        buyer: &UserId,
        shop: &ShopId,
    ) -> Result<Option<SessionId>, StoreError> {
        self.open_session_of(buyer, shop).await
    }

    async fn sessions_of(&self, user: &UserId) -> Result<Vec<SessionId>, StoreError> {
        self.open_sessions_of(user).await
    }

    async fn waiting_sessions(&self, shop: &ShopId) -> Result<Vec<SessionId>, StoreError> {
        self.pool(shop).await
    }

    async fn append(
        &self,
        session: SessionId,
        message: NewMessage,
    ) -> Result<Appended, StoreError> {
        self.append_message(session, message).await
    }

    async fn message_by_client_id(
        &self,
        session: SessionId,
        client_msg_id: &ClientMsgId,
    ) -> Result<Option<StoredMessage>, StoreError> {
        self.message_with_client_id(session, client_msg_id).await
    }

    async fn messages_after(
        &self,
        session: SessionId,
        after_seq: u64,
        limit: usize,
    ) -> Result<History, StoreError> {
        self.history(session, after_seq, limit).await
    }

    async fn set_presence(
        &self,
        shop: &ShopId,
        agent: &UserId,
        status: PresenceStatus,
    ) -> Result<(), StoreError> {
        self.store_presence(shop, agent, status).await
    }

    async fn agents(&self, shop: &ShopId) -> Result<Vec<AgentRecord>, StoreError> {
        self.shop_agents(shop).await
    }

    async fn hold(
        &self,
        node: uuid::Uuid,
        staff: &Staff,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.hold_staff(node, staff, until).await
    }

    async fn release(
        &self,
        node: uuid::Uuid,
        staff: &Staff,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.release_staff(node, staff, now).await
    }

    async fn is_held(&self, user: &UserId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.staff_is_held(user, now).await
    }

    async fn beat(
        &self,
        node: uuid::Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Beat, StoreError> {
        self.beat_node(node, now, until).await
    }

    async fn put_shop_account(
        &self,
        shop: &ShopId,
        account: &ShopAccount,
    ) -> Result<(), StoreError> {
        self.set_json(&keys::shop_account(shop), account).await
    }

    async fn shop_account(&self, shop: &ShopId) -> Result<Option<ShopAccount>, StoreError> {
        self.get_json(&keys::shop_account(shop)).await
    }

    async fn put_splice(&self, splice: &Splice) -> Result<(), StoreError> {
        self.store_splice(splice).await
    }

    async fn splice(&self, invite: InviteId) -> Result<Option<Splice>, StoreError> {
        self.load_splice(invite).await
    }

    async fn splices_of(&self, session: SessionId) -> Result<Vec<Splice>, StoreError> {
        self.session_splices(session).await
    }

    async fn set_courier_presence(
        &self,
        carrier: Carrier,
        courier: &UserId,
        status: PresenceStatus,
    ) -> Result<(), StoreError> {
        self.store_courier_presence(carrier, courier, status).await
    }

    async fn courier_freed(
        &self,
        carrier: Carrier,
        courier: &UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.store_courier_freed(carrier, courier, at).await
    }

    async fn couriers(&self, carrier: Carrier) -> Result<Vec<CourierRecord>, StoreError> {
        self.carrier_couriers(carrier).await
    }

    async fn claim_courier(
        &self,
        courier: &UserId,
        session: SessionId,
        max: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.store_claim_courier(courier, session, max, now, until)
            .await
    }

    async fn release_courier(
        &self,
        courier: &UserId,
        session: SessionId,
    ) -> Result<(), StoreError> {
        self.store_release_courier(courier, session).await
    }

    async fn enqueue_courier_request(
        &self,
        carrier: Carrier,
        invite: InviteId,
    ) -> Result<(), StoreError> {
        self.push_courier_request(carrier, invite).await
    }

    async fn courier_queue(&self, carrier: Carrier) -> Result<Vec<InviteId>, StoreError> {
        self.carrier_queue(carrier).await
    }

    async fn dequeue_courier_request(
        &self,
        carrier: Carrier,
        invite: InviteId,
    ) -> Result<bool, StoreError> {
        self.take_courier_request(carrier, invite).await
    }

    async fn add_evaluation(&self, entry: &EvaluationEntry) -> Result<(), StoreError> {
        self.push_evaluation(entry).await
    }

    async fn evaluations(&self, carrier: Carrier) -> Result<Vec<EvaluationEntry>, StoreError> {
        self.carrier_evaluations(carrier).await
    }

    async fn add_shop_rating(&self, rating: &ShopRating) -> Result<bool, StoreError> {
        self.push_shop_rating(rating).await
    }

    async fn shop_ratings(&self, shop: &ShopId) -> Result<Vec<ShopRating>, StoreError> {
        self.shop_rating_list(shop).await
    }

    async fn put_routing(&self, shop: &ShopId, config: &RoutingConfig) -> Result<(), StoreError> {
        self.set_json(&keys::shop_routing(shop), config).await
    }

    async fn routing(&self, shop: &ShopId) -> Result<Option<RoutingConfig>, StoreError> {
        self.get_json(&keys::shop_routing(shop)).await
    }

    async fn put_buyer_profile(
        &self,
        shop: &ShopId,
        buyer: &UserId,
        profile: &BuyerProfile,
    ) -> Result<(), StoreError> {
        self.set_json(&keys::buyer_profile(shop, buyer), profile)
            .await
    }

    async fn buyer_profile(
        &self,
        shop: &ShopId,
        buyer: &UserId,
    ) -> Result<Option<BuyerProfile>, StoreError> {
        self.get_json(&keys::buyer_profile(shop, buyer)).await
    }

    async fn put_conversion_rate(
        &self,
        shop: &ShopId,
        agent: &UserId,
        rate: f32,
    ) -> Result<(), StoreError> {
        self.store_conversion_rate(shop, agent, rate).await
    }

    async fn conversion_rates(&self, shop: &ShopId) -> Result<Vec<(UserId, f32)>, StoreError> {
        self.shop_conversion_rates(shop).await
    }

    async fn put_routing_decision(
        &self,
        session: SessionId,
        decision: &RoutingDecision,
    ) -> Result<(), StoreError> {
        let key = keys::SessionKeys::new(session).routing;
        self.set_json(&key, decision).await
    }

    async fn routing_decision(
        &self,
        session: SessionId,
    ) -> Result<Option<RoutingDecision>, StoreError> {
        self.get_json(&keys::SessionKeys::new(session).routing)
            .await
    }

    async fn put_decision(
        &self,
        session: SessionId,
        decision: &Decision,
    ) -> Result<(), StoreError> {
        let key = keys::SessionKeys::new(session).decision;
        self.set_json(&key, decision).await
    }

    async fn decision(&self, session: SessionId) -> Result<Option<Decision>, StoreError> {
        self.get_json(&keys::SessionKeys::new(session).decision)
            .await
    }

    async fn put_controls(
        &self,
        session: SessionId,
        controls: &SessionControls,
    ) -> Result<u64, StoreError> {
        let keys = keys::SessionKeys::new(session);
        let json = codec::encode(&keys.controls, controls)?;
        let (version, _) = self.put_versioned(&keys.meta, &keys.controls, json).await?;
        Ok(version)
    }

    async fn controls(&self, session: SessionId) -> Result<Option<SessionControls>, StoreError> {
        self.get_json(&keys::SessionKeys::new(session).controls)
            .await
    }

    async fn session_state(&self, session: SessionId) -> Result<SessionState, StoreError> {
        let keys = keys::SessionKeys::new(session);
        let mut invocation = scripts::SESSION_STATE.prepare_invoke();
        invocation
            .key(&keys.record)
            .key(&keys.controls)
            .key(&keys.meta);
        let reply = self.connection.script(&keys.record, &invocation).await?;
        let mut replies = codec::items(&keys.record, reply)?.into_iter();
        let mut next = || replies.next().unwrap_or(redis::Value::Nil);
        Ok(SessionState {
            record: codec::json(&keys.record, next())?,
            controls: codec::json(&keys.controls, next())?,
            version: codec::number(&keys.meta, next())?,
        })
    }

    async fn add_responses(&self, records: &[ResponseRecord]) -> Result<(), StoreError> {
        self.push_responses(records).await
    }

    async fn add_logistics_session(&self, record: &LogisticsRecord) -> Result<(), StoreError> {
        self.push_logistics(record).await
    }

    async fn service_records(&self, shop: &ShopId) -> Result<ServiceRecords, StoreError> {
        self.shop_service_records(shop).await
    }

    async fn record_contact(
        &self,
        shop: &ShopId,
        buyer: &UserId,
        agent: &UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.add_contact(shop, buyer, agent, at).await
    }

    async fn recent_contacts(
        &self,
        shop: &ShopId,
        buyer: &UserId,
    ) -> Result<RecentContacts, StoreError> {
        self.contacts_of(shop, buyer).await
    }

    async fn marketing_tally(
        &self,
        shop: &ShopId,
        buyer: &UserId,
    ) -> Result<MarketingTally, StoreError> {
        let tally = self.get_json(&keys::marketing(shop, buyer)).await?;
        Ok(tally.unwrap_or_default())
    }

    async fn put_marketing_tally(
        &self,
        shop: &ShopId,
        buyer: &UserId,
        tally: &MarketingTally,
    ) -> Result<(), StoreError> {
        self.set_json(&keys::marketing(shop, buyer), tally).await
    }

    async fn set_waiting(
        &self,
        session: SessionId,
        agent: Option<&UserId>,
    ) -> Result<Vec<UserId>, StoreError> {
        match agent {
            Some(agent) => self.wait_on(session, agent).await,
            None => self.wait_on_nobody(session).await,
        }
    }

    async fn waiting_count(&self, agent: &UserId) -> Result<u32, StoreError> {
        self.count_waiting(agent).await
    }
}
