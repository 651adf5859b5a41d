//! Builders shared by the routing tests.

use chrono::{DateTime, TimeDelta, Utc};

use super::agents::{AgentState, AgentStatus};
use super::buyer::{BuyerContext, BuyerOrderState, RecentContact};
use super::config::GroupConfig;
use super::names::{GroupId, Tag};
use crate::protocol::ids::UserId;

pub use AgentStatus::{Offline, Online, Suspended};

pub fn user(id: &str) -> UserId {
    UserId::new(id).expect("test user id")
}

pub fn group_id(id: &str) -> GroupId {
    GroupId::new(id).expect("test group id")
}

pub fn tag(value: &str) -> Tag {
    Tag::new(value).expect("test tag")
}

pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
        .expect("test time")
        .to_utc()
}

pub fn ago(hours: i64, minutes: i64) -> DateTime<Utc> {
    now() - TimeDelta::hours(hours) - TimeDelta::minutes(minutes)
}

/// An agent with nobody waiting and a conversion rate of 0.
pub fn agent(id: &str, status: AgentStatus, level: u8, groups: &[&str]) -> AgentState {
    AgentState {
        agent: user(id),
        status,
        groups: groups.iter().map(|group| group_id(group)).collect(),
        level,
        waiting: 0,
        conversion_rate: 0.0,
    }
}

/// A group bound to nothing, efficiency first, robot off.
pub fn group(id: &str) -> GroupConfig {
    GroupConfig {
        id: group_id(id),
        robot_on: false,
        mode: Default::default(),
        crowds: Vec::new(),
        items: Vec::new(),
        intents: Vec::new(),
        order_states: Vec::new(),
    }
}

/// A buyer with no history, no tags and no active order.
pub fn buyer() -> BuyerContext {
    BuyerContext {
        recent_contact: None,
        exclusive_agent: None,
        crowds: Vec::new(),
        item: None,
        intent: None,
        order_state: BuyerOrderState::NoActiveOrder,
    }
}

pub fn contacted(agent: &str, at: DateTime<Utc>) -> Option<RecentContact> {
    Some(RecentContact {
        agent: user(agent),
        at,
    })
}
