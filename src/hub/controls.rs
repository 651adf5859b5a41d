//! Applying the shop-side controls to a session's messages.
//!
//! The rules are `domain::controls`; this module feeds them the session's state, refuses what
//! they refuse, and writes the state back. Which controls apply is decided in one place,
//! `domain::controls::exemptions`, from whether a courier is a member right now.

use crate::domain::controls::marketing::marketing_day;
use crate::domain::controls::recent::should_record;
use crate::domain::controls::{Exemptions, Party, Refusal, exemptions};
use crate::hub::HubError;
use crate::hub::registry::Outbound;
use crate::hub::session::SessionActor;
use crate::protocol::ids::UserId;
use crate::protocol::server::{Body, SenderRole, ServerMessage};
use crate::protocol::{ErrorCode, Member};
use crate::store::StoredMessage;

/// What the checks found about a message before it is stored.
#[derive(Debug, Clone, Copy, Default)]
pub struct Checked {
    /// A shop-side message recognised or marked as marketing.
    pub is_marketing: bool,
}

fn refused(refusal: Refusal) -> HubError {
    let code = match refusal {
        Refusal::ConsecutiveLimit { .. } => ErrorCode::ConsecutiveLimit,
        Refusal::MarketingLimited { .. } => ErrorCode::MarketingLimited,
    };
    HubError::peer(code, refusal.message())
}

impl SessionActor {
    /// The exemptions in force now: the one policy, from courier membership.
    pub(super) fn exemptions(&self) -> Exemptions {
        exemptions(self.record.has_role(SenderRole::Courier))
    }

    /// Refuses a shop-side message the controls do not allow. Buyers and couriers are never
    /// refused here.
    pub(super) async fn check_controls(
        &self,
        sender: &Member,
        body: &Body,
        marked: bool,
    ) -> Result<Checked, HubError> {
        if sender.role != SenderRole::Agent {
            return Ok(Checked::default());
        }
        let exempt = self.exemptions();
        let rules = &self.hub.inner.settings.controls;
        let consecutive = &self.controls.consecutive;
        consecutive
            .check_shop_message(rules.consecutive_limit, &exempt)
            .map_err(refused)?;
        let text = match body {
            Body::Text { text } => text.as_str(),
            _ => "",
        };
        let is_marketing = rules.marketing.is_marketing(text, marked);
        if is_marketing {
            let tally = self
                .hub
                .store()
                .marketing_tally(&self.record.shop, &self.record.buyer);
            let day = marketing_day(self.hub.now(), rules.marketing.time_zone);
            let sent = tally.await?.sent_on(day);
            crate::domain::controls::marketing::check_marketing(sent, &rules.marketing, &exempt)
                .map_err(refused)?;
        }
        Ok(Checked { is_marketing })
    }

    /// Updates the controls' state for a message that was stored.
    pub(super) async fn after_stored_controls(
        &mut self,
        stored: &StoredMessage,
        checked: Checked,
    ) -> Result<(), HubError> {
        let exempt = self.exemptions();
        let now = stored.sent_at;
        match stored.sender.role {
            SenderRole::Buyer => self.on_buyer_message(now, &exempt).await?,
            SenderRole::Agent => {
                self.on_shop_message(&stored.sender.user, now, &exempt, checked)
                    .await?;
            }
            SenderRole::Courier | SenderRole::Platform | SenderRole::Robot => return Ok(()),
        }
        let session = self.record.id;
        self.hub
            .store()
            .put_controls(session, &self.controls)
            .await?;
        Ok(())
    }

    async fn on_buyer_message(
        &mut self,
        now: chrono::DateTime<chrono::Utc>,
        exempt: &Exemptions,
    ) -> Result<(), HubError> {
        self.controls.consecutive.on_buyer_message();
        self.controls.ledger.on_buyer_message(now, exempt);
        if exempt.skip_waiting_count {
            return Ok(());
        }
        let agent = self
            .record
            .members
            .iter()
            .find(|m| m.role == SenderRole::Agent);
        if let Some(agent) = agent.map(|m| m.user.clone()) {
            let changed = self
                .hub
                .store()
                .set_waiting(self.record.id, Some(&agent))
                .await?;
            self.hub.push_waiting_counts(&changed).await;
        }
        Ok(())
    }

    async fn on_shop_message(
        &mut self,
        agent: &UserId,
        now: chrono::DateTime<chrono::Utc>,
        exempt: &Exemptions,
        checked: Checked,
    ) -> Result<(), HubError> {
        let store = self.hub.store().clone();
        let rules = &self.hub.inner.settings.controls;
        self.controls.consecutive.on_shop_message(exempt);
        let window = rules.response_window;
        let settled = self.controls.ledger.on_shop_reply(agent, now, window);
        store.add_responses(&settled).await?;
        if checked.is_marketing {
            let (shop, buyer) = (&self.record.shop, &self.record.buyer);
            let mut tally = store.marketing_tally(shop, buyer).await?;
            tally.record(marketing_day(now, rules.marketing.time_zone), exempt);
            store.put_marketing_tally(shop, buyer, &tally).await?;
        }
        if should_record(Party::ShopAgent, exempt) {
            store
                .record_contact(&self.record.shop, &self.record.buyer, agent, now)
                .await?;
        }
        let changed = store.set_waiting(self.record.id, None).await?;
        self.hub.push_waiting_counts(&changed).await;
        Ok(())
    }

    /// A member joined or left: the ledger notes courier membership; a courier joining starts
    /// a logistics session record.
    pub(super) async fn after_membership_change(&mut self) -> Result<(), HubError> {
        let exempt = self.exemptions();
        let now = self.hub.now();
        if let Some(record) = self.controls.ledger.on_membership(now, &exempt) {
            self.hub.store().add_logistics_session(&record).await?;
        }
        self.hub
            .store()
            .put_controls(self.record.id, &self.controls)
            .await?;
        Ok(())
    }
}

impl crate::hub::Hub {
    /// Tells each agent whose count changed how many buyers now wait for its reply.
    pub(crate) async fn push_waiting_counts(&self, agents: &[UserId]) {
        for agent in agents {
            let count = match self.store().waiting_count(agent).await {
                Ok(count) => count,
                Err(error) => {
                    tracing::warn!(%agent, %error, "waiting count not read");
                    continue;
                }
            };
            let frame = super::frames::encode(&ServerMessage::Waiting {
                buyers_waiting: count,
            });
            self.tell(agent, &Outbound::Frame(frame));
        }
    }
}
