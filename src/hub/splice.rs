//! The splice: inviting the carrier's courier agent into a session, with the buyer's consent.
//!
//! The state machine, the invite policy, the courier pick and the masking are pure rules in
//! `domain::splice`; this module runs them inside the session's actor, so every change to a
//! session's splice is serialised with its messages, and records every transition in the store.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::domain::eligibility::Decision;
use crate::domain::splice::{
    Actor, Applied, CourierCandidate, DeskStatus, Evaluation, Event, InviteFacts, Splice,
    SpliceError, SpliceState, mask_personal, may_invite, pick_courier,
};
use crate::hub::registry::{ConnectionHandle, Outbound};
use crate::hub::session::SessionActor;
use crate::hub::{Hub, HubError, frames};
use crate::protocol::client::PresenceStatus;
use crate::protocol::ids::{InviteId, RequestId, SessionId, UserId};
use crate::protocol::server::{Body, ContextMessage, NoticeCode, SenderRole, ServerMessage};
use crate::protocol::{ErrorCode, Member};
use crate::store::claims;
use crate::store::{MemberRecord, NewMessage, StoredMessage};

/// The platform speaking in a session (invites, evaluation cards).
pub fn platform_member() -> Member {
    Member {
        user: UserId::new("platform").expect("a literal, valid id"),
        role: SenderRole::Platform,
        carrier: None,
    }
}

fn desk_status(status: PresenceStatus) -> DeskStatus {
    match status {
        PresenceStatus::Available => DeskStatus::Available,
        PresenceStatus::Busy => DeskStatus::Busy,
        _ => DeskStatus::Offline,
    }
}

fn splice_error(error: SpliceError) -> HubError {
    let code = match &error {
        SpliceError::Expired => ErrorCode::InviteExpired,
        SpliceError::NotTheBuyer => ErrorCode::Forbidden,
        SpliceError::AlreadyAnswered { .. } | SpliceError::AlreadyEvaluated => {
            ErrorCode::AlreadyAnswered
        }
        SpliceError::BadScore | SpliceError::CommentTooLong => ErrorCode::InvalidMessage,
        SpliceError::NotAllowed { .. } => ErrorCode::NotAllowed,
    };
    HubError::peer(code, error.to_string())
}

impl SessionActor {
    /// An eligible decision sends the buyer an invite, unless the policy holds it back.
    pub(super) async fn on_eligible(
        &mut self,
        decision: &Decision,
        now: DateTime<Utc>,
    ) -> Result<(), HubError> {
        let (Some(order_id), Some(carrier), Some(intent)) =
            (&decision.order_id, decision.carrier, decision.intent)
        else {
            return Ok(());
        };
        let store = self.hub.store().clone();
        let rules = &self.hub.inner.settings.splice;
        let splices = store.splices_of(self.record.id).await?;
        if let Err(blocked) = may_invite(&splices, order_id, now, &rules.invite) {
            tracing::debug!(session = %self.record.id, %blocked, "no invite");
            return Ok(());
        }
        let Some(order) = store.order(order_id).await? else {
            return Ok(());
        };
        let waybill = order
            .parcels
            .first()
            .map(|p| p.waybill.clone())
            .unwrap_or_default();
        let facts = InviteFacts {
            invite_id: InviteId::new(),
            session_id: self.record.id,
            shop: self.record.shop.clone(),
            buyer: self.record.buyer.clone(),
            order_id: order_id.clone(),
            carrier,
            waybill,
            order_status: order.status,
            intent,
        };
        let splice = Splice::invite(facts, now, rules.invite.ttl);
        store.put_splice(&splice).await?;
        let card = Body::Invite {
            invite_id: splice.invite_id,
            order_id: splice.order_id.clone(),
            carrier,
            intent,
            expires_at: splice.expires_at,
        };
        self.post_platform(card).await
    }

    /// Stores a platform message and delivers it to every member.
    pub(super) async fn post_platform(&mut self, body: Body) -> Result<(), HubError> {
        self.post_as(platform_member(), body).await
    }

