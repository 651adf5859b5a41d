//! Routing a buyer to the shop's agents: gathers the inputs of `domain::routing::route` (the
//! shop's configuration, agents' presence and waiting counts, the buyer's recent contact,
//! profile and order state), applies the decision, and keeps it for its explanation.
//! Also transfers between agents and the robot's hand-over to a person.

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use crate::domain::eligibility::chosen_order;
use crate::domain::routing::{
    AgentPresence, AgentState, AgentStatus, BuyerContext, GroupId, RecentContact, RouteTarget,
    RoutingConfig, RoutingDecision, agent_states, order_state, pick_in_group, route,
};
use crate::domain::routing::{RobotAnswer, robot_answer};
use crate::hub::running;
use crate::hub::session::{Command, SessionActor};
use crate::hub::{Hub, HubError};
use crate::protocol::client::PresenceStatus;
use crate::protocol::ids::{SessionId, ShopId, UserId};
use crate::protocol::server::{Body, NoticeCode};
use crate::protocol::server::{SenderRole, SessionStatus};
use crate::protocol::{ErrorCode, Member};
use crate::store::{MemberRecord, SessionRecord};

/// The shop's robot as a session member.
pub fn robot_user() -> UserId {
    UserId::new("robot").expect("a literal, valid id")
}

/// A uniformly random number for the weighted pick, from the OS's randomness via a v4 UUID.
fn random_pick() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}

fn agent_status(status: PresenceStatus, is_connected: bool) -> AgentStatus {
    match (status, is_connected) {
        (_, false) => AgentStatus::Offline,
        (PresenceStatus::Online, true) => AgentStatus::Online,
        (PresenceStatus::Suspended, true) => AgentStatus::Suspended,
        _ => AgentStatus::Offline,
    }
}

impl Hub {
    /// Runs the five steps for the session's buyer and applies the outcome. `exclude` is an
    /// agent that just left; `with_robot` false when the buyer asked the robot for a person.
    pub(super) async fn route_and_assign(
        &self,
        record: SessionRecord,
        exclude: Option<&UserId>,
        with_robot: bool,
    ) -> Result<SessionRecord, HubError> {
        let decision = self.route_session(&record, exclude, with_robot).await?;
        let member = match &decision.target {
            RouteTarget::Agent { agent }
            | RouteTarget::MainAccount { agent }
            | RouteTarget::Proxy { agent } => self.agent_member(agent.clone()),
            RouteTarget::Robot { .. } => self.member(robot_user(), SenderRole::Robot),
            RouteTarget::MessagePool => return Ok(record),
        };
        if member.role == SenderRole::Agent {
            let store = self.store();
            store
                .record_contact(&record.shop, &record.buyer, &member.user, self.now())
                .await?;
        }
        self.join_member(record.id, member).await
    }

    async fn route_session(
        &self,
        record: &SessionRecord,
        exclude: Option<&UserId>,
        with_robot: bool,
    ) -> Result<RoutingDecision, HubError> {
        let mut config = self
            .store()
            .routing(&record.shop)
            .await?
            .unwrap_or_default();
        if !with_robot {
            config.robot_first = false;
            config
                .groups
                .iter_mut()
                .for_each(|group| group.robot_on = false);
        }
        let agents = self.agent_states(&record.shop, &config, exclude).await?;
        let now = self.now();
        let buyer = self.buyer_context(record, &config, now).await?;
        let decision = route(&buyer, &agents, &config, now, random_pick());
        self.store()
            .put_routing_decision(record.id, &decision)
            .await?;
        Ok(decision)
    }

    /// The shop's agents as routing sees them: live presence (offline when not connected),
    /// buyers waiting on each, conversion rates, levels and groups.
    async fn agent_states(
        &self,
        shop: &ShopId,
        config: &RoutingConfig,
        exclude: Option<&UserId>,
    ) -> Result<Vec<AgentState>, HubError> {
        let store = self.store();
        let rates = store.conversion_rates(shop).await?;
        let mut presence = Vec::new();
        for agent in store.agents(shop).await? {
            if Some(&agent.agent) == exclude {
                continue;
            }
            let is_connected = self.is_present(&agent.agent);
            let rate = rates
                .iter()
                .find(|(a, _)| *a == agent.agent)
                .map_or(0.0, |r| r.1);
            presence.push(AgentPresence {
                waiting: store.waiting_count(&agent.agent).await?,
                status: agent_status(agent.status, is_connected),
                agent: agent.agent,
                conversion_rate: rate,
            });
        }
        Ok(agent_states(config, &presence))
    }

