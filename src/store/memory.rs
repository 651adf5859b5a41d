//! The embedded in-memory store: the default for one machine.
//!
//! Locks are std `Mutex`/`RwLock`: no method awaits while holding one, so they never block the
//! runtime for longer than a map operation. Message logs get a lock each so that sessions do not
//! contend; everything else shares one lock, as it changes far less often than messages arrive.

use std::collections::VecDeque;

use crate::{FastMap as HashMap, FastSet as HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use async_trait::async_trait;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::claims::{self, Claims};
use super::{
    AgentRecord, Appended, History, NewMessage, OrderWrite, ServiceRecords, SessionControls,
    SessionRecord, Store, StoreError, StoredMessage,
};
use super::{Beat, Post, Staff};
use super::{BuyerProfile, CourierRecord, ShopAccount, ShopRating};
use super::{Committed, MessageCommit, SessionState};
use crate::domain::controls::Exemptions;
use crate::domain::controls::assessment::{LogisticsRecord, ResponseRecord};
use crate::domain::controls::marketing::MarketingTally;
use crate::domain::controls::prompt::WaitingBoard;
use crate::domain::controls::recent::RecentContacts;
use crate::domain::eligibility::Decision;
use crate::domain::order::Carrier;
use crate::domain::order::Order;
use crate::domain::routing::{RoutingConfig, RoutingDecision};
use crate::domain::shop::ShopLogistics;
use crate::domain::splice::{EvaluationEntry, Splice};
use crate::protocol::client::PresenceStatus;
use crate::protocol::ids::InviteId;
use crate::protocol::ids::{ClientMsgId, OrderId, SessionId, ShopId, UserId};
use crate::protocol::server::{SenderRole, SessionStatus};

#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// How many messages each session keeps; older ones are dropped (resume then says so).
    retained: usize,
    state: Mutex<State>,
    logs: RwLock<HashMap<SessionId, Arc<Mutex<Log>>>>,
}

#[derive(Default)]
struct State {
    orders: HashMap<OrderId, Order>,
    shops: HashMap<ShopId, ShopLogistics>,
    sessions: HashMap<SessionId, SessionRecord>,
    open_by_member: HashMap<UserId, HashSet<SessionId>>,
    /// Places couriers' joins claimed (see `claims`).
    courier_claims: HashMap<UserId, Claims>,
    open_by_pair: HashMap<(UserId, ShopId), SessionId>,
    presence: HashMap<ShopId, HashMap<UserId, PresenceStatus>>,
    /// Shared with the commit that brought each: a decision is taken on every buyer text.
    decisions: HashMap<SessionId, Arc<Decision>>,
    controls: HashMap<SessionId, SessionControls>,
    /// Each session's version: bumped by every write of its record or controls.
    versions: HashMap<SessionId, u64>,
    responses: HashMap<ShopId, Vec<ResponseRecord>>,
    logistics: HashMap<ShopId, Vec<LogisticsRecord>>,
    contacts: HashMap<(ShopId, UserId), RecentContacts>,
    marketing: HashMap<(ShopId, UserId), MarketingTally>,
    waiting: WaitingBoard,
    routing: HashMap<ShopId, RoutingConfig>,
    buyer_profiles: HashMap<(ShopId, UserId), BuyerProfile>,
    conversion: HashMap<ShopId, HashMap<UserId, f32>>,
    routing_decisions: HashMap<SessionId, RoutingDecision>,
    accounts: HashMap<ShopId, ShopAccount>,
    splices: HashMap<InviteId, Splice>,
    splices_by_session: HashMap<SessionId, Vec<InviteId>>,
    desks: HashMap<Carrier, HashMap<UserId, (PresenceStatus, DateTime<Utc>)>>,
    courier_queues: HashMap<Carrier, VecDeque<InviteId>>,
    evaluations: HashMap<Carrier, Vec<EvaluationEntry>>,
    shop_ratings: HashMap<ShopId, Vec<ShopRating>>,
    nodes: super::liveness::Liveness,
}

