//! How events move a splice from state to state.
//!
//! This module owns the transition table, the buyer's answer and the evaluation rules. It does
//! not decide when the hub sends an event (timers, courier picking): that is the hub's, with
//! `SpliceRules` for the times.
//!
//! | from       | event                 | to        | recorded                   |
//! |------------|-----------------------|-----------|----------------------------|
//! | invited    | accept (the buyer)    | accepted  | accepted                   |
//! | invited    | decline (the buyer)   | declined  | declined                   |
//! | invited    | expire                | expired   | expired                    |
//! | accepted   | queue                 | queued    | queued                     |
//! | accepted   | join {c}              | joined    | joined (c)                 |
//! | accepted   | no_courier            | no_courier| no_courier                 |
//! | queued     | join {c}              | joined    | joined (c)                 |
//! | queued     | no_courier            | no_courier| no_courier                 |
//! | joined (c) | leave                 | left      | left (c)                   |
//! | joined (c) | courier_lost {c}      | queued    | courier_lost (c), queued   |
//! | left       | evaluate (the buyer)  | evaluated | evaluated                  |
//!
//! `declined`, `expired`, `no_courier` and `evaluated` are terminal. Anything else is
//! `NotAllowed`, except a repeat, which is `Unchanged` and changes nothing:
//! - a platform event whose transition the record already holds (`join {c}` only while `c` is
//!   still the splice's courier; `courier_lost {c}` once `c` was lost, so a late timer for a
//!   replaced courier is harmless);
//! - the buyer's answer equal to the first answer, whatever happened since;
//! - an evaluation equal to the stored one (score and comment).
//!
//! Decisions:
//! - The invite is open while `now < expires_at`. An answer at or after `expires_at` gets
//!   `Expired`, and a still-invited splice becomes `expired`, recorded at `expires_at`. An
//!   explicit `expire` is recorded at `min(now, expires_at)`: the hub may expire an invite early
//!   (say, when the session closes), never late.
//! - A different second answer gets `AlreadyAnswered` naming the first, which the hub replies
//!   with. Once expired, every answer gets `Expired`.
//! - A courier who disconnects stays `joined`; the hub sends `courier_lost` only once
//!   `courier_return_timeout` passes. The buyer then waits again from that moment (`queued_at`).
//! - `leave` covers the courier leaving (actor: the courier), the session closing and the idle
//!   timeout (actor: whoever closed it, or the platform); the actor tells them apart.
//! - The evaluation's `at` is set to `now`.

use chrono::{DateTime, Utc};

use super::Splice;
use super::state::{
    Actor, Applied, Evaluation, Event, SpliceError, SpliceState, Transition, TransitionName,
};
use crate::protocol::ids::UserId;

impl Splice {
    /// The buyer answers the invite card. An answer at or after `expires_at` to a still-invited
    /// splice records the expiry before returning `Expired`: store the splice either way.
    pub fn answer(
        &mut self,
        by: &UserId,
        accept: bool,
        now: DateTime<Utc>,
    ) -> Result<Applied, SpliceError> {
        if by != &self.buyer {
            return Err(SpliceError::NotTheBuyer);
        }
        match self.first_answer() {
            Some(first) if first == accept => Ok(Applied::Unchanged),
            Some(first) => Err(SpliceError::AlreadyAnswered { accepted: first }),
            None => self.answer_invite(accept, now),
        }
    }

