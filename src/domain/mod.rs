//! Pure rules: eligibility, intent, routing, controls. `(input, rules, now) -> Decision`.
//!
//! Nothing here reads a clock, touches the network or the store; callers pass `now` in.

pub mod controls;
pub mod eligibility;
pub mod intent;
pub mod order;
pub mod routing;
pub mod shop;
pub mod splice;
