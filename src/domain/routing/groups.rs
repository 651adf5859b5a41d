//! Step 5: match the buyer to the shop's groups and let the winning group serve them.
//!
//! Four rules narrow the groups in turn: crowd, item, intent, order state. A rule keeps, among the
//! groups still kept, those explicitly bound to the buyer's value (for crowds: to any of the
//! buyer's crowds). A group with no binding on a dimension is not bound to any value of it, so it
//! is dropped by a rule that keeps something. A rule that keeps nothing (the buyer has no value,
//! or no kept group is bound to it) is skipped and changes nothing. So a state no group is bound
//! to may go to any group the earlier rules kept.
//!
//! The kept groups are then tried in configuration order: the first whose robot is on, or that
//! has an agent online and not suspended, serves the buyer (robot, or an agent by the group's
//! mode, see `pick`). Configuration order is the shop's priority, visible in the admin UI and
//! stable between calls. When none can serve, or the shop has no groups, any agent of the shop
//! online and not suspended is picked by efficiency.

use super::buyer::BuyerContext;
use super::config::{GroupConfig, GroupMode};
use super::decision::{RouteTarget, Verdict};
use super::names::Tag;
use super::pick::{pick_by_efficiency, pick_in_group};
use super::route::Request;

/// One dimension a group can be bound on, in the order the rules run.
#[derive(Debug, Clone, Copy)]
enum Dimension {
    Crowd,
    Item,
    Intent,
    OrderState,
}

impl Dimension {
    const ALL: [Dimension; 4] = [
        Dimension::Crowd,
        Dimension::Item,
        Dimension::Intent,
        Dimension::OrderState,
    ];

    fn is_bound(self, group: &GroupConfig, buyer: &BuyerContext) -> bool {
        match self {
            Dimension::Crowd => group
                .crowds
                .iter()
                .any(|crowd| buyer.crowds.contains(crowd)),
            Dimension::Item => buyer
                .item
                .as_ref()
                .is_some_and(|item| group.items.contains(item)),
            Dimension::Intent => {
                let intent = buyer.intent.as_ref();
                intent.is_some_and(|intent| group.intents.contains(intent))
            }
            Dimension::OrderState => group.order_states.contains(&buyer.order_state),
        }
    }

    /// The buyer's value on this dimension, for the trace.
    fn describe(self, buyer: &BuyerContext) -> String {
        let or_none =
            |tag: &Option<Tag>| tag.as_ref().map_or_else(|| "none".into(), Tag::to_string);
        match self {
            Dimension::Crowd => format!("crowds [{}]", join(&buyer.crowds)),
            Dimension::Item => format!("item {}", or_none(&buyer.item)),
            Dimension::Intent => format!("intent {}", or_none(&buyer.intent)),
            Dimension::OrderState => format!("order state {}", buyer.order_state),
        }
    }
}

pub(super) fn groups(request: &Request) -> Verdict {
    if request.config.groups.is_empty() {
        return shop_wide(request, "no groups configured".to_string());
    }
    let (kept, notes) = narrow(&request.config.groups, request.buyer);
    let matched = notes.join("; ");
    for group in &kept {
        if let Some((target, served)) = serve(group, request) {
            return Verdict::decided(target, format!("{matched}; {served}"));
        }
    }
    let context = format!("{matched}; no kept group has its robot on or an available agent");
    shop_wide(request, context)
}

/// Applies the four rules; returns the kept groups in configuration order and one note per rule.
fn narrow<'g>(
    groups: &'g [GroupConfig],
    buyer: &BuyerContext,
) -> (Vec<&'g GroupConfig>, Vec<String>) {
    let mut kept: Vec<&GroupConfig> = groups.iter().collect();
    let mut notes = Vec::with_capacity(Dimension::ALL.len());
    for dimension in Dimension::ALL {
        let bound: Vec<&GroupConfig> = kept
            .iter()
            .copied()
            .filter(|group| dimension.is_bound(group, buyer))
            .collect();
        let value = dimension.describe(buyer);
        if bound.is_empty() {
            notes.push(format!("{value}: skipped"));
        } else {
            notes.push(format!(
                "{value}: kept [{}]",
                join(bound.iter().map(|group| &group.id))
            ));
            kept = bound;
        }
    }
    (kept, notes)
}

