//! Opening sessions, presence, leaving, and handing waiting buyers to agents.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use tokio::sync::oneshot;

use crate::domain::eligibility::{MentionSource, OrderMention};
use crate::hub::registry::{ConnectionHandle, Outbound};
use crate::hub::running;
use crate::hub::session::Command;
use crate::hub::{Hub, HubError, Identity, Reply, frames};
use crate::protocol::client::PresenceStatus;
use crate::protocol::ids::{OrderId, RequestId, SessionId, ShopId, UserId};
use crate::protocol::server::{NoticeCode, SenderRole, ServerMessage, SessionStatus};
use crate::protocol::{ErrorCode, Member, Role};
use crate::store::{Entry, MemberRecord, SessionRecord};

impl Hub {
    pub(super) async fn open(
        &self,
        connection: &Arc<ConnectionHandle>,
        request_id: Option<RequestId>,
        shop: ShopId,
        order_id: Option<OrderId>,
        entry: Entry,
    ) -> Result<Reply, HubError> {
        let identity = &connection.identity;
        if identity.role != Role::Buyer {
            return Err(HubError::peer(
                ErrorCode::Forbidden,
                "only buyers open sessions",
            ));
        }
        if let Some(order_id) = &order_id {
            self.check_order(order_id, &identity.user, &shop).await?;
        }
        let now = self.now();
        let mention = order_id.map(|order_id| OrderMention {
            order_id,
            at: now,
            source: MentionSource::EntryPage,
        });
        let record = {
            let _guard = self.opening_lock(&identity.user, &shop).lock().await;
            let existing = self.inner.store.open_session(&identity.user, &shop).await?;
            match existing {
                Some(id) => self.reenter(id, mention).await?,
                None => self.create(identity, shop, mention, entry).await?,
            }
        };
        let record = match self.needs_routing(&record) {
            true => self.route_again(record).await?,
            false => record,
        };
        if record.status == SessionStatus::WaitingForAgent {
            connection.push(Outbound::Frame(frames::encode(&ServerMessage::Notice {
                session_id: record.id,
                code: NoticeCode::NoAgentOnline,
                text: "No agent of this shop is online; your messages will wait for one.".into(),
                position: None,
            })));
        }
        // The session frame ends the reply to `open`.
        let frame = self
            .session_frame(&record, request_id, SenderRole::Buyer)
            .await;
        connection.push(Outbound::Frame(frame));
        Ok(Reply::None)
    }

    /// The order named by an order page or card must be this buyer's order with this shop.
    pub(super) async fn check_order(
        &self,
        order_id: &OrderId,
        buyer: &UserId,
        shop: &ShopId,
    ) -> Result<(), HubError> {
        let order = self.inner.store.order(order_id).await?;
        let order = order.ok_or_else(|| {
            HubError::peer(ErrorCode::OrderNotFound, format!("no order {order_id}"))
        })?;
        if &order.buyer != buyer || &order.shop != shop {
            return Err(HubError::peer(
                ErrorCode::OrderForbidden,
                format!("order {order_id} is not this buyer's order with this shop"),
            ));
        }
        Ok(())
    }

    async fn create(
        &self,
        identity: &Identity,
        shop: ShopId,
        mention: Option<OrderMention>,
        entry: Entry,
    ) -> Result<SessionRecord, HubError> {
        let now = self.now();
        let buyer = MemberRecord {
            user: identity.user.clone(),
            role: SenderRole::Buyer,
            carrier: None,
            joined_at: now,
            visible_from_seq: 1,
            sub_account: None,
        };
        let record = SessionRecord {
            id: SessionId::new(),
            shop,
            buyer: identity.user.clone(),
            status: SessionStatus::WaitingForAgent,
            members: vec![buyer],
            mentions: mention.into_iter().collect(),
            opened_at: now,
            entry,
        };
        self.inner.store.put_session(&record).await?;
        self.inner.metrics.session_opened();
        Ok(record)
    }