#[derive(Default)]
struct Log {
    last_seq: u64,
    /// Shared with the commit's caller (`Committed::New`), so a message is copied once.
    messages: VecDeque<Arc<StoredMessage>>,
    /// `client_msg_id` → seq, for the retained messages only.
    seen: HashMap<ClientMsgId, u64>,
}

/// A poisoned lock means a panic mid-update elsewhere; the maps themselves stay consistent
/// because every update here is a single insert or remove, so carrying on is safe.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryStore {
    pub fn new(retained: usize) -> Self {
        let inner = Inner {
            retained: retained.max(1),
            state: Mutex::default(),
            logs: RwLock::default(),
        };
        MemoryStore {
            inner: Arc::new(inner),
        }
    }

    fn log(&self, session: SessionId) -> Arc<Mutex<Log>> {
        let logs = self
            .inner
            .logs
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(log) = logs.get(&session) {
            return Arc::clone(log);
        }
        drop(logs);
        let mut logs = self
            .inner
            .logs
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(logs.entry(session).or_default())
    }
}

impl Log {
    fn append(&mut self, message: NewMessage, retained: usize) -> Appended {
        match self.append_shared(message, retained) {
            Ok(stored) => Appended::New(StoredMessage::clone(&stored)),
            Err(original) => Appended::Duplicate(StoredMessage::clone(&original)),
        }
    }

    /// Appends, or answers the original (`Err`) when the `client_msg_id` was seen.
    fn append_shared(
        &mut self,
        message: NewMessage,
        retained: usize,
    ) -> Result<Arc<StoredMessage>, Arc<StoredMessage>> {
        if let Some(original) = self.find_duplicate(message.client_msg_id.as_ref()) {
            return Err(original);
        }
        self.last_seq += 1;
        let stored = StoredMessage {
            seq: self.last_seq,
            msg_id: message.msg_id,
            client_msg_id: message.client_msg_id,
            sender: message.sender,
            body: message.body,
            sent_at: message.sent_at,
            prompt: message.prompt,
        };
        if let Some(id) = &stored.client_msg_id {
            self.seen.insert(id.clone(), stored.seq);
        }
        let stored = Arc::new(stored);
        self.messages.push_back(Arc::clone(&stored));
        while self.messages.len() > retained {
            if let Some(dropped) = self.messages.pop_front()
                && let Some(id) = &dropped.client_msg_id
            {
                self.seen.remove(id);
            }
        }
        Ok(stored)
    }

    fn find_duplicate(&self, id: Option<&ClientMsgId>) -> Option<Arc<StoredMessage>> {
        let seq = *self.seen.get(id?)?;
        let oldest = self.messages.front()?.seq;
        let index = seq.checked_sub(oldest)?;
        self.messages.get(index as usize).cloned()
    }

    fn after(&self, after_seq: u64, limit: usize) -> History {
        let oldest_seq = self.messages.front().map_or(self.last_seq + 1, |m| m.seq);
        let skip = after_seq.saturating_add(1).saturating_sub(oldest_seq) as usize;
        let messages = self
            .messages
            .iter()
            .skip(skip)
            .take(limit)
            .map(|message| StoredMessage::clone(message))
            .collect();
        History {
            messages,
            oldest_seq,
            last_seq: self.last_seq,
        }
    }
}

impl State {
    fn bump_version(&mut self, session: SessionId) -> u64 {
        let version = self.versions.entry(session).or_default();
        *version += 1;
        *version
    }

    fn version(&self, session: SessionId) -> u64 {
        self.versions.get(&session).copied().unwrap_or(0)
    }

    fn session_state(&self, session: SessionId) -> SessionState {
        SessionState {
            record: self.sessions.get(&session).cloned(),
            controls: self.controls.get(&session).cloned(),
            version: self.version(session),
        }
    }

    fn is_open(session: &SessionRecord) -> bool {
        session.status != SessionStatus::Closed
    }

