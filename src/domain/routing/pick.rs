//! Picking one agent among candidates: efficiency first (weighted random by level, busy agents
//! weigh less) or conversion first (highest conversion rate). Also [`pick_in_group`], which a
//! transfer to a group uses and which step 5 reuses.
//!
//! Randomness stays outside: the caller draws a uniform `pick: u64` and the agent whose slice of
//! the total weight holds `pick % total` wins. The modulo bias is at most total / 2^64, i.e. none
//! that matters. Candidates are taken in the order given, so the same inputs pick the same agent.

use super::agents::AgentState;
use super::config::{GroupConfig, GroupMode, PickRules};
use crate::protocol::ids::UserId;

/// The weight of one level. Large so that dividing a busy agent's weight stays precise.
const WEIGHT_PER_LEVEL: u64 = 1_000_000;

/// Waiting on more than `busy_threshold` replies.
pub fn is_busy(agent: &AgentState, rules: PickRules) -> bool {
    agent.waiting > rules.busy_threshold
}

/// Level (clamped to 1..=5) times [`WEIGHT_PER_LEVEL`], divided by `busy_weight_divisor` when
/// busy. Never 0, so a lone busy agent can still be picked.
pub fn weight(agent: &AgentState, rules: PickRules) -> u64 {
    let base = u64::from(agent.level.clamp(1, 5)) * WEIGHT_PER_LEVEL;
    if !is_busy(agent, rules) {
        return base;
    }
    (base / u64::from(rules.busy_weight_divisor.max(1))).max(1)
}

/// Weighted random by level; `None` only when there is no candidate.
pub fn pick_by_efficiency<'a>(
    candidates: &[&'a AgentState],
    rules: PickRules,
    pick: u64,
) -> Option<&'a AgentState> {
    let total: u64 = candidates.iter().map(|agent| weight(agent, rules)).sum();
    let mut point = pick.checked_rem(total)?;
    for agent in candidates {
        let weight = weight(agent, rules);
        if point < weight {
            return Some(agent);
        }
        point -= weight;
    }
    None
}

/// The highest conversion rate among candidates who are not busy (among all of them when every
/// one is busy). Agents tied on the rate share buyers by [`pick_by_efficiency`].
pub fn pick_by_conversion<'a>(
    candidates: &[&'a AgentState],
    rules: PickRules,
    pick: u64,
) -> Option<&'a AgentState> {
    let not_busy: Vec<&AgentState> = candidates
        .iter()
        .copied()
        .filter(|agent| !is_busy(agent, rules))
        .collect();
    let pool = if not_busy.is_empty() {
        candidates
    } else {
        &not_busy[..]
    };
    let best = pool
        .iter()
        .map(|agent| rate(agent))
        .max_by(f32::total_cmp)?;
    let tied: Vec<&AgentState> = pool
        .iter()
        .copied()
        .filter(|agent| rate(agent) == best)
        .collect();
    pick_by_efficiency(&tied, rules, pick)
}

/// The conversion rate clamped to 0.0..=1.0, NaN as 0.0.
fn rate(agent: &AgentState) -> f32 {
    if agent.conversion_rate.is_nan() {
        return 0.0;
    }
    agent.conversion_rate.clamp(0.0, 1.0)
}

/// Picks by `mode`.
pub fn pick_by_mode<'a>(
    mode: GroupMode,
    candidates: &[&'a AgentState],
    rules: PickRules,
    pick: u64,
) -> Option<&'a AgentState> {
    match mode {
        GroupMode::EfficiencyFirst => pick_by_efficiency(candidates, rules, pick),
        GroupMode::ConversionFirst => pick_by_conversion(candidates, rules, pick),
    }
}

