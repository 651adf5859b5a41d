//! Where state lives: the `Store` trait, its records and its error.
//!
//! The hub holds an `Arc<dyn Store>` and never assumes the state is in its own memory: every
//! method may cross a network (Redis), may fail with `StoreError::Unavailable`, and returns owned
//! values. `memory` is the embedded default for one machine.

pub mod claims;
pub mod commit;
pub mod liveness;
pub mod memory;
pub mod redis;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::controls::assessment::{LogisticsRecord, ResponseLedger, ResponseRecord};
use crate::domain::controls::consecutive::ConsecutiveCounter;
use crate::domain::controls::marketing::MarketingTally;
use crate::domain::controls::recent::RecentContacts;
use crate::domain::eligibility::{Decision, OrderMention};
use crate::domain::order::{Carrier, Order};
use crate::domain::routing::{RoutingConfig, RoutingDecision, Tag};
use crate::domain::shop::ShopLogistics;
use crate::domain::splice::{EvaluationEntry, Splice};
use crate::protocol::client::PresenceStatus;
use crate::protocol::ids::InviteId;
use crate::protocol::ids::{ClientMsgId, MessageId, OrderId, SessionId, ShopId, UserId};
use crate::protocol::server::{Body, Member, SenderRole, SessionStatus};

pub use self::redis::RedisStore;
pub use commit::{Committed, Effects, MessageCommit, SessionState, WaitingChange, WaitingCount};
pub use liveness::{Beat, Post, Staff};
pub use memory::MemoryStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backing service cannot be reached; nothing was written.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store holds data it cannot read back; a fault of ours.
    #[error("corrupt record at {key}: {detail}")]
    Corrupt { key: String, detail: String },
}

/// A member of a session as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRecord {
    pub user: UserId,
    pub role: SenderRole,
    #[serde(default)]
    pub carrier: Option<Carrier>,
    pub joined_at: DateTime<Utc>,
    /// The first `seq` this member may read: couriers see only what came after they joined.
    pub visible_from_seq: u64,
    /// For a courier: the shop's logistics sub-account through which the shop side sees it.
    #[serde(default)]
    pub sub_account: Option<UserId>,
}

impl MemberRecord {
    pub fn view(&self) -> Member {
        Member {
            user: self.user.clone(),
            role: self.role,
            carrier: self.carrier,
        }
    }

    /// The member as `viewer` sees it: shop agents see a courier as the shop's own logistics
    /// sub-account, never the carrier's account.
    pub fn view_for(&self, viewer: SenderRole) -> Member {
        match (&self.sub_account, viewer) {
            (Some(sub_account), SenderRole::Agent) => Member {
                user: sub_account.clone(),
                role: self.role,
                carrier: self.carrier,
            },
            _ => self.view(),
        }
    }
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub id: SessionId,
    pub shop: ShopId,
    pub buyer: UserId,
    pub status: SessionStatus,
    pub members: Vec<MemberRecord>,
    /// Order cards the buyer sent and order pages the session was opened from, oldest first.
    pub mentions: Vec<OrderMention>,
    pub opened_at: DateTime<Utc>,
    /// Where the buyer came from, for routing.
    #[serde(default)]
    pub entry: Entry,
}

/// Where a buyer came from when opening a session: the item page and a topic tag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(default)]
    pub item: Option<Tag>,
    #[serde(default)]
    pub topic: Option<Tag>,
}

impl SessionRecord {
    pub fn member(&self, user: &UserId) -> Option<&MemberRecord> {
        self.members.iter().find(|member| &member.user == user)
    }

    pub fn has_role(&self, role: SenderRole) -> bool {
        self.members.iter().any(|member| member.role == role)
    }

    /// The most recent entry-page order, for the `session` frame.
    pub fn entry_order(&self) -> Option<&OrderId> {
        use crate::domain::eligibility::MentionSource;
        let entries = self.mentions.iter().rev();
        entries
            .filter(|mention| mention.source == MentionSource::EntryPage)
            .map(|mention| &mention.order_id)
            .next()
    }
}

