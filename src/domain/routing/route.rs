//! [`route`]: runs the five steps in order and stops at the first that decides.
//!
//! Each step is a function from the [`Request`] to a `Verdict`; this file only sequences them and
//! records the trace. The steps themselves live in `steps`, `recent_contact` and `groups`.

use chrono::{DateTime, Utc};

use super::agents::AgentState;
use super::buyer::BuyerContext;
use super::config::{PickRules, RoutingConfig};
use super::decision::{RoutingDecision, StepName, StepTrace, Verdict};
use super::{groups, recent_contact, steps};

/// Everything a step may look at.
pub(super) struct Request<'a> {
    pub buyer: &'a BuyerContext,
    pub agents: &'a [AgentState],
    pub config: &'a RoutingConfig,
    pub now: DateTime<Utc>,
    pub pick: u64,
}

impl Request<'_> {
    pub fn rules(&self) -> PickRules {
        self.config.pick_rules()
    }

    /// Agents online and not suspended, in the order given.
    pub fn available(&self) -> Vec<&AgentState> {
        self.agents
            .iter()
            .filter(|agent| agent.is_available())
            .collect()
    }
}

fn run_step(step: StepName, request: &Request) -> Verdict {
    match step {
        StepName::Offline => steps::offline(request),
        StepName::RecentContact => recent_contact::recent_contact(request),
        StepName::Exclusive => steps::exclusive(request),
        StepName::RobotFirst => steps::robot_first(request),
        StepName::Groups => groups::groups(request),
    }
}

