//! The splice: inviting a buyer to bring the carrier's courier agent into their chat with a shop,
//! and everything up to the buyer's logistics evaluation (issue 5, "Invite, consent and splice").
//!
//! Owns, as pure functions of their inputs and `now`:
//! - `state`: the `Splice` record, its states and the transition log the admin endpoint shows;
//! - `transitions`: the transition table, the buyer's answer and the evaluation (see its docs);
//! - `policy`: whether a new invite may go out (one open invite per session, cool-down);
//! - `courier`: which courier takes an accepted splice, and who waits longest in the queue;
//! - `mask`: hiding the buyer's phone numbers and street addresses from the courier's context;
//! - `evaluation`: a carrier's evaluation summary.
//!
//! It does not decide eligibility (see `eligibility`), run timers, send cards or store records:
//! the hub does, applying events here and acting on `Applied::Changed` only.
//!
//! The hub's side, in order: `may_invite` then `Splice::invite`; the buyer's `answer`; on accept
//! `pick_courier` → `join`, or `queue` and later `next_waiting` → `join`, or `no_courier` after
//! `queue_timeout`; `leave` when the courier leaves, the session closes or it idles past
//! `courier_idle_timeout`; `courier_lost` after `courier_return_timeout` without the courier
//! coming back (the buyer is queued again); `evaluate` from the buyer after `left`.

pub mod courier;
pub mod evaluation;
pub mod mask;
pub mod policy;
pub mod state;
mod transitions;

#[cfg(test)]
mod transition_tests;

use chrono::TimeDelta;

pub use courier::{CourierCandidate, DeskStatus, next_waiting, pick_courier};
pub use evaluation::{EvaluationEntry, EvaluationSummary, summarize};
pub use mask::mask_personal;
pub use policy::{Blocked, InvitePolicy, may_invite};
pub use state::{
    Actor, Applied, Evaluation, Event, InviteFacts, MAX_COMMENT_CHARS, Splice, SpliceError,
    SpliceState, Transition, TransitionName,
};

/// The configurable part of the splice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpliceRules {
    pub invite: InvitePolicy,
    /// The most sessions one courier takes at once.
    pub max_courier_sessions: u32,
    /// How long an accepted buyer waits for a courier before being told none is available.
    pub queue_timeout: TimeDelta,
    /// How long a joined session may go without a message before the courier is let go.
    pub courier_idle_timeout: TimeDelta,
    /// How long a disconnected courier has to come back before another is offered.
    pub courier_return_timeout: TimeDelta,
    /// How many of the session's last messages the courier's context card shows.
    pub context_messages: usize,
}

impl Default for SpliceRules {
    /// Invite 10 min, cool-down 30 min, 3 sessions per courier, queue 2 min, idle 15 min,
    /// return 60 s, 20 messages.
    fn default() -> Self {
        SpliceRules {
            invite: InvitePolicy::default(),
            max_courier_sessions: 3,
            queue_timeout: TimeDelta::minutes(2),
            courier_idle_timeout: TimeDelta::minutes(15),
            courier_return_timeout: TimeDelta::seconds(60),
            context_messages: 20,
        }
    }
}