    /// Applies any event. `accept`, `decline` and `evaluate` must come from the buyer.
    pub fn apply(
        &mut self,
        event: Event,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Applied, SpliceError> {
        match event {
            Event::Accept => self.answer(&buyer_of(&actor)?, true, now),
            Event::Decline => self.answer(&buyer_of(&actor)?, false, now),
            Event::Evaluate(evaluation) => self.evaluate(evaluation, &actor, now),
            other => self.step(other, actor, now),
        }
    }

    /// `Some(accepted)` once the buyer answered; `None` while invited or expired.
    fn first_answer(&self) -> Option<bool> {
        match self.state {
            SpliceState::Invited | SpliceState::Expired => None,
            SpliceState::Declined => Some(false),
            _ => Some(true),
        }
    }

    fn answer_invite(&mut self, accept: bool, now: DateTime<Utc>) -> Result<Applied, SpliceError> {
        if self.state == SpliceState::Expired {
            return Err(SpliceError::Expired);
        }
        if now >= self.expires_at {
            let expired =
                Transition::new(TransitionName::Expired, self.expires_at, Actor::Platform);
            self.push(expired.with_detail("answered after expiry"));
            self.state = SpliceState::Expired;
            return Err(SpliceError::Expired);
        }
        let (state, name) = match accept {
            true => (SpliceState::Accepted, TransitionName::Accepted),
            false => (SpliceState::Declined, TransitionName::Declined),
        };
        let buyer = Actor::Buyer {
            user: self.buyer.clone(),
        };
        self.push(Transition::new(name, now, buyer));
        self.state = state;
        Ok(Applied::Changed)
    }

    fn evaluate(
        &mut self,
        mut evaluation: Evaluation,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Applied, SpliceError> {
        if buyer_of(actor)? != self.buyer {
            return Err(SpliceError::NotTheBuyer);
        }
        evaluation.validate()?;
        match (self.state, &self.evaluation) {
            (SpliceState::Left, _) => {}
            (SpliceState::Evaluated, Some(first)) if first.is_same_answer(&evaluation) => {
                return Ok(Applied::Unchanged);
            }
            (SpliceState::Evaluated, _) => return Err(SpliceError::AlreadyEvaluated),
            (from, _) => return Err(not_allowed(from, "evaluate")),
        }
        evaluation.at = now;
        self.evaluation = Some(evaluation);
        self.push(Transition::new(
            TransitionName::Evaluated,
            now,
            actor.clone(),
        ));
        self.state = SpliceState::Evaluated;
        Ok(Applied::Changed)
    }

    /// The platform's (and courier's) events.
    fn step(
        &mut self,
        event: Event,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Applied, SpliceError> {
        if let Some(next) = self.next_state(&event) {
            self.enter(next, event, actor, now);
            return Ok(Applied::Changed);
        }
        if self.is_repeat(&event) {
            return Ok(Applied::Unchanged);
        }
        Err(not_allowed(self.state, event.name()))
    }

    /// The state `event` leads to from here, if the table allows it.
    fn next_state(&self, event: &Event) -> Option<SpliceState> {
        use SpliceState::*;
        match (self.state, event) {
            (Invited, Event::Expire) => Some(Expired),
            (Accepted, Event::Queue) => Some(Queued),
            (Accepted | Queued, Event::Join { .. }) => Some(Joined),
            (Accepted | Queued, Event::NoCourier) => Some(NoCourier),
            (Joined, Event::Leave) => Some(Left),
            (Joined, Event::CourierLost { courier }) if self.courier.as_ref() == Some(courier) => {
                Some(Queued)
            }
            _ => None,
        }
    }

    fn is_repeat(&self, event: &Event) -> bool {
        use TransitionName as T;
        match event {
            Event::Expire => self.has_transition(T::Expired, None),
            Event::Queue => self.has_transition(T::Queued, None),
            Event::Join { courier } => self.courier.as_ref() == Some(courier),
            Event::CourierLost { courier } => self.has_transition(T::CourierLost, Some(courier)),
            Event::NoCourier => self.has_transition(T::NoCourier, None),
            Event::Leave => self.has_transition(T::Left, None),
            Event::Accept | Event::Decline | Event::Evaluate(_) => false,
        }
    }

    fn enter(&mut self, next: SpliceState, event: Event, actor: Actor, now: DateTime<Utc>) {
        use TransitionName as T;
        match event {
            Event::Expire => {
                let at = now.min(self.expires_at);
                self.push(Transition::new(T::Expired, at, actor));
            }
            Event::Queue => {
                self.queued_at = Some(now);
                self.push(Transition::new(T::Queued, now, actor));
            }
            Event::Join { courier } => {
                self.courier = Some(courier);
                let joined = Transition::new(T::Joined, now, actor);
                self.push(joined.with_courier(self.courier.clone()));
            }
            Event::CourierLost { courier } => {
                let lost = Transition::new(T::CourierLost, now, actor.clone());
                self.push(lost.with_courier(Some(courier)));
                self.push(Transition::new(T::Queued, now, actor));
                self.courier = None;
                self.queued_at = Some(now);
            }
            Event::Leave => {
                let left = Transition::new(T::Left, now, actor);
                self.push(left.with_courier(self.courier.clone()));
            }
            Event::NoCourier => self.push(Transition::new(T::NoCourier, now, actor)),
            Event::Accept | Event::Decline | Event::Evaluate(_) => return,
        }
        self.state = next;
    }
}

/// The user behind a buyer actor; any other actor is not the buyer.
fn buyer_of(actor: &Actor) -> Result<UserId, SpliceError> {
    match actor {
        Actor::Buyer { user } => Ok(user.clone()),
        _ => Err(SpliceError::NotTheBuyer),
    }
}

fn not_allowed(from: SpliceState, event: &'static str) -> SpliceError {
    SpliceError::NotAllowed { from, event }
}
