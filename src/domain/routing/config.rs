//! A shop's routing configuration as the admin API sends it: offline rule, exclusive agents,
//! robot, groups and their bindings, agent levels, and the weighting knobs.
//!
//! Every struct rejects unknown fields and fills missing ones from [`RoutingConfig::default`], so
//! `{}` is a valid configuration: a shop with no groups whose messages wait in the message pool
//! while nobody is online. Consistency checks that serde cannot express live in `validate`.

use chrono::TimeDelta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::buyer::BuyerOrderState;
use super::names::{GroupId, Tag};
use crate::protocol::ids::UserId;

/// Who gets a buyer when none of the shop's agents is online and not suspended.
///
/// The unit-like rules are written as empty struct variants on purpose: serde lets unknown fields
/// slip through unit variants of an internally tagged enum, but not through struct variants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OfflineRule {
    /// The shop's main account (`RoutingConfig::main_account`) takes the buyer.
    MainAccount {},
    /// A proxy account, usually an outsourced service team, takes the buyer.
    Proxy { agent: UserId },
    /// Messages wait in the pool and are handed out when an agent comes online.
    MessagePool {},
}

/// How a group picks one of its available agents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupMode {
    /// Weighted random by level; busy agents weigh less.
    #[default]
    EfficiencyFirst,
    /// Highest conversion rate among the agents who are not busy (among all when every one is);
    /// agents tied on the rate share buyers by level, as in efficiency first.
    ConversionFirst,
}

/// One group of agents and the buyers it is bound to. An empty binding list means the group is
/// bound to no value of that dimension: whenever that dimension's rule keeps some other group,
/// this one is dropped (see `groups`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    pub id: GroupId,
    /// A group with its robot on hands every buyer it wins to the robot.
    #[serde(default)]
    pub robot_on: bool,
    #[serde(default)]
    pub mode: GroupMode,
    #[serde(default)]
    pub crowds: Vec<Tag>,
    #[serde(default)]
    pub items: Vec<Tag>,
    #[serde(default)]
    pub intents: Vec<Tag>,
    #[serde(default)]
    pub order_states: Vec<BuyerOrderState>,
}

/// What the shop set for one agent: a level from 1 to 5 (higher takes more buyers) and groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentProfile {
    pub agent: UserId,
    #[schemars(range(min = 1, max = 5))]
    pub level: u8,
    #[serde(default)]
    pub groups: Vec<GroupId>,
}

/// A shop's routing configuration. Order matters in `groups`: when several groups match a buyer
/// equally, the first one listed that can serve wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingConfig {
    /// Required when `offline_rule` is `main_account`.
    pub main_account: Option<UserId>,
    pub offline_rule: OfflineRule,
    /// Whether a buyer goes straight to their exclusive agent when that agent is available.
    pub allow_exclusive: bool,
    /// Whether the shop's robot receives every buyer that no earlier step placed.
    pub robot_first: bool,
    pub groups: Vec<GroupConfig>,
    pub agents: Vec<AgentProfile>,
    /// An agent waiting to reply to more than this many buyers counts as busy.
    pub busy_threshold: u32,
    /// A busy agent's weight is divided by this (at least 1; 1 turns the penalty off).
    #[schemars(range(min = 1))]
    pub busy_weight_divisor: u32,
    /// How long after completion an order still counts as `completed_in_window`.
    pub after_sale_window_hours: u32,
    /// What the shop's robot answers, and the words that hand the buyer to a person.
    pub robot: super::robot::RobotConfig,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            main_account: None,
            offline_rule: OfflineRule::MessagePool {},
            allow_exclusive: false,
            robot_first: false,
            groups: Vec::new(),
            agents: Vec::new(),
            busy_threshold: 4,
            busy_weight_divisor: 2,
            after_sale_window_hours: 72,
            robot: super::robot::RobotConfig::default(),
        }
    }
}

/// The knobs of the weighted pick, split out so a transfer can pick without a whole config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PickRules {
    pub busy_threshold: u32,
    pub busy_weight_divisor: u32,
}

impl RoutingConfig {
    pub fn pick_rules(&self) -> PickRules {
        PickRules {
            busy_threshold: self.busy_threshold,
            busy_weight_divisor: self.busy_weight_divisor,
        }
    }

    /// The after-sale window as a duration, for `order_state`.
    pub fn after_sale_window(&self) -> TimeDelta {
        TimeDelta::hours(i64::from(self.after_sale_window_hours))
    }

    /// The shop's profile for `agent`, if it set one.
    pub fn profile(&self, agent: &UserId) -> Option<&AgentProfile> {
        self.agents.iter().find(|profile| &profile.agent == agent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_json_is_the_default_config() {
        let config: RoutingConfig = serde_json::from_str("{}").expect("empty config");
        assert_eq!(config, RoutingConfig::default());
    }

    #[test]
    fn full_example_parses() {
        let config: RoutingConfig = serde_json::from_value(serde_json::json!({
            "main_account": "shop-main",
            "offline_rule": {"kind": "proxy", "agent": "outsourced-1"},
            "allow_exclusive": true,
            "robot_first": false,
            "groups": [
                {"id": "unpaid-a", "items": ["a"], "order_states": ["ordered_not_paid"]},
                {"id": "item-a", "items": ["a"], "mode": "conversion_first"},
                {"id": "night", "robot_on": true, "crowds": ["vip"], "intents": ["refund"]}
            ],
            "agents": [{"agent": "a1", "level": 5, "groups": ["unpaid-a", "item-a"]}],
            "busy_threshold": 4,
            "busy_weight_divisor": 2,
            "after_sale_window_hours": 72
        }))
        .expect("full config");
        assert_eq!(config.groups[1].mode, GroupMode::ConversionFirst);
        assert_eq!(config.after_sale_window(), TimeDelta::hours(72));
    }

    #[test]
    fn schema_rejects_unknown_fields() {
        let schema = serde_json::to_value(schemars::schema_for!(RoutingConfig)).expect("schema");
        assert_eq!(schema["additionalProperties"], serde_json::json!(false));
        assert!(schema["properties"]["busy_weight_divisor"].is_object());
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let cases = [
            r#"{"robot": true}"#,
            r#"{"offline_rule": {"kind": "message_pool", "agent": "a1"}}"#,
            r#"{"offline_rule": {"kind": "main_account", "x": 1}}"#,
            r#"{"offline_rule": {"kind": "proxy", "agent": "a1", "x": 1}}"#,
            r#"{"groups": [{"id": "g", "item": ["a"]}]}"#,
            r#"{"agents": [{"agent": "a1", "level": 1, "group": []}]}"#,
        ];
        for json in cases {
            assert!(
                serde_json::from_str::<RoutingConfig>(json).is_err(),
                "{json}"
            );
        }
    }
}
