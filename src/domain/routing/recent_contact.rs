//! Step 2: a buyer who talked with an agent lately goes back to that agent, or to a colleague.
//!
//! | contacted          | contact online | contact suspended | contact offline |
//! |--------------------|----------------|-------------------|-----------------|
//! | within 24h         | contact        | contact           | another agent   |
//! | within 72h         | contact        | another agent     | another agent   |
//! | longer ago         | step passes    | step passes       | step passes     |
//!
//! Both bounds are inclusive: exactly 24h is within 24h. A contact time in the future (clock
//! skew) counts as just now. "Another agent" is an agent online and not suspended who shares a
//! group with the contact, picked by efficiency (weighted by level, busy agents weigh less); when
//! no such colleague is available, any agent online and not suspended, picked the same way. The
//! contact's groups come from the agent list, or from the shop's profile when the contact is not
//! in the list.

use chrono::TimeDelta;

use super::agents::{AgentState, AgentStatus};
use super::decision::{RouteTarget, Verdict, format_elapsed};
use super::names::GroupId;
use super::pick::pick_by_efficiency;
use super::route::Request;
use super::steps::{describe_status, find, status_of};

/// Up to this long after the contact, a suspended contact keeps the buyer.
const SUSPENDED_KEEPS_FOR: TimeDelta = TimeDelta::hours(24);
/// Up to this long after the contact, the step decides at all.
const CONTACT_WINDOW: TimeDelta = TimeDelta::hours(72);

pub(super) fn recent_contact(request: &Request) -> Verdict {
    let Some(contact) = &request.buyer.recent_contact else {
        return Verdict::passed("no recent contact".to_string());
    };
    let elapsed = request.now - contact.at;
    let label = format!(
        "recent contact {} contacted {} ago",
        contact.agent,
        format_elapsed(elapsed)
    );
    if elapsed > CONTACT_WINDOW {
        return Verdict::passed(format!("{label}: older than 72h"));
    }
    let state = find(request.agents, &contact.agent);
    let status = status_of(state);
    if keeps_buyer(status, elapsed) {
        let target = RouteTarget::Agent {
            agent: contact.agent.clone(),
        };
        return Verdict::decided(target, format!("{label} and {}", describe_online(status)));
    }
    let why = match status {
        AgentStatus::Suspended => "suspended over 24h after the contact",
        _ => describe_status(state),
    };
    hand_to_colleague(request, state, format!("{label} but {why}"))
}

/// Within the window: online keeps the buyer, suspended only within 24h, offline never.
fn keeps_buyer(status: AgentStatus, elapsed: TimeDelta) -> bool {
    match status {
        AgentStatus::Online => true,
        AgentStatus::Suspended => elapsed <= SUSPENDED_KEEPS_FOR,
        AgentStatus::Offline => false,
    }
}

fn describe_online(status: AgentStatus) -> &'static str {
    match status {
        AgentStatus::Suspended => "online (suspended)",
        _ => "online",
    }
}

fn hand_to_colleague(request: &Request, contact: Option<&AgentState>, label: String) -> Verdict {
    let groups = contact_groups(request, contact);
    let available = request.available();
    let colleagues: Vec<&AgentState> = available
        .iter()
        .copied()
        .filter(|agent| agent.groups.iter().any(|group| groups.contains(group)))
        .collect();
    let rules = request.rules();
    if let Some(agent) = pick_by_efficiency(&colleagues, rules, request.pick) {
        let reason = format!("{label}; {} of the same group takes the buyer", agent.agent);
        return decided(agent, reason);
    }
    let label = format!("{label}; no colleague of the same group available");
    match pick_by_efficiency(&available, rules, request.pick) {
        Some(agent) => decided(agent, format!("{label}; {} takes the buyer", agent.agent)),
        None => Verdict::passed(format!("{label}; no agent online and not suspended")),
    }
}

fn decided(agent: &AgentState, reason: String) -> Verdict {
    let target = RouteTarget::Agent {
        agent: agent.agent.clone(),
    };
    Verdict::decided(target, reason)
}

