//! Applying the shop-side controls to a session's messages.
//!
//! The rules are `domain::controls`; this module feeds them the session's state, refuses what
//! they refuse, and works out a message's effects on that state (on copies; `hub::send` commits
//! them with the message). Which controls apply is decided in one place,
//! `domain::controls::exemptions`, from whether a courier is a member right now.

use crate::domain::controls::marketing::{MarketingTally, marketing_day};
use crate::domain::controls::recent::should_record;
use crate::domain::controls::{Exemptions, Party, Refusal, exemptions};
use crate::hub::HubError;
use crate::hub::registry::Outbound;
use crate::hub::session::SessionActor;
use crate::protocol::ids::UserId;
use crate::protocol::server::{Body, SenderRole};
use crate::protocol::{ErrorCode, Member};
use crate::store::{Effects, WaitingChange};

/// What the checks found about a message before it is stored.
#[derive(Debug, Clone, Copy, Default)]
pub struct Checked {
    /// For a shop-side message recognised or marked as marketing: the tally it was checked
    /// against.
    pub marketing: Option<MarketingTally>,
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
        if !rules.marketing.is_marketing(text, marked) {
            return Ok(Checked::default());
        }
        let tally = self
            .hub
            .store()
            .marketing_tally(&self.record.shop, &self.record.buyer)
            .await?;
        let day = marketing_day(self.hub.now(), rules.marketing.time_zone);
        let sent = tally.sent_on(day);
        crate::domain::controls::marketing::check_marketing(sent, &rules.marketing, &exempt)
            .map_err(refused)?;
        Ok(Checked {
            marketing: Some(tally),
        })
    }

    /// The controls' effects of a message from `sender` at `now`, computed on copies: the
    /// session's new controls, whom the buyer waits on, the buyer messages a shop reply settles,
    /// the recent contact and the marketing tally. Couriers, the platform and the robot change
    /// none of them.
    pub(super) fn plan_controls(
        &self,
        sender: &Member,
        now: chrono::DateTime<chrono::Utc>,
        checked: Checked,
    ) -> Effects {
        let exempt = self.exemptions();
        let rules = &self.hub.inner.settings.controls;
        let mut effects = Effects::default();
        let mut controls = self.controls.clone();
        match sender.role {
            SenderRole::Buyer => {
                controls.consecutive.on_buyer_message();
                controls.ledger.on_buyer_message(now, &exempt);
                let agent = self
                    .record
                    .members
                    .iter()
                    .find(|m| m.role == SenderRole::Agent);
                if let Some(agent) = agent.filter(|_| !exempt.skip_waiting_count) {
                    effects.waiting = WaitingChange::On(agent.user.clone());
                }
            }
            SenderRole::Agent => {
                controls.consecutive.on_shop_message(&exempt);
                let window = rules.response_window;
                effects.responses = controls.ledger.on_shop_reply(&sender.user, now, window);
                if let Some(mut tally) = checked.marketing {
                    tally.record(marketing_day(now, rules.marketing.time_zone), &exempt);
                    effects.marketing = Some(tally);
                }
                if should_record(Party::ShopAgent, &exempt) {
                    effects.contact = Some((sender.user.clone(), now));
                }
                effects.waiting = WaitingChange::Nobody;
            }
            SenderRole::Courier | SenderRole::Platform | SenderRole::Robot => return effects,
        }
        effects.controls = Some(controls);
        effects
    }

    /// A member joined or left: the ledger notes courier membership; a courier joining starts
    /// a logistics session record.
    pub(super) async fn after_membership_change(&mut self) -> Result<(), HubError> {
        let exempt = self.exemptions();
        let now = self.hub.now();
        if let Some(record) = self.controls.ledger.on_membership(now, &exempt) {
            self.hub.store().add_logistics_session(&record).await?;
        }
        let store = self.hub.store();
        let written = store.put_controls(self.record.id, &self.controls).await?;
        self.adopt_version(written);
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
            let frame = super::frames::waiting(count);
            self.tell(agent, &Outbound::Frame(frame));
        }
    }
}