    /// Offline in the shop's list or on the carrier's desk (keeping the courier's idle time).
    fn set_offline(&mut self, staff: &Staff) {
        let offline = PresenceStatus::Offline;
        match &staff.post {
            Post::Shop(shop) => self.set_agent_status(shop, &staff.user, offline),
            Post::Carrier(carrier) => self.set_courier_status(*carrier, &staff.user, offline),
        }
    }

    fn set_agent_status(&mut self, shop: &ShopId, agent: &UserId, status: PresenceStatus) {
        let agents = self.presence.entry(shop.clone()).or_default();
        agents.insert(agent.clone(), status);
    }

    /// A courier seen for the first time has been idle since `DateTime::MIN_UTC`.
    fn set_courier_status(&mut self, carrier: Carrier, courier: &UserId, status: PresenceStatus) {
        let desk = self.desks.entry(carrier).or_default();
        let since = desk
            .get(courier)
            .map_or(DateTime::<Utc>::MIN_UTC, |(_, since)| *since);
        desk.insert(courier.clone(), (status, since));
    }

    /// Writes a commit's effects; returns the changed waiting counts.
    fn apply(&mut self, commit: &MessageCommit) -> Vec<super::WaitingCount> {
        use super::WaitingChange;
        let (session, effects) = (commit.session, &commit.effects);
        let pair = (commit.shop.clone(), commit.buyer.clone());
        if let Some(record) = &effects.record {
            self.sessions.insert(session, record.clone());
        }
        if let Some(controls) = &effects.controls {
            self.controls.insert(session, controls.clone());
        }
        if effects.record.is_some() || effects.controls.is_some() {
            self.bump_version(session);
        }
        for record in &effects.responses {
            let list = self.responses.entry(record.shop.clone()).or_default();
            list.push(record.clone());
        }
        if let Some((agent, at)) = &effects.contact {
            let contacts = self.contacts.entry(pair.clone()).or_default();
            contacts.record(agent.clone(), *at);
        }
        if let Some(tally) = effects.marketing {
            self.marketing.insert(pair, tally);
        }
        if let Some(decision) = &effects.decision {
            self.decisions.insert(session, Arc::clone(decision));
        }
        let changed = match &effects.waiting {
            WaitingChange::Unchanged => Vec::new(),
            WaitingChange::On(agent) => {
                self.waiting
                    .on_buyer_message(session, agent, &Exemptions::NONE)
            }
            WaitingChange::Nobody => self.waiting.on_shop_reply(session),
        };
        changed
            .into_iter()
            .map(|agent| super::WaitingCount {
                buyers_waiting: self.waiting.waiting_count(&agent) as u32,
                agent,
            })
            .collect()
    }