/// The group's robot when on, else one of its available agents by its mode.
fn serve(group: &GroupConfig, request: &Request) -> Option<(RouteTarget, String)> {
    let id = &group.id;
    if group.robot_on {
        let target = RouteTarget::Robot {
            group: Some(id.clone()),
        };
        return Some((target, format!("group {id} has its robot on")));
    }
    let agent = pick_in_group(group, request.agents, request.rules(), request.pick)?;
    let mode = match group.mode {
        GroupMode::EfficiencyFirst => "efficiency first",
        GroupMode::ConversionFirst => "conversion first",
    };
    let reason = format!("group {id} ({mode}) picked {agent}");
    Some((RouteTarget::Agent { agent }, reason))
}

fn shop_wide(request: &Request, context: String) -> Verdict {
    match pick_by_efficiency(&request.available(), request.rules(), request.pick) {
        Some(agent) => {
            let reason = format!("{context}; shop-wide efficiency pick: {}", agent.agent);
            let agent = agent.agent.clone();
            Verdict::decided(RouteTarget::Agent { agent }, reason)
        }
        None => Verdict::passed(format!("{context}; no agent online and not suspended")),
    }
}

fn join<T: std::fmt::Display>(values: impl IntoIterator<Item = T>) -> String {
    let names: Vec<String> = values.into_iter().map(|value| value.to_string()).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::routing::agents::AgentState;
    use crate::domain::routing::buyer::BuyerOrderState::{self, *};
    use crate::domain::routing::config::RoutingConfig;
    use crate::domain::routing::fixtures::*;

    fn run(buyer: &BuyerContext, agents: &[AgentState], config: &RoutingConfig) -> Verdict {
        let request = Request {
            buyer,
            agents,
            config,
            now: now(),
            pick: 0,
        };
        groups(&request)
    }

    fn chosen(verdict: &Verdict) -> Option<String> {
        match &verdict.target {
            Some(RouteTarget::Agent { agent }) => Some(agent.to_string()),
            Some(RouteTarget::Robot { group: Some(group) }) => Some(format!("robot of {group}")),
            Some(other) => Some(format!("{other:?}")),
            None => None,
        }
    }

    fn bound(id: &str, items: &[&str], states: &[BuyerOrderState]) -> GroupConfig {
        let mut group = group(id);
        group.items = items.iter().map(|item| tag(item)).collect();
        group.order_states = states.to_vec();
        group
    }

    fn shopper(
        crowds: &[&str],
        item: Option<&str>,
        intent: Option<&str>,
        order_state: BuyerOrderState,
    ) -> BuyerContext {
        BuyerContext {
            crowds: crowds.iter().map(|crowd| tag(crowd)).collect(),
            item: item.map(tag),
            intent: intent.map(tag),
            order_state,
            ..buyer()
        }
    }

    /// Six groups, each with one available agent named after it.
    fn bound_shop() -> (RoutingConfig, Vec<AgentState>) {
        let mut vip = group("vip");
        vip.crowds = vec![tag("vip")];
        let mut refund = bound("refund", &["b"], &[]);
        refund.intents = vec![tag("refund")];
        let groups = vec![
            group("general"),
            bound("item-a", &["a"], &[]),
            bound("unpaid-a", &["a"], &[OrderedNotPaid]),
            vip,
            refund,
            bound("shipped-b", &["b"], &[Shipped]),
        ];
        let agents = groups
            .iter()
            .map(|group| {
                agent(
                    &format!("{}-agent", group.id),
                    Online,
                    1,
                    &[group.id.as_str()],
                )
            })
            .collect();
        let config = RoutingConfig {
            groups,
            ..RoutingConfig::default()
        };
        (config, agents)
    }

    #[test]
    fn group_precedence() {
        let (config, agents) = bound_shop();
        #[rustfmt::skip]
        let cases = [
            // Issue 6's example: item `a` unpaid goes to the group bound to `a` and unpaid ...
            ("item a unpaid", shopper(&[], Some("a"), None, OrderedNotPaid), "unpaid-a-agent"),
            // ... and in after-sale, which no group is bound to, to a group bound to `a`.
            ("item a after-sale", shopper(&[], Some("a"), None, InAfterSale), "item-a-agent"),
            ("item a paid", shopper(&[], Some("a"), None, PaidNotShipped), "item-a-agent"),
            ("nothing matches", shopper(&[], None, None, NoActiveOrder), "general-agent"),
            ("unbound item", shopper(&[], Some("c"), None, CompletedInWindow), "general-agent"),
            ("crowd before item", shopper(&["new", "vip"], Some("a"), None, OrderedNotPaid), "vip-agent"),
            ("intent before state", shopper(&[], Some("b"), Some("refund"), Shipped), "refund-agent"),
            ("item then state", shopper(&[], Some("b"), None, Shipped), "shipped-b-agent"),
            ("state alone", shopper(&["new"], None, Some("chat"), OrderedNotPaid), "unpaid-a-agent"),
        ];
        for (name, buyer, expected) in cases {
            let verdict = run(&buyer, &agents, &config);
            assert_eq!(
                chosen(&verdict).as_deref(),
                Some(expected),
                "{name}: {}",
                verdict.reason
            );
        }
    }

    #[test]
    fn serving_the_kept_groups() {
        let robot = GroupConfig {
            robot_on: true,
            ..bound("g1", &["a"], &[])
        };
        let conversion = GroupConfig {
            mode: GroupMode::ConversionFirst,
            ..bound("g1", &["a"], &[])
        };
        let converter = AgentState {
            conversion_rate: 0.5,
            ..agent("converter", Online, 1, &["g1"])
        };
        let config = |groups: Vec<GroupConfig>| RoutingConfig {
            groups,
            ..RoutingConfig::default()
        };
        let outsider = || agent("outsider", Online, 1, &[]);
        let member = |status| agent("member", status, 5, &["g1"]);
        let (g1, g2) = (|| bound("g1", &["a"], &[]), || bound("g2", &["a"], &[]));
        let second = agent("second", Online, 1, &["g2"]);
        #[rustfmt::skip]
        let cases: Vec<(&str, RoutingConfig, Vec<AgentState>, Option<&str>)> = vec![
            ("group robot", config(vec![robot]), vec![member(Online)], Some("robot of g1")),
            ("efficiency", config(vec![g1()]), vec![outsider(), member(Online)], Some("member")),
            ("conversion first", config(vec![conversion]), vec![member(Online), converter], Some("converter")),
            ("next kept group", config(vec![g1(), g2()]), vec![member(Suspended), second, outsider()], Some("second")),
            ("fallback: group suspended", config(vec![g1()]), vec![member(Suspended), outsider()], Some("outsider")),
            ("fallback: group offline", config(vec![g1()]), vec![member(Offline), outsider()], Some("outsider")),
            ("no groups", config(vec![]), vec![member(Suspended), outsider()], Some("outsider")),
            ("nobody available", config(vec![g1()]), vec![member(Suspended)], None),
        ];
        let mut buyer = buyer();
        buyer.item = Some(tag("a"));
        for (name, config, agents, expected) in cases {
            let verdict = run(&buyer, &agents, &config);
            assert_eq!(
                chosen(&verdict).as_deref(),
                expected,
                "{name}: {}",
                verdict.reason
            );
        }
    }

    #[test]
    fn reason_lists_every_rule() {
        let (config, agents) = bound_shop();
        let mut buyer = buyer();
        buyer.item = Some(tag("a"));
        buyer.order_state = InAfterSale;
        let expected = "crowds []: skipped; item a: kept [item-a, unpaid-a]; intent none: skipped; \
                        order state in_after_sale: skipped; group item-a (efficiency first) picked \
                        item-a-agent";
        assert_eq!(run(&buyer, &agents, &config).reason, expected);
    }
}
