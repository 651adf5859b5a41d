//! The shop's agents as routing sees them at one instant: presence, level, groups, how many
//! buyers wait on them, and their conversion rate.
//!
//! Presence, `waiting` and `conversion_rate` come from the hub; level and groups come from the
//! shop's `AgentProfile`. [`agent_states`] joins the two. This module does not pick anyone: see
//! `pick`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::config::RoutingConfig;
use super::names::GroupId;
use crate::protocol::ids::UserId;

/// The level of an agent the shop has not profiled: the lowest, so a new account takes the
/// smallest share until the shop sets one.
pub const DEFAULT_LEVEL: u8 = 1;

/// Whether an agent can take a buyer now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    Online,
    /// Online but paused: keeps recent buyers (within 24 hours) and takes no new ones.
    Suspended,
    Offline,
}

impl AgentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Online => "online",
            AgentStatus::Suspended => "suspended",
            AgentStatus::Offline => "offline",
        }
    }
}

/// What the hub knows live about one agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentPresence {
    pub agent: UserId,
    pub status: AgentStatus,
    /// Buyers waiting for this agent's reply.
    pub waiting: u32,
    /// Share of conversations turned into orders, 0.0 to 1.0.
    pub conversion_rate: f32,
}

/// One agent as routing sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentState {
    pub agent: UserId,
    pub status: AgentStatus,
    #[serde(default)]
    pub groups: Vec<GroupId>,
    /// 1 to 5; values outside are clamped into that range when weighing.
    pub level: u8,
    pub waiting: u32,
    /// 0.0 to 1.0; values outside are clamped and NaN counts as 0.0 when comparing.
    pub conversion_rate: f32,
}

impl AgentState {
    /// Online and not suspended: may take a new buyer.
    pub fn is_available(&self) -> bool {
        self.status == AgentStatus::Online
    }

    /// Online, suspended or not.
    pub fn is_online(&self) -> bool {
        matches!(self.status, AgentStatus::Online | AgentStatus::Suspended)
    }

    pub fn is_in(&self, group: &GroupId) -> bool {
        self.groups.contains(group)
    }

    pub fn shares_group_with(&self, other: &AgentState) -> bool {
        self.groups.iter().any(|group| other.is_in(group))
    }
}

/// Joins the hub's live presence with the shop's profiles. An agent without a profile gets
/// [`DEFAULT_LEVEL`] and no groups; a profile without presence is left out (the agent is offline
/// as far as routing cares).
pub fn agent_states(config: &RoutingConfig, presence: &[AgentPresence]) -> Vec<AgentState> {
    presence
        .iter()
        .map(|live| {
            let profile = config.profile(&live.agent);
            AgentState {
                agent: live.agent.clone(),
                status: live.status,
                groups: profile.map(|p| p.groups.clone()).unwrap_or_default(),
                level: profile.map_or(DEFAULT_LEVEL, |p| p.level),
                waiting: live.waiting,
                conversion_rate: live.conversion_rate,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::routing::config::AgentProfile;

    #[test]
    fn presence_joins_profiles() {
        let id = |value: &str| UserId::new(value).expect("id");
        let group = GroupId::new("g1").expect("group");
        let config = RoutingConfig {
            agents: vec![AgentProfile {
                agent: id("a1"),
                level: 4,
                groups: vec![group.clone()],
            }],
            ..RoutingConfig::default()
        };
        let live = |agent: &str| AgentPresence {
            agent: id(agent),
            status: AgentStatus::Suspended,
            waiting: 3,
            conversion_rate: 0.25,
        };
        let states = agent_states(&config, &[live("a1"), live("a2")]);
        let cases: &[(&str, u8, &[GroupId])] = &[
            ("a1", 4, std::slice::from_ref(&group)),
            ("a2", DEFAULT_LEVEL, &[]),
        ];
        for ((agent, level, groups), state) in cases.iter().zip(&states) {
            assert_eq!(state.agent.as_str(), *agent);
            assert_eq!(state.level, *level, "{agent}");
            assert_eq!(state.groups, *groups, "{agent}");
            assert_eq!((state.status, state.waiting), (AgentStatus::Suspended, 3));
        }
    }

    #[test]
    fn availability() {
        let cases = [
            (AgentStatus::Online, true, true),
            (AgentStatus::Suspended, false, true),
            (AgentStatus::Offline, false, false),
        ];
        for (status, is_available, is_online) in cases {
            let state = AgentState {
                agent: UserId::new("a1").expect("id"),
                status,
                groups: Vec::new(),
                level: 1,
                waiting: 0,
                conversion_rate: 0.0,
            };
            assert_eq!(state.is_available(), is_available, "{status:?}");
            assert_eq!(state.is_online(), is_online, "{status:?}");
        }
    }
}