    async fn buyer_context(
        &self,
        record: &SessionRecord,
        config: &RoutingConfig,
        now: DateTime<Utc>,
    ) -> Result<BuyerContext, HubError> {
        let store = self.store();
        let contacts = store.recent_contacts(&record.shop, &record.buyer).await?;
        let profile = store.buyer_profile(&record.shop, &record.buyer).await?;
        let profile = profile.unwrap_or_default();
        let window = self.inner.settings.eligibility.order_card_window;
        let order = match chosen_order(&record.mentions, window, now) {
            Some(mention) => store.order(&mention.order_id).await?,
            None => None,
        };
        Ok(BuyerContext {
            recent_contact: contacts
                .latest()
                .map(|(agent, at)| RecentContact { agent, at }),
            exclusive_agent: profile.exclusive_agent,
            crowds: profile.crowds,
            item: record.entry.item.clone(),
            intent: record.entry.topic.clone(),
            order_state: order_state(order.as_ref(), now, config.after_sale_window()),
        })
    }

    fn member(&self, user: UserId, role: SenderRole) -> MemberRecord {
        MemberRecord {
            user,
            role,
            carrier: None,
            joined_at: self.now(),
            visible_from_seq: 1,
            sub_account: None,
        }
    }

    fn agent_member(&self, agent: UserId) -> MemberRecord {
        self.member(agent, SenderRole::Agent)
    }

    async fn join_member(
        &self,
        session_id: SessionId,
        member: MemberRecord,
    ) -> Result<SessionRecord, HubError> {
        let (done, answer) = oneshot::channel();
        running::dispatch(self, session_id, Command::Join { member, done }).await?;
        answer.await.map_err(|_| HubError::ShuttingDown)??;
        let record = self.store().session(session_id).await?;
        record.ok_or(HubError::NotMember)
    }

    /// The buyer asked the robot for a person: routing again without robots, and the person
    /// chosen takes over from the robot. Runs outside the session's actor.
    pub(crate) fn hand_over_from_robot(&self, session_id: SessionId) {
        let hub = self.clone();
        self.inner.tasks.spawn(async move {
            if let Err(error) = hub.hand_over(session_id).await {
                tracing::warn!(%session_id, %error, "robot hand-over failed");
            }
        });
    }

    async fn hand_over(&self, session_id: SessionId) -> Result<(), HubError> {
        self.replace_member(session_id, &robot_user(), false)
            .await?;
        Ok(())
    }

    /// Routes again without `gone` (an agent no longer connected) and hands the buyer over.
    pub(super) async fn replace_agent(
        &self,
        session_id: SessionId,
        gone: &UserId,
    ) -> Result<SessionRecord, HubError> {
        self.replace_member(session_id, gone, true).await
    }

    async fn replace_member(
        &self,
        session_id: SessionId,
        gone: &UserId,
        with_robot: bool,
    ) -> Result<SessionRecord, HubError> {
        let record = self.store().session(session_id).await?;
        let record = record.ok_or(HubError::NotMember)?;
        let decision = self.route_session(&record, Some(gone), with_robot).await?;
        let to = match decision.target {
            RouteTarget::Agent { agent }
            | RouteTarget::MainAccount { agent }
            | RouteTarget::Proxy { agent } => Some(self.agent_member(agent)),
            _ => None,
        };
        let Some(to) = to else {
            return Ok(record);
        };
        let store = self.store();
        store
            .record_contact(&record.shop, &record.buyer, &to.user, self.now())
            .await?;
        let (done, answer) = oneshot::channel();
        let command = Command::Transfer {
            from: gone.clone(),
            to: Some(to),
            done,
        };
        running::dispatch(self, session_id, command).await?;
        answer.await.map_err(|_| HubError::ShuttingDown)??;
        let record = self.store().session(session_id).await?;
        record.ok_or(HubError::NotMember)
    }

