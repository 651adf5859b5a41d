//! Courier desks: couriers' presence, the queue of buyers waiting for one, and the timers
//! around them (queue timeout, a disconnected courier's grace to come back).
//!
//! Each splice changes only inside its session's actor; this module decides when to ask which
//! actor. The queue is drained longest-waiting first, one offer at a time, so the first courier
//! to free up takes the buyer who waited longest.

use std::sync::Arc;

use chrono::TimeDelta;
use tokio::sync::oneshot;

use crate::domain::order::Carrier;
use crate::domain::splice::Evaluation;
use crate::hub::registry::{ConnectionHandle, Outbound};
use crate::hub::running;
use crate::hub::session::Command;
use crate::hub::{Hub, HubError, Identity, Reply, frames};
use crate::protocol::client::PresenceStatus;
use crate::protocol::ids::{InviteId, RequestId, SessionId, UserId};
use crate::protocol::server::ServerMessage;
use crate::protocol::{ErrorCode, Role};
use crate::store::ShopRating;

impl Hub {
    pub(super) async fn courier_presence(
        &self,
        identity: &Identity,
        status: PresenceStatus,
    ) -> Result<Reply, HubError> {
        let Some(carrier) = identity.carrier else {
            return Err(HubError::peer(
                ErrorCode::Forbidden,
                "no carrier in the token",
            ));
        };
        if !matches!(
            status,
            PresenceStatus::Available | PresenceStatus::Busy | PresenceStatus::Offline
        ) {
            return Err(HubError::peer(
                ErrorCode::InvalidMessage,
                "couriers are available, busy or offline",
            ));
        }
        let store = self.store();
        store
            .set_courier_presence(carrier, &identity.user, status)
            .await?;
        self.remember_presence(&identity.user, status);
        if status == PresenceStatus::Available {
            store
                .courier_freed(carrier, &identity.user, self.now())
                .await?;
            self.drain_courier_queue(carrier);
        }
        Ok(Reply::None)
    }

    /// Offers free couriers to queued buyers of `carrier`, longest waiting first, until the
    /// queue is empty or no courier is free. Runs in the background, one drain at a time.
    pub(crate) fn drain_courier_queue(&self, carrier: Carrier) {
        let hub = self.clone();
        self.inner.tasks.spawn(async move {
            let _one_at_a_time = hub.inner.draining.lock().await;
            if let Err(error) = hub.drain(carrier).await {
                tracing::warn!(%carrier, %error, "courier queue not drained");
            }
        });
    }

    async fn drain(&self, carrier: Carrier) -> Result<(), HubError> {
        for invite_id in self.store().courier_queue(carrier).await? {
            let Some(splice) = self.store().splice(invite_id).await? else {
                self.store()
                    .dequeue_courier_request(carrier, invite_id)
                    .await?;
                continue;
            };
            let (done, answer) = oneshot::channel();
            let command = Command::OfferCourier { invite_id, done };
            running::dispatch(self, splice.session_id, command).await?;
            if !answer.await.unwrap_or(false) {
                return Ok(());
            }
        }
        Ok(())
    }