    /// Stores a message the hub writes on someone's behalf (platform, robot) and delivers it.
    pub(super) async fn post_as(&mut self, sender: Member, body: Body) -> Result<(), HubError> {
        let message = NewMessage {
            msg_id: crate::protocol::ids::MessageId::new(),
            client_msg_id: None,
            sender,
            body,
            sent_at: self.hub.now(),
            prompt: None,
        };
        let stored = self.hub.store().append(self.record.id, message).await?;
        if let crate::store::Appended::New(stored) = stored {
            self.deliver(&stored, None);
            self.hub.announce_stored(self.record.id, stored.seq).await;
        }
        Ok(())
    }

    pub(super) async fn answer_invite(
        &mut self,
        connection: &Arc<ConnectionHandle>,
        request_id: Option<RequestId>,
        invite_id: InviteId,
        accept: bool,
    ) -> Result<(), HubError> {
        let mut splice = self.splice_of_session(invite_id).await?;
        let now = self.hub.now();
        let user = &connection.identity.user;
        let result = splice.answer(user, accept, now);
        // An answer after expiry also records the expiry, so the splice is saved either way.
        self.hub.store().put_splice(&splice).await?;
        let accepted = match result {
            Ok(_) => accept,
            Err(SpliceError::AlreadyAnswered { accepted }) => accepted,
            Err(error) => return Err(splice_error(error)),
        };
        let reply = ServerMessage::InviteAnswer {
            request_id,
            invite_id,
            accepted,
        };
        connection.push(Outbound::Frame(frames::encode(&reply)));
        if matches!(result, Ok(Applied::Changed)) {
            self.after_answer(&mut splice, accept).await?;
        }
        Ok(())
    }

    async fn after_answer(&mut self, splice: &mut Splice, accept: bool) -> Result<(), HubError> {
        let (code, text) = if accept {
            (
                NoticeCode::InviteAccepted,
                "The buyer accepted; finding a courier agent.",
            )
        } else {
            (
                NoticeCode::InviteDeclined,
                "The buyer declined the courier agent.",
            )
        };
        self.notice_members(code, text, None);
        if accept {
            self.find_courier(splice, true).await?;
        }
        Ok(())
    }

    /// The splice with this invite id, if it belongs to this session.
    async fn splice_of_session(&self, invite_id: InviteId) -> Result<Splice, HubError> {
        let splice = self.hub.store().splice(invite_id).await?;
        splice
            .filter(|splice| splice.session_id == self.record.id)
            .ok_or_else(|| HubError::peer(ErrorCode::InviteNotFound, "no such invite"))
    }

    /// Joins a free courier of the carrier, or queues the buyer. A fresh request queues
    /// behind buyers already waiting, so the longest waiting is served first.
    pub(super) async fn find_courier(
        &mut self,
        splice: &mut Splice,
        is_fresh: bool,
    ) -> Result<(), HubError> {
        let hub = self.hub.clone();
        let _one_at_a_time = hub.inner.assigning.lock().await;
        let store = self.hub.store().clone();
        let queue = store.courier_queue(splice.carrier).await?;
        let is_behind_others = is_fresh && !queue.is_empty();
        let courier = match is_behind_others {
            true => None,
            false => self.claim_free_courier(splice).await?,
        };
        match courier {
            Some(courier) => self.join_courier(splice, courier).await,
            None if splice.state == SpliceState::Queued => Ok(()),
            None => self.queue_for_courier(splice).await,
        }
    }

    /// A free courier of the splice's carrier, with a place taken for this session. Another
    /// node may take a courier's last place between reading the desk and claiming it: that
    /// courier is passed over and the next one tried.
    async fn claim_free_courier(&self, splice: &Splice) -> Result<Option<UserId>, HubError> {
        let max = self.hub.inner.settings.splice.max_courier_sessions;
        let mut passed_over = Vec::new();
        loop {
            let Some(courier) = self.pick_courier(splice, &passed_over).await? else {
                return Ok(None);
            };
            let store = self.hub.store();
            // Wall-clock time: other nodes judge the claim's deadline by their own clocks.
            let now = Utc::now();
            let until = now + claims::CLAIM_TTL;
            let session = self.record.id;
            if store
                .claim_courier(&courier, session, max, now, until)
                .await?
            {
                return Ok(Some(courier));
            }
            passed_over.push(courier);
        }
    }

