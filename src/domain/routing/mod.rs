//! Routing a buyer to one of a shop's agents (issue 6), as a pure decision.
//!
//! Owns: the shop's routing configuration (`config`, checked by `validate`), the facts routing
//! reads about agents (`agents`) and the buyer (`buyer`, with `order_state`), the five steps, the
//! agent pick (`pick`, also used for transfers to a group), and the decision with its trace
//! (`decision`). Does not own: presence, queues, conversion statistics, the robot or the message
//! pool; the hub gathers the facts, draws the random `pick`, calls [`route`] and applies the
//! [`RoutingDecision`].
//!
//! Each time a buyer opens or re-enters a conversation, five steps run in order and the first
//! that decides wins:
//!
//! 1. `offline`: no agent online and not suspended; the shop's offline rule (main account, proxy,
//!    message pool) takes the buyer.
//! 2. `recent_contact`: the agent the buyer talked with within 72 hours, or a colleague of theirs
//!    (see `recent_contact` for the 24h/72h table).
//! 3. `exclusive`: the buyer's exclusive agent, if the shop allows it and the agent is available.
//! 4. `robot_first`: the shop's robot, if the shop puts it first.
//! 5. `groups`: crowd, item, intent and order state narrow the shop's groups; the first kept
//!    group serves (its robot, or an agent by its mode); else any available agent of the shop.
//!
//! Randomness stays outside: `route` takes `pick: u64`, so the same inputs give the same decision.

mod agents;
mod buyer;
mod config;
mod decision;
#[cfg(test)]
mod fixtures;
mod groups;
mod names;
mod pick;
mod recent_contact;
pub mod robot;
mod route;
mod steps;
mod validate;

pub use agents::{AgentPresence, AgentState, AgentStatus, DEFAULT_LEVEL, agent_states};
pub use buyer::{BuyerContext, BuyerOrderState, RecentContact, order_state};
pub use config::{AgentProfile, GroupConfig, GroupMode, OfflineRule, PickRules, RoutingConfig};
pub use decision::{RouteTarget, RoutingDecision, StepName, StepTrace};
pub use names::{GroupId, Tag};
pub use pick::{is_busy, pick_by_conversion, pick_by_efficiency, pick_in_group, weight};
pub use robot::{RobotAnswer, RobotConfig, RobotReply, robot_answer};
pub use route::route;
pub use validate::{
    ConfigError, MAX_AFTER_SALE_WINDOW_HOURS, MAX_AGENTS, MAX_BINDINGS, MAX_GROUPS,
};