    /// After `timeout`, a buyer still queued is told no courier is available.
    pub(crate) fn schedule_queue_timeout(
        &self,
        session_id: SessionId,
        invite_id: InviteId,
        timeout: TimeDelta,
    ) {
        let hub = self.clone();
        let wait = timeout.to_std().unwrap_or_default();
        let shutdown = self.inner.shutdown.clone();
        self.inner.tasks.spawn(async move {
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(wait) => {
                    let command = Command::QueueTimeout { invite_id };
                    if let Err(error) = running::dispatch(&hub, session_id, command).await {
                        tracing::warn!(%invite_id, %error, "queue timeout lost");
                    }
                }
            }
        });
    }

    /// A courier with no connection left on any node (the store took it off the desk): each of
    /// its sessions gives it `courier_return_timeout` to come back before the buyer is offered
    /// another courier.
    pub(super) async fn courier_gone(&self, user: &UserId) {
        let store = self.store();
        let sessions = match store.sessions_of(user).await {
            Ok(sessions) => sessions,
            Err(error) => {
                tracing::warn!(%user, %error, "courier sessions not read");
                return;
            }
        };
        let grace = self.inner.settings.splice.courier_return_timeout;
        for session_id in sessions {
            self.schedule_courier_lost(session_id, user.clone(), grace);
        }
    }

    fn schedule_courier_lost(&self, session_id: SessionId, courier: UserId, grace: TimeDelta) {
        let hub = self.clone();
        let wait = grace.to_std().unwrap_or_default();
        let shutdown = self.inner.shutdown.clone();
        self.inner.tasks.spawn(async move {
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(wait) => {
                    if hub.is_connected_anywhere(&courier).await {
                        return;
                    }
                    let command = Command::CourierLost { courier };
                    if let Err(error) = running::dispatch(&hub, session_id, command).await {
                        tracing::warn!(%session_id, %error, "courier loss not handled");
                    }
                }
            }
        });
    }

    /// Routes a buyer's answer or evaluation to the session the invite belongs to. Anyone who
    /// is not a member of that session is told there is no such invite.
    async fn invite_session(
        &self,
        identity: &Identity,
        invite_id: InviteId,
    ) -> Result<SessionId, HubError> {
        let not_found = || HubError::peer(ErrorCode::InviteNotFound, "no such invite");
        let splice = self
            .store()
            .splice(invite_id)
            .await?
            .ok_or_else(not_found)?;
        let record = self.store().session(splice.session_id).await?;
        let is_member = record.is_some_and(|r| r.member(&identity.user).is_some());
        if !is_member {
            return Err(not_found());
        }
        Ok(splice.session_id)
    }

    pub(super) async fn answer_invite(
        &self,
        connection: &Arc<ConnectionHandle>,
        request_id: Option<RequestId>,
        invite_id: InviteId,
        accept: bool,
    ) -> Result<Reply, HubError> {
        let session_id = self.invite_session(&connection.identity, invite_id).await?;
        let command = Command::AnswerInvite {
            connection: Arc::clone(connection),
            request_id,
            invite_id,
            accept,
        };
        running::dispatch(self, session_id, command).await?;
        Ok(Reply::None)
    }

    pub(super) async fn evaluate(
        &self,
        connection: &Arc<ConnectionHandle>,
        request_id: Option<RequestId>,
        invite_id: InviteId,
        score: u8,
        comment: Option<String>,
    ) -> Result<Reply, HubError> {
        let session_id = self.invite_session(&connection.identity, invite_id).await?;
        let evaluation = Evaluation {
            score,
            comment,
            at: self.now(),
        };
        evaluation
            .validate()
            .map_err(|e| HubError::peer(ErrorCode::InvalidMessage, e.to_string()))?;
        let command = Command::Evaluate {
            connection: Arc::clone(connection),
            request_id,
            invite_id,
            evaluation,
        };
        running::dispatch(self, session_id, command).await?;
        Ok(Reply::None)
    }

    /// The buyer's rating of the shop: once per session, stored apart from logistics ratings.
    pub(super) async fn rate_shop(
        &self,
        connection: &ConnectionHandle,
        request_id: Option<RequestId>,
        session_id: SessionId,
        score: u8,
        comment: Option<String>,
    ) -> Result<Reply, HubError> {
        let identity = &connection.identity;
        let record = self.store().session(session_id).await?;
        let record = record.filter(|r| r.buyer == identity.user && identity.role == Role::Buyer);
        let record = record.ok_or(HubError::NotMember)?;
        let check = Evaluation {
            score,
            comment: comment.clone(),
            at: self.now(),
        };
        check
            .validate()
            .map_err(|e| HubError::peer(ErrorCode::InvalidMessage, e.to_string()))?;
        let rating = ShopRating {
            session_id,
            shop: record.shop,
            buyer: identity.user.clone(),
            score,
            comment,
            at: self.now(),
        };
        if !self.store().add_shop_rating(&rating).await? {
            return Err(HubError::peer(
                ErrorCode::AlreadyAnswered,
                "this session's shop rating is already given",
            ));
        }
        let reply = ServerMessage::ShopRated {
            request_id,
            session_id,
        };
        connection.push(Outbound::Frame(frames::encode(&reply)));
        Ok(Reply::None)
    }
}