    /// Drops `old`'s index entries and adds `new`'s, so the indexes follow the record.
    fn reindex(&mut self, old: Option<&SessionRecord>, new: &SessionRecord) {
        if let Some(old) = old.filter(|old| Self::is_open(old)) {
            for member in &old.members {
                if let Some(set) = self.open_by_member.get_mut(&member.user) {
                    set.remove(&old.id);
                }
            }
            self.open_by_pair
                .remove(&(old.buyer.clone(), old.shop.clone()));
        }
        if Self::is_open(new) {
            for member in &new.members {
                let set = self.open_by_member.entry(member.user.clone()).or_default();
                set.insert(new.id);
            }
            let pair = (new.buyer.clone(), new.shop.clone());
            self.open_by_pair.insert(pair, new.id);
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn put_order(&self, order: &Order) -> Result<OrderWrite, StoreError> {
        let mut state = lock(&self.inner.state);
        if let Some(stored) = state.orders.get(&order.order_id)
            && stored.updated_at > order.updated_at
        {
            return Ok(OrderWrite::Stale);
        }
        state.orders.insert(order.order_id.clone(), order.clone());
        Ok(OrderWrite::Applied)
    }

    async fn order(&self, id: &OrderId) -> Result<Option<Order>, StoreError> {
        Ok(lock(&self.inner.state).orders.get(id).cloned())
    }

    async fn put_shop_logistics(
        &self,
        shop: &ShopId,
        settings: &ShopLogistics,
    ) -> Result<(), StoreError> {
        let mut state = lock(&self.inner.state);
        state.shops.insert(shop.clone(), settings.clone());
        Ok(())
    }

    async fn shop_logistics(&self, shop: &ShopId) -> Result<Option<ShopLogistics>, StoreError> {
        Ok(lock(&self.inner.state).shops.get(shop).cloned())
    }

    async fn put_session(&self, session: &SessionRecord) -> Result<u64, StoreError> {
        let mut state = lock(&self.inner.state);
        let old = state.sessions.insert(session.id, session.clone());
        state.reindex(old.as_ref(), session);
        Ok(state.bump_version(session.id))
    }

    async fn session(&self, id: SessionId) -> Result<Option<SessionRecord>, StoreError> {
        Ok(lock(&self.inner.state).sessions.get(&id).cloned())
    }

    async fn open_session(
        &self,
        buyer: &UserId,
        shop: &ShopId,
    ) -> Result<Option<SessionId>, StoreError> {
        let state = lock(&self.inner.state);
        Ok(state
            .open_by_pair
            .get(&(buyer.clone(), shop.clone()))
            .copied())
    }

    async fn sessions_of(&self, user: &UserId) -> Result<Vec<SessionId>, StoreError> {
        let state = lock(&self.inner.state);
        let mut ids: Vec<SessionId> = state
            .open_by_member
            .get(user)
            .map(|set| set.iter().copied().collect())
            .unwrap_or_default();
        ids.sort();
        Ok(ids)
    }

    async fn waiting_sessions(&self, shop: &ShopId) -> Result<Vec<SessionId>, StoreError> {
        let state = lock(&self.inner.state);
        let mut waiting: Vec<&SessionRecord> = state
            .open_by_pair
            .iter()
            .filter(|((_, pair_shop), _)| pair_shop == shop)
            .filter_map(|(_, id)| state.sessions.get(id))
            .filter(|session| !session.has_role(SenderRole::Agent))
            .collect();
        waiting.sort_by_key(|session| (session.opened_at, session.id));
        Ok(waiting.into_iter().map(|session| session.id).collect())
    }

    async fn append(
        &self,
        session: SessionId,
        message: NewMessage,
    ) -> Result<Appended, StoreError> {
        let log = self.log(session);
        let mut log = lock(&log);
        Ok(log.append(message, self.inner.retained))
    }

    /// Holds the session's log lock for the whole step, and the state lock only to check the
    /// version and apply the effects: the two workers' commits of different sessions contend
    /// for the state lock alone (it was 5% of the hub's CPU at saturation, held through the
    /// append too). Appending after the state lock is let go is safe because every reader and
    /// writer of this log waits for its lock, which is held until the append is done; nothing
    /// else holds both locks, so the order (log, then state) cannot deadlock.
    async fn commit_message(&self, commit: &MessageCommit) -> Result<Committed, StoreError> {
        let log = self.log(commit.session);
        let mut log = lock(&log);
        let ids = commit.messages.iter().map(|m| m.client_msg_id.as_ref());
        if let Some(original) = ids.clone().find_map(|id| log.find_duplicate(id)) {
            return Ok(Committed::Duplicate(original));
        }
        let repeats_an_id = commit.messages.len() > 1 && {
            let ids: Vec<_> = ids.flatten().collect();
            (1..ids.len()).any(|i| ids[..i].contains(&ids[i]))
        };
        let (version, waiting) = {
            let mut state = lock(&self.inner.state);
            let is_known = state.sessions.contains_key(&commit.session);
            if !is_known || state.version(commit.session) != commit.version {
                return Ok(Committed::Conflict(state.session_state(commit.session)));
            }
            // After the version check, as before: a commit that is both stale and broken
            // answers with the session as it is.
            if repeats_an_id {
                return Err(StoreError::Corrupt {
                    key: format!("log {}", commit.session),
                    detail: "one client_msg_id twice in one commit".into(),
                });
            }
            let waiting = state.apply(commit);
            (state.version(commit.session), waiting)
        };
        let mut stored = Vec::with_capacity(commit.messages.len());
        for message in &commit.messages {
            // No repeat is left after the two checks above, so every append is new.
            let appended = log.append_shared(message.clone(), self.inner.retained);
            stored.push(appended.unwrap_or_else(|original| original));
        }
        Ok(Committed::New {
            stored,
            version,
            waiting,
        })
    }

    async fn message_by_client_id(
        &self,
        session: SessionId,
        client_msg_id: &ClientMsgId,
    ) -> Result<Option<StoredMessage>, StoreError> {
        let log = self.log(session);
        let log = lock(&log);
        Ok(log
            .find_duplicate(Some(client_msg_id))
            .map(|message| StoredMessage::clone(&message)))
    }

    async fn messages_after(
        &self,
        session: SessionId,
        after_seq: u64,
        limit: usize,
    ) -> Result<History, StoreError> {
        let log = self.log(session);
        let log = lock(&log);
        Ok(log.after(after_seq, limit))
    }

    async fn set_presence(
        &self,
        shop: &ShopId,
        agent: &UserId,
        status: PresenceStatus,
    ) -> Result<(), StoreError> {
        lock(&self.inner.state).set_agent_status(shop, agent, status);
        Ok(())
    }

    async fn hold(
        &self,
        node: Uuid,
        staff: &Staff,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        lock(&self.inner.state).nodes.hold(node, staff, until);
        Ok(())
    }

    async fn release(
        &self,
        node: Uuid,
        staff: &Staff,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut state = lock(&self.inner.state);
        let offline = state.nodes.release(node, staff, now);
        if offline {
            state.set_offline(staff);
        }
        Ok(offline)
    }

    async fn is_held(&self, user: &UserId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        Ok(lock(&self.inner.state).nodes.is_held(user, now))
    }

    async fn beat(
        &self,
        node: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Beat, StoreError> {
        let mut state = lock(&self.inner.state);
        let beat = state.nodes.beat(node, now, until);
        for staff in &beat.offline {
            state.set_offline(staff);
        }
        Ok(beat)
    }

    async fn agents(&self, shop: &ShopId) -> Result<Vec<AgentRecord>, StoreError> {
        let state = lock(&self.inner.state);
        let Some(agents) = state.presence.get(shop) else {
            return Ok(Vec::new());
        };
        let load = |agent: &UserId| state.open_by_member.get(agent).map_or(0, HashSet::len);
        let mut records: Vec<AgentRecord> = agents
            .iter()
            .map(|(agent, status)| AgentRecord {
                agent: agent.clone(),
                status: *status,
                open_sessions: load(agent) as u32,
            })
            .collect();
        records.sort_by(|a, b| a.agent.cmp(&b.agent));
        Ok(records)
    }

    async fn put_decision(
        &self,
        session: SessionId,
        decision: &Decision,
    ) -> Result<(), StoreError> {
        lock(&self.inner.state)
            .decisions
            .insert(session, Arc::new(decision.clone()));
        Ok(())
    }

    async fn decision(&self, session: SessionId) -> Result<Option<Decision>, StoreError> {
        let state = lock(&self.inner.state);
        Ok(state.decisions.get(&session).map(|d| Decision::clone(d)))
    }

    async fn put_controls(
        &self,
        session: SessionId,
        controls: &SessionControls,
    ) -> Result<u64, StoreError> {
        let mut state = lock(&self.inner.state);
        state.controls.insert(session, controls.clone());
        Ok(state.bump_version(session))
    }

    async fn session_state(&self, session: SessionId) -> Result<SessionState, StoreError> {
        Ok(lock(&self.inner.state).session_state(session))
    }

    async fn controls(&self, session: SessionId) -> Result<Option<SessionControls>, StoreError> {
        Ok(lock(&self.inner.state).controls.get(&session).cloned())
    }

    async fn add_responses(&self, records: &[ResponseRecord]) -> Result<(), StoreError> {
        let mut state = lock(&self.inner.state);
        for record in records {
            let list = state.responses.entry(record.shop.clone()).or_default();
            list.push(record.clone());
        }
        Ok(())
    }

    async fn add_logistics_session(&self, record: &LogisticsRecord) -> Result<(), StoreError> {
        let mut state = lock(&self.inner.state);
        let list = state.logistics.entry(record.shop.clone()).or_default();
        list.push(record.clone());
        Ok(())
    }

    async fn service_records(&self, shop: &ShopId) -> Result<ServiceRecords, StoreError> {
        let state = lock(&self.inner.state);
        let mut responses = state.responses.get(shop).cloned().unwrap_or_default();
        let open_sessions = state.open_by_pair.iter().filter(|((_, s), _)| s == shop);
        for (_, session) in open_sessions {
            if let Some(controls) = state.controls.get(session) {
                responses.extend(controls.ledger.pending_records());
            }
        }
        let logistics = state.logistics.get(shop).cloned().unwrap_or_default();
        Ok(ServiceRecords {
            responses,
            logistics,
        })
    }

    async fn record_contact(
        &self,
        shop: &ShopId,
        buyer: &UserId,
        agent: &UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut state = lock(&self.inner.state);
        let key = (shop.clone(), buyer.clone());
        state
            .contacts
            .entry(key)
            .or_default()
            .record(agent.clone(), at);
        Ok(())
    }

    async fn recent_contacts(
        &self,
        shop: &ShopId,
        buyer: &UserId,
    ) -> Result<RecentContacts, StoreError> {
        let state = lock(&self.inner.state);
        let key = (shop.clone(), buyer.clone());
        Ok(state.contacts.get(&key).cloned().unwrap_or_default())
    }

    async fn marketing_tally(
        &self,
        shop: &ShopId,
        buyer: &UserId,
    ) -> Result<MarketingTally, StoreError> {
        let state = lock(&self.inner.state);
        let key = (shop.clone(), buyer.clone());
        Ok(state.marketing.get(&key).cloned().unwrap_or_default())
    }

    async fn put_marketing_tally(
        &self,
        shop: &ShopId,
        buyer: &UserId,
        tally: &MarketingTally,
    ) -> Result<(), StoreError> {
        let mut state = lock(&self.inner.state);
        state
            .marketing
            .insert((shop.clone(), buyer.clone()), *tally);
        Ok(())
    }

    async fn set_waiting(
        &self,
        session: SessionId,
        agent: Option<&UserId>,
    ) -> Result<Vec<UserId>, StoreError> {
        let mut state = lock(&self.inner.state);
        Ok(match agent {
            Some(agent) => state
                .waiting
                .on_buyer_message(session, agent, &Exemptions::NONE),
            None => state.waiting.on_shop_reply(session),
        })
    }

    async fn waiting_count(&self, agent: &UserId) -> Result<u32, StoreError> {
        Ok(lock(&self.inner.state).waiting.waiting_count(agent) as u32)
    }

    async fn put_routing(&self, shop: &ShopId, config: &RoutingConfig) -> Result<(), StoreError> {
        lock(&self.inner.state)
            .routing
            .insert(shop.clone(), config.clone());
        Ok(())
    }

    async fn routing(&self, shop: &ShopId) -> Result<Option<RoutingConfig>, StoreError> {
        Ok(lock(&self.inner.state).routing.get(shop).cloned())
    }

    async fn put_buyer_profile(
        &self,
        shop: &ShopId,
        buyer: &UserId,
        profile: &BuyerProfile,
    ) -> Result<(), StoreError> {
        let mut state = lock(&self.inner.state);
        state
            .buyer_profiles
            .insert((shop.clone(), buyer.clone()), profile.clone());
        Ok(())
    }

    async fn buyer_profile(
        &self,
        shop: &ShopId,
        buyer: &UserId,
    ) -> Result<Option<BuyerProfile>, StoreError> {
        let state = lock(&self.inner.state);
        Ok(state
            .buyer_profiles
            .get(&(shop.clone(), buyer.clone()))
            .cloned())
    }

    async fn put_conversion_rate(
        &self,
        shop: &ShopId,
        agent: &UserId,
        rate: f32,
    ) -> Result<(), StoreError> {
        let mut state = lock(&self.inner.state);
        state
            .conversion
            .entry(shop.clone())
            .or_default()
            .insert(agent.clone(), rate);
        Ok(())
    }

    async fn conversion_rates(&self, shop: &ShopId) -> Result<Vec<(UserId, f32)>, StoreError> {
        let state = lock(&self.inner.state);
        let rates = state.conversion.get(shop);
        let mut rates: Vec<(UserId, f32)> = rates
            .map(|rates| rates.iter().map(|(a, r)| (a.clone(), *r)).collect())
            .unwrap_or_default();
        rates.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(rates)
    }

    async fn put_routing_decision(
        &self,
        session: SessionId,
        decision: &RoutingDecision,
    ) -> Result<(), StoreError> {
        lock(&self.inner.state)
            .routing_decisions
            .insert(session, decision.clone());
        Ok(())
    }

    async fn routing_decision(
        &self,
        session: SessionId,
    ) -> Result<Option<RoutingDecision>, StoreError> {
        Ok(lock(&self.inner.state)
            .routing_decisions
            .get(&session)
            .cloned())
    }

    async fn put_shop_account(
        &self,
        shop: &ShopId,
        account: &ShopAccount,
    ) -> Result<(), StoreError> {
        lock(&self.inner.state)
            .accounts
            .insert(shop.clone(), *account);
        Ok(())
    }

    async fn shop_account(&self, shop: &ShopId) -> Result<Option<ShopAccount>, StoreError> {
        Ok(lock(&self.inner.state).accounts.get(shop).copied())
    }

    async fn put_splice(&self, splice: &Splice) -> Result<(), StoreError> {
        let mut state = lock(&self.inner.state);
        let id = splice.invite_id;
        if state.splices.insert(id, splice.clone()).is_none() {
            let list = state
                .splices_by_session
                .entry(splice.session_id)
                .or_default();
            list.push(id);
        }
        Ok(())
    }

    async fn splice(&self, invite: InviteId) -> Result<Option<Splice>, StoreError> {
        Ok(lock(&self.inner.state).splices.get(&invite).cloned())
    }

    async fn splices_of(&self, session: SessionId) -> Result<Vec<Splice>, StoreError> {
        let state = lock(&self.inner.state);
        let ids = state.splices_by_session.get(&session);
        let ids = ids.map(Vec::as_slice).unwrap_or_default();
        Ok(ids
            .iter()
            .filter_map(|id| state.splices.get(id))
            .cloned()
            .collect())
    }

    async fn set_courier_presence(
        &self,
        carrier: Carrier,
        courier: &UserId,
        status: PresenceStatus,
    ) -> Result<(), StoreError> {
        lock(&self.inner.state).set_courier_status(carrier, courier, status);
        Ok(())
    }

    async fn courier_freed(
        &self,
        carrier: Carrier,
        courier: &UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut state = lock(&self.inner.state);
        let desk = state.desks.entry(carrier).or_default();
        let entry = desk
            .entry(courier.clone())
            .or_insert((PresenceStatus::Offline, at));
        entry.1 = at;
        Ok(())
    }

    async fn couriers(&self, carrier: Carrier) -> Result<Vec<CourierRecord>, StoreError> {
        let state = lock(&self.inner.state);
        let Some(desk) = state.desks.get(&carrier) else {
            return Ok(Vec::new());
        };
        let load = |user: &UserId| state.open_by_member.get(user).map_or(0, HashSet::len);
        let mut records: Vec<CourierRecord> = desk
            .iter()
            .map(|(courier, (status, since))| CourierRecord {
                courier: courier.clone(),
                status: *status,
                active_sessions: load(courier) as u32,
                idle_since: *since,
            })
            .collect();
        records.sort_by(|a, b| a.courier.cmp(&b.courier));
        Ok(records)
    }

    async fn claim_courier(
        &self,
        courier: &UserId,
        session: SessionId,
        max: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let state = &mut *lock(&self.inner.state);
        let no_sessions = HashSet::default();
        let open = state.open_by_member.get(courier).unwrap_or(&no_sessions);
        let held = state.courier_claims.entry(courier.clone()).or_default();
        let claimed = claims::claim(held, open, session, max, now, until);
        if held.is_empty() {
            state.courier_claims.remove(courier);
        }
        Ok(claimed)
    }

    async fn release_courier(
        &self,
        courier: &UserId,
        session: SessionId,
    ) -> Result<(), StoreError> {
        let mut state = lock(&self.inner.state);
        if let Some(held) = state.courier_claims.get_mut(courier) {
            held.remove(&session);
            if held.is_empty() {
                state.courier_claims.remove(courier);
            }
        }
        Ok(())
    }

    async fn enqueue_courier_request(
        &self,
        carrier: Carrier,
        invite: InviteId,
    ) -> Result<(), StoreError> {
        let mut state = lock(&self.inner.state);
        let queue = state.courier_queues.entry(carrier).or_default();
        if !queue.contains(&invite) {
            queue.push_back(invite);
        }
        Ok(())
    }

    async fn courier_queue(&self, carrier: Carrier) -> Result<Vec<InviteId>, StoreError> {
        let state = lock(&self.inner.state);
        let queue = state.courier_queues.get(&carrier);
        Ok(queue
            .map(|q| q.iter().copied().collect())
            .unwrap_or_default())
    }

    async fn dequeue_courier_request(
        &self,
        carrier: Carrier,
        invite: InviteId,
    ) -> Result<bool, StoreError> {
        let mut state = lock(&self.inner.state);
        let Some(queue) = state.courier_queues.get_mut(&carrier) else {
            return Ok(false);
        };
        let before = queue.len();
        queue.retain(|queued| *queued != invite);
        Ok(queue.len() < before)
    }

    async fn add_evaluation(&self, entry: &EvaluationEntry) -> Result<(), StoreError> {
        let mut state = lock(&self.inner.state);
        let carrier = state.splices.get(&entry.invite_id).map(|s| s.carrier);
        let Some(carrier) = carrier else {
            return Err(StoreError::Corrupt {
                key: format!("evaluation {}", entry.invite_id),
                detail: "no splice for this invite".into(),
            });
        };
        state
            .evaluations
            .entry(carrier)
            .or_default()
            .push(entry.clone());
        Ok(())
    }

    async fn evaluations(&self, carrier: Carrier) -> Result<Vec<EvaluationEntry>, StoreError> {
        let state = lock(&self.inner.state);
        Ok(state.evaluations.get(&carrier).cloned().unwrap_or_default())
    }

    async fn add_shop_rating(&self, rating: &ShopRating) -> Result<bool, StoreError> {
        let mut state = lock(&self.inner.state);
        let list = state.shop_ratings.entry(rating.shop.clone()).or_default();
        if list.iter().any(|r| r.session_id == rating.session_id) {
            return Ok(false);
        }
        list.push(rating.clone());
        Ok(true)
    }

    async fn shop_ratings(&self, shop: &ShopId) -> Result<Vec<ShopRating>, StoreError> {
        Ok(lock(&self.inner.state)
            .shop_ratings
            .get(shop)
            .cloned()
            .unwrap_or_default())
    }
}