    async fn reenter(
        &self,
        session_id: SessionId,
        mention: Option<OrderMention>,
    ) -> Result<SessionRecord, HubError> {
        let Some(mention) = mention else {
            let record = self.inner.store.session(session_id).await?;
            return record.ok_or(HubError::NotMember);
        };
        let (done, answer) = oneshot::channel();
        running::dispatch(self, session_id, Command::Mention { mention, done }).await?;
        answer.await.map_err(|_| HubError::ShuttingDown)?
    }

    pub(super) async fn presence(
        &self,
        connection: &ConnectionHandle,
        status: PresenceStatus,
    ) -> Result<Reply, HubError> {
        let identity = &connection.identity;
        if identity.role == Role::Courier {
            return self.courier_presence(identity, status).await;
        }
        let (Role::Agent, Some(shop)) = (identity.role, &identity.shop) else {
            return Err(HubError::peer(
                ErrorCode::Forbidden,
                "only shop agents and couriers set presence",
            ));
        };
        if !matches!(
            status,
            PresenceStatus::Online | PresenceStatus::Suspended | PresenceStatus::Offline
        ) {
            return Err(HubError::peer(
                ErrorCode::InvalidMessage,
                "agents are online, suspended or offline",
            ));
        }
        self.inner
            .store
            .set_presence(shop, &identity.user, status)
            .await?;
        self.remember_presence(&identity.user, status);
        if status == PresenceStatus::Online {
            self.assign_waiting(shop).await?;
        }
        Ok(Reply::None)
    }

    /// Hands the shop's waiting sessions (the message pool) to online agents, oldest first.
    async fn assign_waiting(&self, shop: &ShopId) -> Result<(), HubError> {
        for session_id in self.inner.store.waiting_sessions(shop).await? {
            let Some(record) = self.inner.store.session(session_id).await? else {
                continue;
            };
            let record = self.route_and_assign(record, None, true).await?;
            if record.status == SessionStatus::WaitingForAgent {
                break;
            }
        }
        Ok(())
    }

    pub(super) async fn leave(
        &self,
        connection: &ConnectionHandle,
        session_id: SessionId,
    ) -> Result<Reply, HubError> {
        let identity = &connection.identity;
        let role = match identity.role {
            Role::Buyer => SenderRole::Buyer,
            Role::Agent => SenderRole::Agent,
            Role::Courier => SenderRole::Courier,
            Role::Admin => return Err(HubError::NotMember),
        };
        let member = Member {
            user: identity.user.clone(),
            role,
            carrier: identity.carrier,
        };
        let (done, answer) = oneshot::channel();
        running::dispatch(self, session_id, Command::Leave { member, done }).await?;
        answer.await.map_err(|_| HubError::ShuttingDown)??;
        if role == SenderRole::Agent
            && let Some(record) = self.inner.store.session(session_id).await?
            && record.status == SessionStatus::WaitingForAgent
        {
            self.route_and_assign(record, Some(&identity.user), true)
                .await?;
        }
        Ok(Reply::None)
    }

    /// Routes a re-entering buyer whose agent is gone. An agent still listed but no longer
    /// connected is replaced by the one routing picks.
    async fn route_again(&self, record: SessionRecord) -> Result<SessionRecord, HubError> {
        let gone = record.members.iter().find(|m| m.role == SenderRole::Agent);
        let Some(gone) = gone.map(|m| m.user.clone()) else {
            return self.route_and_assign(record, None, true).await;
        };
        self.replace_agent(record.id, &gone).await
    }

    fn opening_lock(&self, buyer: &UserId, shop: &ShopId) -> &tokio::sync::Mutex<()> {
        let mut hasher = DefaultHasher::new();
        (buyer, shop).hash(&mut hasher);
        let stripe = hasher.finish() as usize % self.inner.opening.len();
        &self.inner.opening[stripe]
    }
}