/// A message to append; the store assigns `seq`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub msg_id: MessageId,
    pub client_msg_id: Option<ClientMsgId>,
    pub sender: Member,
    pub body: Body,
    pub sent_at: DateTime<Utc>,
    /// For a buyer's message: whether it prompts the shop side (decided when it was sent).
    pub prompt: Option<bool>,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredMessage {
    pub seq: u64,
    pub msg_id: MessageId,
    #[serde(default)]
    pub client_msg_id: Option<ClientMsgId>,
    pub sender: Member,
    pub body: Body,
    pub sent_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<bool>,
}

#[cfg(test)]
impl StoredMessage {
    /// A buyer's message for tests of what is built from one (frames, readers of frames).
    pub(crate) fn example(body: Body) -> StoredMessage {
        StoredMessage {
            seq: 7,
            msg_id: MessageId::new(),
            client_msg_id: Some(ClientMsgId::new("c-1").expect("valid id")),
            sender: Member {
                user: crate::protocol::ids::UserId::new("b1").expect("valid id"),
                role: crate::protocol::server::SenderRole::Buyer,
                carrier: None,
            },
            body,
            sent_at: Utc::now(),
            prompt: Some(true),
        }
    }
}

/// What `append` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Appended {
    /// Stored under a new `seq`.
    New(StoredMessage),
    /// The `client_msg_id` was seen before: nothing stored, here is the original.
    Duplicate(StoredMessage),
}

/// A slice of a session's log.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct History {
    /// Messages after the asked `seq`, oldest first, at most the asked limit.
    pub messages: Vec<StoredMessage>,
    /// The oldest `seq` still retained (`last_seq + 1` when none is).
    pub oldest_seq: u64,
    /// The newest `seq` assigned (0 when none).
    pub last_seq: u64,
}

/// What happened to an order update from the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderWrite {
    Applied,
    /// The stored order is newer (`updated_at`); the update was ignored.
    Stale,
}

/// A shop agent's presence and load, for routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRecord {
    pub agent: UserId,
    pub status: PresenceStatus,
    /// Open sessions the agent is a member of.
    pub open_sessions: u32,
}

/// A session's shop-side control state: its response clocks and the shop side's run of
/// messages without a buyer reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionControls {
    pub ledger: ResponseLedger,
    pub consecutive: ConsecutiveCounter,
}

impl SessionControls {
    pub fn new(shop: ShopId, session: SessionId) -> Self {
        SessionControls {
            ledger: ResponseLedger::new(shop, session),
            consecutive: ConsecutiveCounter::new(),
        }
    }
}

/// What the shop knows about a buyer, for routing: crowd tags and an exclusive agent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyerProfile {
    #[serde(default)]
    pub crowds: Vec<Tag>,
    #[serde(default)]
    pub exclusive_agent: Option<UserId>,
}

/// A courier agent's desk, for assigning couriers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourierRecord {
    pub courier: UserId,
    pub status: PresenceStatus,
    /// Open sessions the courier is a member of.
    pub active_sessions: u32,
    /// When the courier last became free (set available, or left a session).
    pub idle_since: DateTime<Utc>,
}

/// The buyer's rating of the shop's own service in a session; never mixed with logistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ShopRating {
    pub session_id: SessionId,
    pub shop: ShopId,
    pub buyer: UserId,
    pub score: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub at: DateTime<Utc>,
}

/// The shop's account facts from the marketplace: how many sub-accounts it may have and how
/// many it uses besides the logistics ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShopAccount {
    pub sub_account_quota: u32,
    pub sub_accounts_in_use: u32,
}

/// What a service report is built from: settled records, plus the still-pending buyer
/// messages of open sessions, and the sessions a courier joined.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceRecords {
    pub responses: Vec<ResponseRecord>,
    pub logistics: Vec<LogisticsRecord>,
}

