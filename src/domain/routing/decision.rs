//! What `route` returns: the target the hub hands the buyer to, and a trace of all five steps
//! with a human reason each, for the admin endpoint that explains a routing.

use std::fmt;

use chrono::TimeDelta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::names::GroupId;
use crate::protocol::ids::UserId;

/// Who receives the buyer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RouteTarget {
    Agent {
        agent: UserId,
    },
    /// The shop's robot; `group` names the group whose robot it is, `None` for the shop's
    /// robot-first setting.
    Robot {
        group: Option<GroupId>,
    },
    /// Offline rule: the shop's main account.
    MainAccount {
        agent: UserId,
    },
    /// Offline rule: a proxy account.
    Proxy {
        agent: UserId,
    },
    /// Offline rule: the message waits in the pool for the next agent to come online.
    MessagePool,
}

/// The five steps, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepName {
    Offline,
    RecentContact,
    Exclusive,
    RobotFirst,
    Groups,
}

impl StepName {
    pub const ALL: [StepName; 5] = [
        StepName::Offline,
        StepName::RecentContact,
        StepName::Exclusive,
        StepName::RobotFirst,
        StepName::Groups,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepName::Offline => "offline",
            StepName::RecentContact => "recent_contact",
            StepName::Exclusive => "exclusive",
            StepName::RobotFirst => "robot_first",
            StepName::Groups => "groups",
        }
    }
}

impl fmt::Display for StepName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step's outcome. Steps after the deciding one appear with `decided: false` and the reason
/// `"not reached"`, so a trace always lists all five steps in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepTrace {
    pub step: StepName,
    pub decided: bool,
    pub reason: String,
}

/// The routing of one buyer: where they go, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingDecision {
    pub target: RouteTarget,
    pub steps: Vec<StepTrace>,
}

impl RoutingDecision {
    /// The step that decided; `None` only if no step did (see `route`).
    pub fn decided_by(&self) -> Option<StepName> {
        self.steps
            .iter()
            .find(|trace| trace.decided)
            .map(|trace| trace.step)
    }
}

/// What one step says: a target when it decides, and why either way.
pub(super) struct Verdict {
    pub target: Option<RouteTarget>,
    pub reason: String,
}

impl Verdict {
    pub fn decided(target: RouteTarget, reason: String) -> Verdict {
        Verdict {
            target: Some(target),
            reason,
        }
    }

    pub fn passed(reason: String) -> Verdict {
        Verdict {
            target: None,
            reason,
        }
    }
}

/// `23h59m`, or `24h00m30s` when seconds matter; negative spans (clock skew) read as `0h00m`.
pub(super) fn format_elapsed(elapsed: TimeDelta) -> String {
    let seconds = elapsed.num_seconds().max(0);
    let (hours, minutes, rest) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    if rest == 0 {
        format!("{hours}h{minutes:02}m")
    } else {
        format!("{hours}h{minutes:02}m{rest:02}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_formatting() {
        let cases = [
            (TimeDelta::zero(), "0h00m"),
            (TimeDelta::minutes(24 * 60 - 1), "23h59m"),
            (TimeDelta::hours(72), "72h00m"),
            (TimeDelta::seconds(24 * 3600 + 30), "24h00m30s"),
            (TimeDelta::minutes(-5), "0h00m"),
        ];
        for (elapsed, expected) in cases {
            assert_eq!(format_elapsed(elapsed), expected);
        }
    }

    #[test]
    fn targets_on_the_wire() {
        let cases = [
            (RouteTarget::MessagePool, r#"{"kind":"message_pool"}"#),
            (
                RouteTarget::Robot { group: None },
                r#"{"kind":"robot","group":null}"#,
            ),
            (
                RouteTarget::Agent {
                    agent: UserId::new("a1").expect("id"),
                },
                r#"{"kind":"agent","agent":"a1"}"#,
            ),
        ];
        for (target, expected) in cases {
            assert_eq!(serde_json::to_string(&target).expect("serialise"), expected);
        }
        for step in StepName::ALL {
            let json = serde_json::to_string(&step).expect("serialise");
            assert_eq!(json, format!("\"{step}\""));
        }
    }
}
