//! Cost of one `route` call for a mid-sized shop: 10 groups, 50 agents.
//!
//! Register in Cargo.toml with `[[bench]] name = "routing" harness = false`.

use std::hint::black_box;

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use logistics_bridge::domain::routing::{
    AgentState, AgentStatus, BuyerContext, BuyerOrderState, GroupConfig, GroupId, GroupMode,
    RecentContact, RoutingConfig, Tag, route,
};
use logistics_bridge::protocol::ids::UserId;

const GROUPS: usize = 10;
const AGENTS: usize = 50;

fn group_id(index: usize) -> GroupId {
    GroupId::new(&format!("g{index}")).expect("bench group id")
}

fn tag(value: &str) -> Tag {
    Tag::new(value).expect("bench tag")
}

fn config() -> RoutingConfig {
    let groups = (0..GROUPS)
        .map(|index| GroupConfig {
            id: group_id(index),
            robot_on: false,
            mode: GroupMode::EfficiencyFirst,
            crowds: Vec::new(),
            items: vec![tag(&format!("item-{}", index % 3))],
            intents: Vec::new(),
            order_states: vec![BuyerOrderState::ALL[index % 6]],
        })
        .collect();
    RoutingConfig {
        groups,
        ..RoutingConfig::default()
    }
}

fn agents() -> Vec<AgentState> {
    let status = [
        AgentStatus::Online,
        AgentStatus::Suspended,
        AgentStatus::Offline,
    ];
    (0..AGENTS)
        .map(|index| AgentState {
            agent: UserId::new(&format!("a{index}")).expect("bench agent id"),
            status: status[index % 3],
            groups: vec![group_id(index % GROUPS)],
            level: (index % 5 + 1) as u8,
            waiting: (index % 7) as u32,
            conversion_rate: 0.1,
        })
        .collect()
}

fn buyer(recent_contact: Option<RecentContact>) -> BuyerContext {
    BuyerContext {
        recent_contact,
        exclusive_agent: None,
        crowds: vec![tag("vip")],
        item: Some(tag("item-1")),
        intent: None,
        order_state: BuyerOrderState::PaidNotShipped,
    }
}

fn bench_route(c: &mut Criterion) {
    let (config, agents) = (config(), agents());
    let now: DateTime<Utc> = DateTime::UNIX_EPOCH + TimeDelta::days(20_000);
    let by_groups = buyer(None);
    let returning = buyer(Some(RecentContact {
        agent: UserId::new("a2").expect("bench agent id"),
        at: now - TimeDelta::hours(30),
    }));
    let mut pick = 0_u64;
    for (name, buyer) in [
        ("route/groups", by_groups),
        ("route/recent_contact", returning),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                pick = pick.wrapping_add(0x9E37_79B9_7F4A_7C15);
                route(black_box(&buyer), &agents, &config, now, pick)
            })
        });
    }
}

criterion_group!(benches, bench_route);
criterion_main!(benches);