    async fn pick_courier(
        &self,
        splice: &Splice,
        passed_over: &[UserId],
    ) -> Result<Option<UserId>, HubError> {
        let couriers = self.hub.store().couriers(splice.carrier).await?;
        let candidates: Vec<CourierCandidate> = couriers
            .into_iter()
            .filter(|record| !passed_over.contains(&record.courier))
            .map(|record| CourierCandidate {
                is_connected: self.hub.is_present(&record.courier),
                courier: record.courier,
                status: desk_status(record.status),
                active_sessions: record.active_sessions,
                idle_since: record.idle_since,
            })
            .collect();
        let max = self.hub.inner.settings.splice.max_courier_sessions;
        Ok(pick_courier(&candidates, max).cloned())
    }

    async fn queue_for_courier(&mut self, splice: &mut Splice) -> Result<(), HubError> {
        let store = self.hub.store().clone();
        splice
            .apply(Event::Queue, Actor::Platform, self.hub.now())
            .map_err(splice_error)?;
        store.put_splice(splice).await?;
        store
            .enqueue_courier_request(splice.carrier, splice.invite_id)
            .await?;
        let queue = store.courier_queue(splice.carrier).await?;
        let position = queue.iter().position(|id| *id == splice.invite_id);
        let position = position.map(|index| index as u32 + 1);
        let text = "All courier agents are busy; you are in the queue.";
        self.notice_buyer(NoticeCode::CourierQueued, text, position);
        let timeout = self.hub.inner.settings.splice.queue_timeout;
        self.hub
            .schedule_queue_timeout(self.record.id, splice.invite_id, timeout);
        Ok(())
    }

    /// Joins a courier whose place `claim_free_courier` claimed, then drops the claim: a join
    /// that saved holds the place as a membership, one that failed gives it back. A claim that
    /// cannot be dropped (the store unreachable) expires by itself (`claims::CLAIM_TTL`).
    async fn join_courier(&mut self, splice: &mut Splice, courier: UserId) -> Result<(), HubError> {
        let result = self.join_claimed_courier(splice, courier.clone()).await;
        let store = self.hub.store();
        if let Err(error) = store.release_courier(&courier, self.record.id).await {
            tracing::warn!(%courier, %error, "courier claim left to expire");
        }
        result
    }

    async fn join_claimed_courier(
        &mut self,
        splice: &mut Splice,
        courier: UserId,
    ) -> Result<(), HubError> {
        let store = self.hub.store().clone();
        store
            .dequeue_courier_request(splice.carrier, splice.invite_id)
            .await?;
        let now = self.hub.now();
        let event = Event::Join {
            courier: courier.clone(),
        };
        splice
            .apply(event, Actor::Platform, now)
            .map_err(splice_error)?;
        store.put_splice(splice).await?;
        let shop = store
            .shop_logistics(&self.record.shop)
            .await?
            .unwrap_or_default();
        let sub_account = shop.chosen(splice.carrier).map(|c| c.sub_account.clone());
        let last_seq = store
            .messages_after(self.record.id, u64::MAX, 0)
            .await?
            .last_seq;
        let member = MemberRecord {
            user: courier,
            role: SenderRole::Courier,
            carrier: Some(splice.carrier),
            joined_at: now,
            visible_from_seq: last_seq + 1,
            sub_account,
        };
        let courier = member.user.clone();
        self.join(member).await?;
        let card = self
            .hub
            .context_card(self.record.id, splice, last_seq)
            .await?;
        let frame = Outbound::Frame(frames::encode(&card));
        self.hub.tell(&courier, &frame);
        self.touch();
        Ok(())
    }