fn contact_groups(request: &Request, contact: Option<&AgentState>) -> Vec<GroupId> {
    if let Some(state) = contact {
        return state.groups.clone();
    }
    let agent = request
        .buyer
        .recent_contact
        .as_ref()
        .map(|contact| &contact.agent);
    agent
        .and_then(|agent| request.config.profile(agent))
        .map(|profile| profile.groups.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::routing::config::{AgentProfile, RoutingConfig};
    use crate::domain::routing::fixtures::*;

    /// The contact `c1` in group g1 with the given status, a level-1 colleague `mate` in g1 and a
    /// level-5 stranger in g2, so only the same-group rule explains `mate` winning at pick 0.
    fn shop(status: AgentStatus) -> Vec<AgentState> {
        vec![
            agent("stranger", Online, 5, &["g2"]),
            agent("c1", status, 3, &["g1"]),
            agent("mate", Online, 1, &["g1"]),
        ]
    }

    fn run(agents: &[AgentState], config: &RoutingConfig, hours: i64, minutes: i64) -> Verdict {
        let mut buyer = buyer();
        buyer.recent_contact = contacted("c1", ago(hours, minutes));
        let request = Request {
            buyer: &buyer,
            agents,
            config,
            now: now(),
            pick: 0,
        };
        recent_contact(&request)
    }

    #[test]
    fn contact_windows() {
        let contact = Some("c1");
        let mate = Some("mate");
        #[rustfmt::skip]
        let cases = [
            //            online   suspended offline
            ((0, 0),      [contact, contact, mate]),
            ((23, 59),    [contact, contact, mate]),
            ((24, 0),     [contact, contact, mate]),
            ((24, 1),     [contact, mate,    mate]),
            ((71, 59),    [contact, mate,    mate]),
            ((72, 0),     [contact, mate,    mate]),
            ((72, 1),     [None,    None,    None]),
            ((-1, 0),     [contact, contact, mate]),
        ];
        let config = RoutingConfig::default();
        for ((hours, minutes), expected) in cases {
            for (status, expected) in [Online, Suspended, Offline].into_iter().zip(expected) {
                let verdict = run(&shop(status), &config, hours, minutes);
                let chosen = match verdict.target {
                    Some(RouteTarget::Agent { agent }) => Some(agent),
                    _ => None,
                };
                let chosen = chosen.as_ref().map(|agent| agent.as_str());
                assert_eq!(
                    chosen, expected,
                    "{hours}h{minutes}m {status:?}: {}",
                    verdict.reason
                );
            }
        }
    }

    #[test]
    fn colleagues_then_anyone() {
        let config = RoutingConfig::default();
        let profiled = RoutingConfig {
            agents: vec![AgentProfile {
                agent: user("c1"),
                level: 3,
                groups: vec![group_id("g1")],
            }],
            ..RoutingConfig::default()
        };
        let without_contact: Vec<AgentState> = shop(Offline)
            .into_iter()
            .filter(|state| state.agent.as_str() != "c1")
            .collect();
        let suspended_mate = vec![
            agent("c1", Offline, 1, &["g1"]),
            agent("mate", Suspended, 1, &["g1"]),
            agent("stranger", Online, 1, &["g2"]),
        ];
        let lone_stranger = vec![agent("stranger", Online, 1, &["g2"])];
        #[rustfmt::skip]
        let cases = [
            ("colleague available", shop(Offline), &config, Some("mate")),
            ("no colleague available", suspended_mate, &config, Some("stranger")),
            ("contact unknown, groups from profile", without_contact, &profiled, Some("mate")),
            ("contact unknown, no profile", lone_stranger, &config, Some("stranger")),
            ("nobody available", vec![agent("c1", Offline, 1, &["g1"])], &config, None),
        ];
        for (name, agents, config, expected) in cases {
            let verdict = run(&agents, config, 30, 0);
            let chosen = match &verdict.target {
                Some(RouteTarget::Agent { agent }) => Some(agent.as_str()),
                _ => None,
            };
            assert_eq!(chosen, expected, "{name}: {}", verdict.reason);
        }
    }

    #[test]
    fn reasons_name_the_contact_and_the_time() {
        let cases = [
            (
                Suspended,
                23,
                59,
                "recent contact c1 contacted 23h59m ago and online (suspended)",
            ),
            (
                Online,
                71,
                59,
                "recent contact c1 contacted 71h59m ago and online",
            ),
            (
                Suspended,
                24,
                1,
                "recent contact c1 contacted 24h01m ago but suspended over 24h after the contact; mate of the same group takes the buyer",
            ),
            (
                Offline,
                72,
                1,
                "recent contact c1 contacted 72h01m ago: older than 72h",
            ),
        ];
        for (status, hours, minutes, expected) in cases {
            let verdict = run(&shop(status), &RoutingConfig::default(), hours, minutes);
            assert_eq!(verdict.reason, expected);
        }
    }
}
