//! A shop's logistics-service settings, as the admin API stores them.
//!
//! Whether the service is on for a shop is decided by `eligibility` from these settings and the
//! rollout percentage; this module only holds the facts and checks them for consistency.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::order::Carrier;
use crate::protocol::ids::UserId;

/// How a shop takes part in the logistics service's gradual rollout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Enrollment {
    /// On when the shop's stable hash falls inside the configured rollout percentage.
    #[default]
    Rollout,
    /// On whatever the rollout says.
    OptedIn,
    /// Off whatever the rollout says.
    OptedOut,
}

/// A carrier the shop works with, and the shop's logistics sub-account through which the shop's
/// side sees that carrier's courier agents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChosenCarrier {
    pub carrier: Carrier,
    pub sub_account: UserId,
}

/// A shop's logistics settings. A shop with no stored settings behaves as `ShopLogistics::default()`:
/// enrolled by rollout, with no carrier chosen (so no invite can go out for it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShopLogistics {
    #[serde(default)]
    pub enrollment: Enrollment,
    #[serde(default)]
    pub carriers: Vec<ChosenCarrier>,
}

impl ShopLogistics {
    /// The chosen-carrier entry for `carrier`, if the shop chose it.
    pub fn chosen(&self, carrier: Carrier) -> Option<&ChosenCarrier> {
        self.carriers
            .iter()
            .find(|chosen| chosen.carrier == carrier)
    }
}