/// Decides who receives `buyer` among the shop's `agents`. `pick` is a uniformly random number the
/// caller draws; the same inputs always give the same decision.
///
/// Step 1 lets the others run only when some agent is online and not suspended, and step 5 then
/// always finds one, so some step always decides. The offline rule stands in should none decide,
/// so the function is total without a panic path.
pub fn route(
    buyer: &BuyerContext,
    agents: &[AgentState],
    config: &RoutingConfig,
    now: DateTime<Utc>,
    pick: u64,
) -> RoutingDecision {
    let request = Request {
        buyer,
        agents,
        config,
        now,
        pick,
    };
    let mut target = None;
    let mut trace = Vec::with_capacity(StepName::ALL.len());
    for step in StepName::ALL {
        if target.is_some() {
            trace.push(StepTrace {
                step,
                decided: false,
                reason: "not reached".to_string(),
            });
            continue;
        }
        let verdict = run_step(step, &request);
        trace.push(StepTrace {
            step,
            decided: verdict.target.is_some(),
            reason: verdict.reason,
        });
        target = verdict.target;
    }
    let target = target.unwrap_or_else(|| steps::offline_target(config).0);
    RoutingDecision {
        target,
        steps: trace,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::routing::config::{GroupConfig, OfflineRule};
    use crate::domain::routing::decision::RouteTarget;
    use crate::domain::routing::fixtures::*;

    /// The "everything is on" shop: each step would decide if the earlier ones did not.
    fn full_config() -> RoutingConfig {
        RoutingConfig {
            offline_rule: OfflineRule::Proxy {
                agent: user("proxy"),
            },
            allow_exclusive: true,
            robot_first: true,
            groups: vec![GroupConfig {
                robot_on: true,
                ..group("g1")
            }],
            ..RoutingConfig::default()
        }
    }

    fn full_buyer() -> BuyerContext {
        BuyerContext {
            recent_contact: contacted("recent", ago(1, 0)),
            exclusive_agent: Some(user("exclusive")),
            ..buyer()
        }
    }

    #[test]
    fn first_deciding_step_wins() {
        let everyone = |recent, exclusive| {
            vec![
                agent("recent", recent, 1, &[]),
                agent("exclusive", exclusive, 1, &[]),
                agent("other", Online, 1, &["g1"]),
            ]
        };
        let no_robot_first = RoutingConfig {
            robot_first: false,
            ..full_config()
        };
        let nobody = vec![agent("recent", Suspended, 1, &[])];
        let agent_target = |id: &str| RouteTarget::Agent { agent: user(id) };
        let shop_robot = RouteTarget::Robot { group: None };
        let group_robot = RouteTarget::Robot {
            group: Some(group_id("g1")),
        };
        let old_contact = BuyerContext {
            recent_contact: contacted("recent", ago(73, 0)),
            ..full_buyer()
        };
        #[rustfmt::skip]
        let cases = [
            ("offline", full_buyer(), nobody, full_config(), StepName::Offline, RouteTarget::Proxy { agent: user("proxy") }),
            ("recent contact", full_buyer(), everyone(Online, Online), full_config(), StepName::RecentContact, agent_target("recent")),
            ("exclusive", old_contact.clone(), everyone(Online, Online), full_config(), StepName::Exclusive, agent_target("exclusive")),
            ("shop robot", old_contact.clone(), everyone(Online, Offline), full_config(), StepName::RobotFirst, shop_robot),
            ("group robot", old_contact, everyone(Online, Offline), no_robot_first, StepName::Groups, group_robot),
        ];
        for (name, buyer, agents, config, step, target) in cases {
            let decision = route(&buyer, &agents, &config, now(), 0);
            assert_eq!(decision.target, target, "{name}: {:?}", decision.steps);
            assert_eq!(decision.decided_by(), Some(step), "{name}");
        }
    }

    #[test]
    fn trace_lists_all_steps_in_order() {
        let agents = [agent("recent", Online, 1, &[])];
        let decision = route(&full_buyer(), &agents, &full_config(), now(), 0);
        let steps: Vec<(StepName, bool, &str)> = decision
            .steps
            .iter()
            .map(|trace| (trace.step, trace.decided, trace.reason.as_str()))
            .collect();
        let expected = [
            (
                StepName::Offline,
                false,
                "1 agent(s) online and not suspended",
            ),
            (
                StepName::RecentContact,
                true,
                "recent contact recent contacted 1h00m ago and online",
            ),
            (StepName::Exclusive, false, "not reached"),
            (StepName::RobotFirst, false, "not reached"),
            (StepName::Groups, false, "not reached"),
        ];
        assert_eq!(steps, expected);
    }

    #[test]
    fn same_inputs_same_decision() {
        let agents: Vec<AgentState> = (1..=5)
            .map(|level| agent(&format!("a{level}"), Online, level, &[]))
            .collect();
        let first = route(&buyer(), &agents, &RoutingConfig::default(), now(), 12345);
        let again = route(&buyer(), &agents, &RoutingConfig::default(), now(), 12345);
        assert_eq!(first, again);
    }

    /// splitmix64 (Steele, Lea, Flood 2014): a tiny PRNG good enough to stand for the caller's draw.
    fn splitmix64(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    const ROUTINGS: u32 = 100_000;
    const SEED: u64 = 0x5EED_0006;
    /// Allowed gap between an agent's share and its expected share: 2 percentage points. A share
    /// near 1/3 over 100,000 draws has a standard deviation of 0.15 points, so the gap is over 13
    /// standard deviations: no flakiness, yet any real bias in the pick shows.
    const TOLERANCE: f64 = 0.02;

    /// Each agent's share of `ROUTINGS` buyers, through `route` with splitmix64 picks.
    fn shares(agents: &[AgentState]) -> Vec<f64> {
        let config = RoutingConfig::default();
        let mut counts = vec![0_u32; agents.len()];
        let mut state = SEED;
        for _ in 0..ROUTINGS {
            let decision = route(&buyer(), agents, &config, now(), splitmix64(&mut state));
            let RouteTarget::Agent { agent } = decision.target else {
                panic!("not routed to an agent: {decision:?}");
            };
            let index = agents.iter().position(|state| state.agent == agent);
            counts[index.expect("a known agent")] += 1;
        }
        counts
            .iter()
            .map(|count| f64::from(*count) / f64::from(ROUTINGS))
            .collect()
    }

    #[test]
    fn agents_take_buyers_in_proportion_to_level() {
        let by_level = [1.0, 2.0, 3.0, 4.0, 5.0].map(|level| level / 15.0);
        // Busy a3 weighs 3 / busy_weight_divisor (2) = 1.5.
        let busy_a3 = [1.0, 2.0, 1.5, 4.0, 5.0].map(|weight| weight / 13.5);
        let cases = [
            ("nobody busy", 0, by_level),
            ("a3 waits on 4 replies: not busy", 4, by_level),
            ("a3 waits on 5 replies: busy", 5, busy_a3),
        ];
        for (name, a3_waiting, expected) in cases {
            let mut agents: Vec<AgentState> = (1..=5)
                .map(|level| agent(&format!("a{level}"), Online, level, &[]))
                .collect();
            agents[2].waiting = a3_waiting;
            let shares = shares(&agents);
            for (index, (share, expected)) in shares.iter().zip(expected).enumerate() {
                let gap = (share - expected).abs();
                assert!(
                    gap <= TOLERANCE,
                    "{name}: a{} share {share:.4}, expected {expected:.4}",
                    index + 1
                );
            }
            if a3_waiting > 4 {
                assert!(
                    shares[2] < by_level[2] - TOLERANCE,
                    "{name}: busy a3 took {:.4}",
                    shares[2]
                );
            }
        }
    }
}