/// A wake-up between hub nodes sharing a store. Delivery never depends on it arriving: a node
/// that misses one fills the gap from the log when it sees a later `seq`, and `Resync` tells a
/// node it may have missed some (its subscription dropped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notification {
    /// A message was stored in the session.
    Message {
        session_id: SessionId,
        seq: u64,
        node: uuid::Uuid,
    },
    /// An agent's count of buyers waiting for a reply changed (a `waiting` frame for it).
    Waiting {
        agent: UserId,
        buyers_waiting: u32,
        node: uuid::Uuid,
    },
    /// A frame for a user's connections on every node (session, membership and notices).
    Frame {
        user: UserId,
        frame: String,
        node: uuid::Uuid,
    },
    /// The subscription was lost and is back: anything may have been missed meanwhile.
    Resync,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Whether other hub nodes may share this store (and so its state can change under us).
    fn is_shared(&self) -> bool {
        false
    }

    /// Wakes the other nodes. A store only one node uses has nobody to wake.
    async fn publish(&self, _notification: &Notification) -> Result<(), StoreError> {
        Ok(())
    }

    /// Notifications from other nodes, when the store is shared.
    fn subscribe(&self) -> Option<tokio::sync::broadcast::Receiver<Notification>> {
        None
    }

    /// The count of commands sent to the backing service so far, for `/metrics`; `None` for a
    /// store that sends none.
    fn command_counter(&self) -> Option<std::sync::Arc<std::sync::atomic::AtomicU64>> {
        None
    }

    async fn put_order(&self, order: &Order) -> Result<OrderWrite, StoreError>;
    async fn order(&self, id: &OrderId) -> Result<Option<Order>, StoreError>;
    /// What an eligibility decision needs from outside the session: the chosen order (when one
    /// is) and the shop's logistics settings, in one round trip where the store allows.
    async fn eligibility_facts(
        &self,
        order: Option<&OrderId>,
        shop: &ShopId,
    ) -> Result<(Option<Order>, Option<ShopLogistics>), StoreError> {
        let order = match order {
            Some(id) => self.order(id).await?,
            None => None,
        };
        Ok((order, self.shop_logistics(shop).await?))
    }
    async fn put_shop_logistics(
        &self,
        shop: &ShopId,
        settings: &ShopLogistics,
    ) -> Result<(), StoreError>;
    async fn shop_logistics(&self, shop: &ShopId) -> Result<Option<ShopLogistics>, StoreError>;

    /// Stores a new session, or a changed one (members, status, mentions), keeping the indexes
    /// of open sessions by member and by (buyer, shop) in step. Bumps the session's version
    /// and returns the new one.
    async fn put_session(&self, session: &SessionRecord) -> Result<u64, StoreError>;
    async fn session(&self, id: SessionId) -> Result<Option<SessionRecord>, StoreError>;
    /// The buyer's open session with the shop, if any.
    async fn open_session(
        &self,
        buyer: &UserId,
        shop: &ShopId,
    ) -> Result<Option<SessionId>, StoreError>;
    /// Open sessions `user` is a member of.
    async fn sessions_of(&self, user: &UserId) -> Result<Vec<SessionId>, StoreError>;
    /// Open sessions of `shop` that no agent has taken (the message pool), oldest first.
    async fn waiting_sessions(&self, shop: &ShopId) -> Result<Vec<SessionId>, StoreError>;

    /// Stores chat messages of one session and their effects in one atomic step, unless a
    /// `client_msg_id` was seen before or the session's version moved on (see `commit`). A shared store also
    /// wakes the other nodes in that step (the message, and each changed waiting count).
    async fn commit_message(&self, commit: &MessageCommit) -> Result<Committed, StoreError>;
    /// Assigns the next `seq` and stores the message, unless its `client_msg_id` was seen in
    /// this session before; both in one atomic step. For messages without effects (platform
    /// cards, robot replies).
    async fn append(&self, session: SessionId, message: NewMessage)
    -> Result<Appended, StoreError>;
    /// The stored message with this `client_msg_id`, if the session still retains it.
    async fn message_by_client_id(
        &self,
        session: SessionId,
        client_msg_id: &ClientMsgId,
    ) -> Result<Option<StoredMessage>, StoreError>;
    async fn messages_after(
        &self,
        session: SessionId,
        after_seq: u64,
        limit: usize,
    ) -> Result<History, StoreError>;

    async fn set_presence(
        &self,
        shop: &ShopId,
        agent: &UserId,
        status: PresenceStatus,
    ) -> Result<(), StoreError>;
    /// Every agent of the shop that ever set a presence, with its open-session count.
    async fn agents(&self, shop: &ShopId) -> Result<Vec<AgentRecord>, StoreError>;

    // ---- nodes answering for staff presence (see `liveness`) ----
    /// `node` holds a connection of `staff` and lives at least until `until`.
    async fn hold(
        &self,
        node: uuid::Uuid,
        staff: &Staff,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// `node` holds no connection of `staff` any more. When no live node does, their presence
    /// becomes offline in the same step, and this returns true.
    async fn release(
        &self,
        node: uuid::Uuid,
        staff: &Staff,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Whether a node alive at `now` holds a connection of `user`.
    async fn is_held(&self, user: &UserId, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// `node` lives until `until`. Claims the nodes whose deadline passed before `now`: the
    /// staff they held whom no live node holds go offline.
    async fn beat(
        &self,
        node: uuid::Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Beat, StoreError>;

    // ---- logistics splice ----
    async fn put_shop_account(
        &self,
        shop: &ShopId,
        account: &ShopAccount,
    ) -> Result<(), StoreError>;
    async fn shop_account(&self, shop: &ShopId) -> Result<Option<ShopAccount>, StoreError>;
    async fn put_splice(&self, splice: &Splice) -> Result<(), StoreError>;
    async fn splice(&self, invite: InviteId) -> Result<Option<Splice>, StoreError>;
    /// Every splice of a session, oldest first.
    async fn splices_of(&self, session: SessionId) -> Result<Vec<Splice>, StoreError>;
    async fn set_courier_presence(
        &self,
        carrier: Carrier,
        courier: &UserId,
        status: PresenceStatus,
    ) -> Result<(), StoreError>;
    /// Notes that the courier became free at `at` (for "idle longest").
    async fn courier_freed(
        &self,
        carrier: Carrier,
        courier: &UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn couriers(&self, carrier: Carrier) -> Result<Vec<CourierRecord>, StoreError>;
    /// Claims a place for `session` among the courier's, when its open sessions and live
    /// claims are fewer than `max` (or it has this one already); false when it is full. One
    /// atomic step, so that two nodes never both take a courier's last place. The claim lasts
    /// until `until` (claims past `now` are dropped); the join that follows saves the
    /// membership and gives the claim back (see `claims`). `couriers` counts memberships only.
    async fn claim_courier(
        &self,
        courier: &UserId,
        session: SessionId,
        max: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Drops the claim `claim_courier` took for `session`, whether its join saved or failed.
    /// Never touches a membership: a session saved with the courier keeps its place.
    async fn release_courier(&self, courier: &UserId, session: SessionId)
    -> Result<(), StoreError>;
    /// Accepted invites waiting for a courier of `carrier`, longest waiting first.
    async fn enqueue_courier_request(
        &self,
        carrier: Carrier,
        invite: InviteId,
    ) -> Result<(), StoreError>;
    async fn courier_queue(&self, carrier: Carrier) -> Result<Vec<InviteId>, StoreError>;
    /// Removes an invite from the queue; false when it was not queued (someone else took it).
    async fn dequeue_courier_request(
        &self,
        carrier: Carrier,
        invite: InviteId,
    ) -> Result<bool, StoreError>;
    async fn add_evaluation(&self, entry: &EvaluationEntry) -> Result<(), StoreError>;
    async fn evaluations(&self, carrier: Carrier) -> Result<Vec<EvaluationEntry>, StoreError>;
    /// Stores the buyer's rating of the shop in a session; false when one exists already.
    async fn add_shop_rating(&self, rating: &ShopRating) -> Result<bool, StoreError>;
    async fn shop_ratings(&self, shop: &ShopId) -> Result<Vec<ShopRating>, StoreError>;

    // ---- routing ----
    async fn put_routing(&self, shop: &ShopId, config: &RoutingConfig) -> Result<(), StoreError>;
    async fn routing(&self, shop: &ShopId) -> Result<Option<RoutingConfig>, StoreError>;
    async fn put_buyer_profile(
        &self,
        shop: &ShopId,
        buyer: &UserId,
        profile: &BuyerProfile,
    ) -> Result<(), StoreError>;
    async fn buyer_profile(
        &self,
        shop: &ShopId,
        buyer: &UserId,
    ) -> Result<Option<BuyerProfile>, StoreError>;
    /// An agent's conversion rate (0.0 to 1.0), fed by the marketplace.
    async fn put_conversion_rate(
        &self,
        shop: &ShopId,
        agent: &UserId,
        rate: f32,
    ) -> Result<(), StoreError>;
    async fn conversion_rates(&self, shop: &ShopId) -> Result<Vec<(UserId, f32)>, StoreError>;
    /// Keeps the latest routing decision of a session, for its explanation.
    async fn put_routing_decision(
        &self,
        session: SessionId,
        decision: &RoutingDecision,
    ) -> Result<(), StoreError>;
    async fn routing_decision(
        &self,
        session: SessionId,
    ) -> Result<Option<RoutingDecision>, StoreError>;

    // ---- eligibility ----
    /// Keeps the latest eligibility decision taken in a session.
    async fn put_decision(&self, session: SessionId, decision: &Decision)
    -> Result<(), StoreError>;
    async fn decision(&self, session: SessionId) -> Result<Option<Decision>, StoreError>;

    // ---- shop-side controls ----
    /// Stores the session's controls; bumps the session's version and returns the new one.
    async fn put_controls(
        &self,
        session: SessionId,
        controls: &SessionControls,
    ) -> Result<u64, StoreError>;
    async fn controls(&self, session: SessionId) -> Result<Option<SessionControls>, StoreError>;
    /// The session, its controls and its version, read in one atomic step.
    async fn session_state(&self, session: SessionId) -> Result<SessionState, StoreError>;
    /// Adds settled response records (each buyer message exactly once).
    async fn add_responses(&self, records: &[ResponseRecord]) -> Result<(), StoreError>;
    /// Marks a session as a logistics session (a courier joined it).
    async fn add_logistics_session(&self, record: &LogisticsRecord) -> Result<(), StoreError>;
    /// The shop's settled records plus the pending ones of its open sessions.
    async fn service_records(&self, shop: &ShopId) -> Result<ServiceRecords, StoreError>;
    async fn record_contact(
        &self,
        shop: &ShopId,
        buyer: &UserId,
        agent: &UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn recent_contacts(
        &self,
        shop: &ShopId,
        buyer: &UserId,
    ) -> Result<RecentContacts, StoreError>;
    async fn marketing_tally(
        &self,
        shop: &ShopId,
        buyer: &UserId,
    ) -> Result<MarketingTally, StoreError>;
    async fn put_marketing_tally(
        &self,
        shop: &ShopId,
        buyer: &UserId,
        tally: &MarketingTally,
    ) -> Result<(), StoreError>;
    /// The buyer of `session` now waits on `agent` (`Some`), or waits on nobody (`None`).
    /// Returns the agents whose count of waiting buyers changed.
    async fn set_waiting(
        &self,
        session: SessionId,
        agent: Option<&UserId>,
    ) -> Result<Vec<UserId>, StoreError>;
    /// How many buyers wait for a reply from `agent`.
    async fn waiting_count(&self, agent: &UserId) -> Result<u32, StoreError>;
}