    /// The courier leaves (it asked, the session closed, or it idled): the buyer gets the
    /// logistics evaluation card.
    pub(super) async fn courier_left(&mut self, courier: &UserId) -> Result<(), HubError> {
        let store = self.hub.store().clone();
        let now = self.hub.now();
        let Some(mut splice) = self.joined_splice(courier).await? else {
            return Ok(());
        };
        let actor = Actor::Courier {
            user: courier.clone(),
        };
        splice
            .apply(Event::Leave, actor, now)
            .map_err(splice_error)?;
        store.put_splice(&splice).await?;
        store.courier_freed(splice.carrier, courier, now).await?;
        self.notice_buyer(
            NoticeCode::CourierLeft,
            "The courier agent left the chat.",
            None,
        );
        let card = Body::LogisticsEvaluation {
            invite_id: splice.invite_id,
            carrier: splice.carrier,
        };
        self.post_platform(card).await?;
        self.hub.drain_courier_queue(splice.carrier);
        Ok(())
    }

    /// The splice a courier joined in this session.
    async fn joined_splice(&self, courier: &UserId) -> Result<Option<Splice>, HubError> {
        let splices = self.hub.store().splices_of(self.record.id).await?;
        Ok(splices
            .into_iter()
            .find(|s| s.state == SpliceState::Joined && s.courier.as_ref() == Some(courier)))
    }

    /// A courier that disconnected did not come back in time: it leaves, and the buyer is
    /// offered another.
    pub(super) async fn courier_lost(&mut self, courier: &UserId) -> Result<(), HubError> {
        if self.record.member(courier).is_none() || self.hub.is_connected_anywhere(courier).await {
            return Ok(());
        }
        let Some(mut splice) = self.joined_splice(courier).await? else {
            return Ok(());
        };
        let member = self.record.member(courier).map(MemberRecord::view);
        if let Some(member) = member {
            self.leave(member).await?;
        }
        let event = Event::CourierLost {
            courier: courier.clone(),
        };
        splice
            .apply(event, Actor::Platform, self.hub.now())
            .map_err(splice_error)?;
        self.hub.store().put_splice(&splice).await?;
        let text = "Your courier agent disconnected; finding another one.";
        self.notice_buyer(NoticeCode::CourierLost, text, None);
        self.hub
            .store()
            .enqueue_courier_request(splice.carrier, splice.invite_id)
            .await?;
        self.hub.drain_courier_queue(splice.carrier);
        Ok(())
    }

    /// Offers a queued buyer a courier that freed up. Returns whether one joined.
    pub(super) async fn offer_courier(&mut self, invite_id: InviteId) -> Result<bool, HubError> {
        let mut splice = self.splice_of_session(invite_id).await?;
        if splice.state != SpliceState::Queued {
            self.hub
                .store()
                .dequeue_courier_request(splice.carrier, invite_id)
                .await?;
            return Ok(true);
        }
        let hub = self.hub.clone();
        let _one_at_a_time = hub.inner.assigning.lock().await;
        let Some(courier) = self.claim_free_courier(&splice).await? else {
            return Ok(false);
        };
        self.join_courier(&mut splice, courier).await?;
        Ok(true)
    }

    /// Nobody freed up in time: the buyer is told, and the session goes on with the shop.
    pub(super) async fn queue_timed_out(&mut self, invite_id: InviteId) -> Result<(), HubError> {
        let mut splice = self.splice_of_session(invite_id).await?;
        if splice.state != SpliceState::Queued {
            return Ok(());
        }
        let store = self.hub.store().clone();
        if !store
            .dequeue_courier_request(splice.carrier, invite_id)
            .await?
        {
            return Ok(());
        }
        let now = self.hub.now();
        splice
            .apply(Event::NoCourier, Actor::Platform, now)
            .map_err(splice_error)?;
        store.put_splice(&splice).await?;
        let text = "No courier agent is available right now; the shop will keep helping you.";
        self.notice_buyer(NoticeCode::NoCourierAvailable, text, None);
        Ok(())
    }

