//! Steps 1, 3 and 4: the offline rule, the exclusive agent and the robot first. Each is a
//! one-question step; the two steps that weigh choices have their own files.

use super::agents::{AgentState, AgentStatus};
use super::config::{OfflineRule, RoutingConfig};
use super::decision::{RouteTarget, Verdict};
use super::route::Request;
use crate::protocol::ids::UserId;

/// Step 1: when no agent is online and not suspended, the shop's offline rule decides.
pub(super) fn offline(request: &Request) -> Verdict {
    let available = request.available().len();
    if available > 0 {
        return Verdict::passed(format!("{available} agent(s) online and not suspended"));
    }
    let (target, rule) = offline_target(request.config);
    let reason = format!("no agent online and not suspended; offline rule: {rule}");
    Verdict::decided(target, reason)
}

/// The offline rule's target and its description. A `main_account` rule with no main account
/// (a config that skipped `validate`) falls back to the message pool rather than failing.
pub(super) fn offline_target(config: &RoutingConfig) -> (RouteTarget, String) {
    match (&config.offline_rule, &config.main_account) {
        (OfflineRule::MainAccount {}, Some(agent)) => (
            RouteTarget::MainAccount {
                agent: agent.clone(),
            },
            format!("main account {agent}"),
        ),
        (OfflineRule::MainAccount {}, None) => (
            RouteTarget::MessagePool,
            "main account, but none is configured, so the message pool".to_string(),
        ),
        (OfflineRule::Proxy { agent }, _) => (
            RouteTarget::Proxy {
                agent: agent.clone(),
            },
            format!("proxy {agent}"),
        ),
        (OfflineRule::MessagePool {}, _) => (RouteTarget::MessagePool, "message pool".to_string()),
    }
}

/// Step 3: the buyer's exclusive agent, when the shop allows it and the agent is available.
pub(super) fn exclusive(request: &Request) -> Verdict {
    let Some(exclusive) = &request.buyer.exclusive_agent else {
        return Verdict::passed("buyer has no exclusive agent".to_string());
    };
    if !request.config.allow_exclusive {
        let reason = format!("exclusive agent {exclusive}, but the shop does not route to them");
        return Verdict::passed(reason);
    }
    let state = find(request.agents, exclusive);
    if state.is_some_and(AgentState::is_available) {
        let target = RouteTarget::Agent {
            agent: exclusive.clone(),
        };
        return Verdict::decided(target, format!("exclusive agent {exclusive} online"));
    }
    let status = describe_status(state);
    Verdict::passed(format!("exclusive agent {exclusive} is {status}"))
}

/// Step 4: the shop's robot, when the shop puts it first.
pub(super) fn robot_first(request: &Request) -> Verdict {
    if !request.config.robot_first {
        return Verdict::passed("shop does not put its robot first".to_string());
    }
    let target = RouteTarget::Robot { group: None };
    Verdict::decided(target, "shop puts its robot first".to_string())
}

pub(super) fn find<'a>(agents: &'a [AgentState], agent: &UserId) -> Option<&'a AgentState> {
    agents.iter().find(|state| &state.agent == agent)
}

/// An agent missing from the list is offline as far as routing cares; the reason says so.
pub(super) fn describe_status(state: Option<&AgentState>) -> &'static str {
    match state.map(|state| state.status) {
        Some(status) => status.as_str(),
        None => "not among the shop's agents (offline)",
    }
}

/// The status of an agent that may be missing from the list.
pub(super) fn status_of(state: Option<&AgentState>) -> AgentStatus {
    state.map_or(AgentStatus::Offline, |state| state.status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::routing::config::RoutingConfig;
    use crate::domain::routing::fixtures::*;

    fn run(
        step: fn(&Request) -> Verdict,
        buyer: &crate::domain::routing::buyer::BuyerContext,
        agents: &[AgentState],
        config: &RoutingConfig,
    ) -> Option<RouteTarget> {
        let request = Request {
            buyer,
            agents,
            config,
            now: now(),
            pick: 0,
        };
        step(&request).target
    }

    #[test]
    fn offline_rule() {
        let rule = |offline_rule, main_account: Option<&str>| RoutingConfig {
            offline_rule,
            main_account: main_account.map(user),
            ..RoutingConfig::default()
        };
        let nobody = [agent("a1", Suspended, 1, &[]), agent("a2", Offline, 1, &[])];
        let someone = [agent("a1", Suspended, 1, &[]), agent("a2", Online, 1, &[])];
        let main = RouteTarget::MainAccount {
            agent: user("main"),
        };
        let proxy = RouteTarget::Proxy { agent: user("p1") };
        let pool = RouteTarget::MessagePool;
        let proxy_rule = || OfflineRule::Proxy { agent: user("p1") };
        let cases: &[(&str, RoutingConfig, &[AgentState], Option<RouteTarget>)] = &[
            (
                "main account",
                rule(OfflineRule::MainAccount {}, Some("main")),
                &nobody,
                Some(main),
            ),
            ("proxy", rule(proxy_rule(), None), &nobody, Some(proxy)),
            (
                "message pool",
                rule(OfflineRule::MessagePool {}, None),
                &nobody,
                Some(pool.clone()),
            ),
            (
                "no main account",
                rule(OfflineRule::MainAccount {}, None),
                &nobody,
                Some(pool),
            ),
            (
                "no agents at all",
                rule(proxy_rule(), None),
                &[],
                Some(RouteTarget::Proxy { agent: user("p1") }),
            ),
            (
                "someone available",
                rule(proxy_rule(), None),
                &someone,
                None,
            ),
        ];
        for (name, config, agents, expected) in cases {
            assert_eq!(run(offline, &buyer(), agents, config), *expected, "{name}");
        }
    }

    #[test]
    fn exclusive_agent() {
        let config = |allow_exclusive| RoutingConfig {
            allow_exclusive,
            ..RoutingConfig::default()
        };
        let with_exclusive = {
            let mut buyer = buyer();
            buyer.exclusive_agent = Some(user("x1"));
            buyer
        };
        let agents = |status| [agent("x1", status, 1, &[]), agent("a2", Online, 5, &[])];
        let chosen = Some(RouteTarget::Agent { agent: user("x1") });
        let cases = [
            (
                "allowed, online",
                true,
                with_exclusive.clone(),
                agents(Online),
                chosen,
            ),
            (
                "not allowed",
                false,
                with_exclusive.clone(),
                agents(Online),
                None,
            ),
            (
                "suspended",
                true,
                with_exclusive.clone(),
                agents(Suspended),
                None,
            ),
            (
                "offline",
                true,
                with_exclusive.clone(),
                agents(Offline),
                None,
            ),
            ("no exclusive agent", true, buyer(), agents(Online), None),
        ];
        for (name, allow, buyer, agents, expected) in cases {
            assert_eq!(
                run(exclusive, &buyer, &agents, &config(allow)),
                expected,
                "{name}"
            );
        }
        let missing = [agent("a2", Online, 5, &[])];
        assert_eq!(
            run(exclusive, &with_exclusive, &missing, &config(true)),
            None
        );
    }

    #[test]
    fn robot_first_step() {
        let agents = [agent("a1", Online, 1, &[])];
        let cases = [
            (true, Some(RouteTarget::Robot { group: None })),
            (false, None),
        ];
        for (robot_first, expected) in cases {
            let config = RoutingConfig {
                robot_first,
                ..RoutingConfig::default()
            };
            assert_eq!(
                run(super::robot_first, &buyer(), &agents, &config),
                expected
            );
        }
    }
}