    /// An agent hands its buyer to another agent, or to a group (an agent of the group is
    /// picked as routing would).
    pub(super) async fn transfer(
        &self,
        from: &UserId,
        shop: &ShopId,
        session_id: SessionId,
        to_agent: Option<UserId>,
        to_group: Option<GroupId>,
    ) -> Result<(), HubError> {
        let record = self.store().session(session_id).await?;
        let record = record.filter(|r| r.member(from).is_some_and(|m| m.role == SenderRole::Agent));
        let record = record.ok_or(HubError::NotMember)?;
        let config = self.store().routing(shop).await?.unwrap_or_default();
        let agents = self.agent_states(shop, &config, Some(from)).await?;
        let target = match (to_agent, to_group) {
            (Some(agent), None) => agents
                .iter()
                .find(|a| a.agent == agent && a.status == AgentStatus::Online)
                .map(|a| a.agent.clone()),
            (None, Some(group)) => {
                let group = config
                    .groups
                    .iter()
                    .find(|g| g.id == group)
                    .ok_or_else(|| {
                        HubError::peer(ErrorCode::InvalidMessage, format!("no group {group}"))
                    })?;
                pick_in_group(group, &agents, config.pick_rules(), random_pick())
            }
            _ => {
                return Err(HubError::peer(
                    ErrorCode::InvalidMessage,
                    "name exactly one of to_agent and to_group",
                ));
            }
        };
        let target = target.ok_or_else(|| {
            HubError::peer(
                ErrorCode::NotAllowed,
                "no agent available to take the buyer",
            )
        })?;
        let store = self.store();
        store
            .record_contact(&record.shop, &record.buyer, &target, self.now())
            .await?;
        let (done, answer) = oneshot::channel();
        let command = Command::Transfer {
            from: from.clone(),
            to: Some(self.agent_member(target)),
            done,
        };
        running::dispatch(self, session_id, command).await?;
        answer.await.map_err(|_| HubError::ShuttingDown)?
    }

    /// Whether the session's serving agent is gone, so a re-entering buyer is routed again.
    pub(super) fn needs_routing(&self, record: &SessionRecord) -> bool {
        let serving = record
            .members
            .iter()
            .filter(|m| m.role == SenderRole::Agent);
        let mut serving = serving.map(|m| &m.user);
        record.status == SessionStatus::WaitingForAgent
            || serving.all(|agent| !self.is_present(agent)) && !record.has_role(SenderRole::Robot)
    }
}

impl SessionActor {
    /// The robot serves when it is a member and no person is.
    pub(super) fn is_robot_serving(&self) -> bool {
        self.record.has_role(SenderRole::Robot) && !self.record.has_role(SenderRole::Agent)
    }

    /// The robot answers from the shop's replies, or hands the buyer to a person.
    pub(super) async fn robot_reply(&mut self, text: &str) -> Result<(), HubError> {
        let config = self
            .hub
            .store()
            .routing(&self.record.shop)
            .await?
            .unwrap_or_default();
        match robot_answer(text, &config.robot) {
            RobotAnswer::Handover => {
                self.hub.hand_over_from_robot(self.record.id);
                Ok(())
            }
            RobotAnswer::Reply(reply) => {
                let robot = Member {
                    user: robot_user(),
                    role: SenderRole::Robot,
                    carrier: None,
                };
                self.post_as(robot, Body::Text { text: reply }).await
            }
        }
    }

    /// Hands the buyer from `from` to `to`: `to` joins, `from` leaves, and the buyer is told who
    /// serves them now. A buyer waiting for a reply now waits on the new agent.
    pub(super) async fn transfer(
        &mut self,
        from: &UserId,
        to: Option<MemberRecord>,
    ) -> Result<(), HubError> {
        let Some(leaving) = self.record.member(from).map(MemberRecord::view) else {
            return Err(HubError::NotMember);
        };
        let Some(to) = to else {
            return Ok(());
        };
        let new_agent = to.user.clone();
        self.join(to).await?;
        self.leave(leaving).await?;
        if !self.controls.ledger.pending().is_empty() {
            let store = self.hub.store().clone();
            let changed = store.set_waiting(self.record.id, Some(&new_agent)).await?;
            self.hub.push_waiting_counts(&changed).await;
        }
        let text = format!("{new_agent} is now serving you.");
        self.notice_buyer(NoticeCode::AgentAssigned, &text, None);
        Ok(())
    }
}
