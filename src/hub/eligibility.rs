//! Taking the eligibility decision on a buyer's text in a two-party session.
//!
//! The rules are `domain::eligibility`; this module gathers their inputs (the classified or
//! chosen intent, the session's order mentions, the chosen order's facts, the shop's settings)
//! and decides; `hub::send` stores the decision with the message (for the admin API) and hands
//! an eligible one on to the invite.

use chrono::{DateTime, Utc};

use crate::domain::eligibility::{Decision, EligibilityInput, chosen_order, decide};
use crate::domain::intent::Intent;
use crate::hub::HubError;
use crate::hub::session::SessionActor;

impl SessionActor {
    /// The decision on a buyer's text sent at `now`, to be stored with the message. Its facts
    /// from outside the session (the chosen order, the shop's settings) are one store read, made
    /// only when an order is chosen.
    pub(super) async fn take_decision(
        &self,
        text: &str,
        explicit: Option<Intent>,
        now: DateTime<Utc>,
    ) -> Result<Decision, HubError> {
        let rules = &self.hub.inner.settings.eligibility;
        let intent = explicit.or_else(|| self.hub.inner.classifier.classify(text).intent);
        let mentions = &self.record.mentions;
        let chosen = chosen_order(mentions, rules.order_card_window, now);
        let chosen = chosen.map(|mention| &mention.order_id);
        // With no order chosen, every check on the order or the shop's settings fails on "no
        // explicit order" and `decide` reads neither: most buyer texts need no store read.
        let (order, shop) = match chosen {
            Some(order) => {
                let store = self.hub.store();
                store
                    .eligibility_facts(Some(order), &self.record.shop)
                    .await?
            }
            None => (None, None),
        };
        let shop = shop.unwrap_or_default();
        let input = EligibilityInput {
            shop_id: &self.record.shop,
            mentions,
            order: order.as_ref(),
            shop: &shop,
            intent,
        };
        Ok(decide(&input, rules, now))
    }
}