/// An available (online, not suspended) agent of `group`, by the group's mode; `None` when the
/// group has none. The group's robot is not considered: a transfer to a group wants a person.
/// A caller that must not pick a given agent (the one transferring) leaves it out of `agents`.
pub fn pick_in_group(
    group: &GroupConfig,
    agents: &[AgentState],
    rules: PickRules,
    pick: u64,
) -> Option<UserId> {
    let candidates: Vec<&AgentState> = agents
        .iter()
        .filter(|agent| agent.is_available() && agent.is_in(&group.id))
        .collect();
    let chosen = pick_by_mode(group.mode, &candidates, rules, pick)?;
    Some(chosen.agent.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::routing::fixtures::*;

    const RULES: PickRules = PickRules {
        busy_threshold: 4,
        busy_weight_divisor: 2,
    };

    fn busy(mut agent: AgentState, waiting: u32) -> AgentState {
        agent.waiting = waiting;
        agent
    }

    fn rated(mut agent: AgentState, conversion_rate: f32) -> AgentState {
        agent.conversion_rate = conversion_rate;
        agent
    }

    #[test]
    fn weights() {
        let unit = WEIGHT_PER_LEVEL;
        let lenient = PickRules {
            busy_threshold: 4,
            busy_weight_divisor: 1,
        };
        let cases = [
            (0, 0, RULES, unit),
            (1, 0, RULES, unit),
            (3, 4, RULES, 3 * unit),
            (3, 5, RULES, 3 * unit / 2),
            (5, 0, RULES, 5 * unit),
            (9, 0, RULES, 5 * unit),
            (3, 5, lenient, 3 * unit),
        ];
        for (level, waiting, rules, expected) in cases {
            let agent = busy(agent("a1", Online, level, &[]), waiting);
            assert_eq!(
                weight(&agent, rules),
                expected,
                "level {level} waiting {waiting}"
            );
        }
    }

    #[test]
    fn efficiency_pick_walks_the_weights() {
        let agents = [agent("a1", Online, 1, &[]), agent("a2", Online, 3, &[])];
        let candidates: Vec<&AgentState> = agents.iter().collect();
        let unit = WEIGHT_PER_LEVEL;
        let cases = [
            (0, "a1"),
            (unit - 1, "a1"),
            (unit, "a2"),
            (4 * unit - 1, "a2"),
            (4 * unit, "a1"),
            (u64::MAX, "a2"),
        ];
        for (pick, expected) in cases {
            let chosen = pick_by_efficiency(&candidates, RULES, pick).expect("a candidate");
            assert_eq!(chosen.agent.as_str(), expected, "pick {pick}");
        }
        assert_eq!(pick_by_efficiency(&[], RULES, 7), None);
    }

    #[test]
    fn conversion_pick() {
        let top = || rated(agent("top", Online, 1, &[]), 0.4);
        let second = || rated(agent("second", Online, 5, &[]), 0.3);
        let unit = WEIGHT_PER_LEVEL;
        let cases: &[(&str, Vec<AgentState>, u64, Option<&str>)] = &[
            ("highest rate wins", vec![second(), top()], 0, Some("top")),
            (
                "busy top skipped",
                vec![busy(top(), 5), second()],
                0,
                Some("second"),
            ),
            (
                "all busy",
                vec![busy(second(), 9), busy(top(), 5)],
                0,
                Some("top"),
            ),
            (
                "rate clamped",
                vec![rated(top(), 7.0), rated(second(), 1.0)],
                0,
                Some("top"),
            ),
            (
                "NaN counts as 0",
                vec![rated(top(), f32::NAN), second()],
                0,
                Some("second"),
            ),
            (
                "tie, level-weighted",
                vec![top(), rated(second(), 0.4)],
                0,
                Some("top"),
            ),
            (
                "tie, level-weighted",
                vec![top(), rated(second(), 0.4)],
                unit,
                Some("second"),
            ),
            ("nobody", vec![], 0, None),
        ];
        for (name, agents, pick, expected) in cases {
            let candidates: Vec<&AgentState> = agents.iter().collect();
            let chosen = pick_by_conversion(&candidates, RULES, *pick);
            assert_eq!(chosen.map(|a| a.agent.as_str()), *expected, "{name}");
        }
    }

    #[test]
    fn pick_in_group_takes_available_members_only() {
        let members = |extra: Vec<AgentState>| {
            let mut agents = vec![
                agent("suspended", Suspended, 5, &["g1"]),
                agent("offline", Offline, 5, &["g1"]),
                agent("elsewhere", Online, 5, &["g2"]),
            ];
            agents.extend(extra);
            agents
        };
        let mut conversion = group("g1");
        conversion.mode = GroupMode::ConversionFirst;
        let cases: &[(&str, GroupConfig, Vec<AgentState>, Option<&str>)] = &[
            ("no member available", group("g1"), members(vec![]), None),
            (
                "the available member",
                group("g1"),
                members(vec![agent("member", Online, 1, &["g1", "g2"])]),
                Some("member"),
            ),
            (
                "conversion mode",
                conversion,
                members(vec![
                    rated(agent("low", Online, 5, &["g1"]), 0.1),
                    rated(agent("high", Online, 1, &["g1"]), 0.2),
                ]),
                Some("high"),
            ),
        ];
        for (name, group, agents, expected) in cases {
            let chosen = pick_in_group(group, agents, RULES, 0);
            assert_eq!(chosen.as_ref().map(UserId::as_str), *expected, "{name}");
        }
    }
}
