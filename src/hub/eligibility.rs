//! Taking the eligibility decision on a buyer's text in a two-party session.
//!
//! The rules are `domain::eligibility`; this module gathers their inputs (the classified or
//! chosen intent, the session's order mentions, the chosen order's facts, the shop's settings),
//! stores the decision for the admin API, and hands an eligible one on to the invite.

use chrono::{DateTime, Utc};

use crate::domain::eligibility::{Decision, EligibilityInput, chosen_order, decide};
use crate::domain::intent::Intent;
use crate::hub::HubError;
use crate::hub::session::SessionActor;

impl SessionActor {
    pub(super) async fn on_buyer_text(
        &mut self,
        text: &str,
        explicit: Option<Intent>,
        now: DateTime<Utc>,
    ) -> Result<(), HubError> {
        let decision = self.take_decision(text, explicit, now).await?;
        if decision.eligible {
            self.on_eligible(&decision, now).await?;
        }
        Ok(())
    }

    async fn take_decision(
        &self,
        text: &str,
        explicit: Option<Intent>,
        now: DateTime<Utc>,
    ) -> Result<Decision, HubError> {
        let store = self.hub.store();
        let rules = &self.hub.inner.settings.eligibility;
        let intent = explicit.or_else(|| self.hub.inner.classifier.classify(text).intent);
        let mentions = &self.record.mentions;
        let order = match chosen_order(mentions, rules.order_card_window, now) {
            Some(mention) => store.order(&mention.order_id).await?,
            None => None,
        };
        let shop = store
            .shop_logistics(&self.record.shop)
            .await?
            .unwrap_or_default();
        let input = EligibilityInput {
            shop_id: &self.record.shop,
            mentions,
            order: order.as_ref(),
            shop: &shop,
            intent,
        };
        let decision = decide(&input, rules, now);
        store.put_decision(self.record.id, &decision).await?;
        Ok(decision)
    }
}