    pub(super) async fn evaluate(
        &mut self,
        connection: &Arc<ConnectionHandle>,
        request_id: Option<RequestId>,
        invite_id: InviteId,
        evaluation: Evaluation,
    ) -> Result<(), HubError> {
        let mut splice = self.splice_of_session(invite_id).await?;
        let actor = Actor::Buyer {
            user: connection.identity.user.clone(),
        };
        if connection.identity.user != splice.buyer {
            return Err(splice_error(SpliceError::NotTheBuyer));
        }
        let applied = splice
            .apply(Event::Evaluate(evaluation), actor, self.hub.now())
            .map_err(splice_error)?;
        if applied == Applied::Changed {
            let store = self.hub.store();
            store.put_splice(&splice).await?;
            if let Some(entry) = splice.evaluation_entry() {
                store.add_evaluation(&entry).await?;
            }
        }
        let reply = ServerMessage::Evaluated {
            request_id,
            invite_id,
        };
        connection.push(Outbound::Frame(frames::encode(&reply)));
        Ok(())
    }

    pub(super) fn notice_buyer(&self, code: NoticeCode, text: &str, position: Option<u32>) {
        let frame = self.notice(code, text, position);
        self.hub.tell(&self.record.buyer, &frame);
    }

    fn notice_members(&self, code: NoticeCode, text: &str, position: Option<u32>) {
        let frame = self.notice(code, text, position);
        for member in &self.record.members {
            self.hub.tell(&member.user, &frame);
        }
    }

    fn notice(&self, code: NoticeCode, text: &str, position: Option<u32>) -> Outbound {
        Outbound::Frame(frames::encode(&ServerMessage::Notice {
            session_id: self.record.id,
            code,
            text: text.into(),
            position,
        }))
    }
}

fn context_message(stored: &StoredMessage) -> ContextMessage {
    let text = match &stored.body {
        Body::Text { text } => mask_personal(text),
        Body::OrderCard { order_id } => format!("[order card {order_id}]"),
        Body::Invite { .. } => "[logistics invite]".into(),
        Body::LogisticsEvaluation { .. } => "[logistics evaluation]".into(),
    };
    ContextMessage {
        seq: stored.seq,
        sender: stored.sender.clone(),
        text,
        sent_at: stored.sent_at,
    }
}

impl Hub {
    /// The courier's context card: the complaint and the last messages up to `last_seq` (the
    /// log's end when the courier joined), masked.
    pub(super) async fn context_card(
        &self,
        session_id: SessionId,
        splice: &Splice,
        last_seq: u64,
    ) -> Result<ServerMessage, HubError> {
        let count = self.inner.settings.splice.context_messages as u64;
        let after = last_seq.saturating_sub(count);
        let history = self
            .store()
            .messages_after(session_id, after, count as usize)
            .await?;
        let messages = history
            .messages
            .iter()
            .take_while(|m| m.seq <= last_seq)
            .map(context_message)
            .collect();
        Ok(ServerMessage::Context {
            session_id,
            invite_id: splice.invite_id,
            order_id: splice.order_id.clone(),
            carrier: splice.carrier,
            waybill: splice.waybill.clone(),
            order_status: splice.order_status,
            intent: splice.intent,
            messages,
        })
    }

    /// The context card of the splice `courier` joined in the session, for a resume; none when
    /// it has no joined splice there, or the card could not be read (the resume goes on).
    pub(super) async fn context_again(
        &self,
        session_id: SessionId,
        courier: &UserId,
        joined_after: u64,
    ) -> Option<crate::hub::registry::Frame> {
        let splices = match self.store().splices_of(session_id).await {
            Ok(splices) => splices,
            Err(error) => {
                tracing::warn!(session = %session_id, %error, "context card not read again");
                return None;
            }
        };
        let joined = splices
            .iter()
            .find(|s| s.state == SpliceState::Joined && s.courier.as_ref() == Some(courier))?;
        match self.context_card(session_id, joined, joined_after).await {
            Ok(card) => Some(frames::encode(&card)),
            Err(error) => {
                tracing::warn!(session = %session_id, %error, "context card not built again");
                None
            }
        }
    }
}
