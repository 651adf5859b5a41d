//! Table tests of the transition table in `transitions`, and the fixtures other splice tests use.

use chrono::{DateTime, TimeDelta, Utc};

use super::state::{
    Actor, Applied, Evaluation, Event, InviteFacts, Splice, SpliceError, SpliceState,
    TransitionName,
};
use crate::domain::intent::Intent;
use crate::domain::order::{Carrier, OrderStatus};
use crate::protocol::ids::{InviteId, OrderId, SessionId, ShopId, UserId};

const T0: &str = "2026-11-22T04:00:00Z";

pub(super) fn at(time: &str) -> DateTime<Utc> {
    time.parse().expect("valid time")
}

pub(super) fn user(id: &str) -> UserId {
    UserId::new(id).expect("valid id")
}

pub(super) fn buyer() -> Actor {
    Actor::Buyer { user: user("b1") }
}

/// A splice for buyer `b1` and `order`, invited at `now` for 10 minutes.
pub(super) fn invite(order: &str, now: DateTime<Utc>) -> Splice {
    let facts = InviteFacts {
        invite_id: InviteId::new(),
        session_id: SessionId::new(),
        shop: ShopId::new("s1").expect("valid id"),
        buyer: user("b1"),
        order_id: OrderId::new(order).expect("valid id"),
        carrier: Carrier::Zto,
        waybill: "ZT1234567890".into(),
        order_status: OrderStatus::Shipped,
        intent: Intent::LostParcel,
    };
    Splice::invite(facts, now, TimeDelta::minutes(10))
}

fn minutes(count: i64) -> DateTime<Utc> {
    at(T0) + TimeDelta::minutes(count)
}

fn join(courier: &str) -> Event {
    Event::Join {
        courier: user(courier),
    }
}

fn lost(courier: &str) -> Event {
    Event::CourierLost {
        courier: user(courier),
    }
}

fn evaluate(score: u8, comment: Option<&str>) -> Event {
    Event::Evaluate(Evaluation {
        score,
        comment: comment.map(str::to_string),
        at: minutes(0),
    })
}

/// The actor the hub would use for `event`.
fn actor_for(event: &Event) -> Actor {
    match event {
        Event::Accept | Event::Decline | Event::Evaluate(_) => buyer(),
        Event::Join { courier } => Actor::Courier {
            user: courier.clone(),
        },
        _ => Actor::Platform,
    }
}

/// Applies `events` one minute apart from T0+1min, each of which must succeed.
fn play(splice: &mut Splice, events: &[Event]) {
    for (index, event) in events.iter().enumerate() {
        let now = minutes(1 + index as i64);
        let applied = splice.apply(event.clone(), actor_for(event), now);
        assert_eq!(applied, Ok(Applied::Changed), "{event:?}");
    }
}

/// A splice taken to `state` along the shortest path (courier `c1` when one joins).
fn reach(state: SpliceState) -> Splice {
    use SpliceState::*;
    let path = match state {
        Invited => vec![],
        Accepted => vec![Event::Accept],
        Declined => vec![Event::Decline],
        Expired => vec![Event::Expire],
        Queued => vec![Event::Accept, Event::Queue],
        Joined => vec![Event::Accept, join("c1")],
        Left => vec![Event::Accept, join("c1"), Event::Leave],
        Evaluated => vec![Event::Accept, join("c1"), Event::Leave, evaluate(4, None)],
        NoCourier => vec![Event::Accept, Event::NoCourier],
    };
    let mut splice = invite("o1", at(T0));
    play(&mut splice, &path);
    splice
}

/// What one event does from one state.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    To(SpliceState),
    Same,
    Refused,
    Answered(bool),
    Expired,
}

#[test]
fn every_state_against_every_event() {
    use Outcome::*;
    use SpliceState as S;
    let no = Refused;
    let events = [
        Event::Accept,
        Event::Decline,
        Event::Expire,
        Event::Queue,
        join("c1"),
        lost("c1"),
        Event::NoCourier,
        Event::Leave,
        evaluate(4, None),
    ];
    #[rustfmt::skip]
    let rows: [(SpliceState, [Outcome; 9]); 9] = [
        //            accept              decline             expire        queue          join c1        lost c1        no_courier        leave        evaluate
        (S::Invited,   [To(S::Accepted),  To(S::Declined),    To(S::Expired), no,          no,            no,            no,               no,          no]),
        (S::Accepted,  [Same,             Answered(true),     no,           To(S::Queued), To(S::Joined), no,            To(S::NoCourier), no,          no]),
        (S::Declined,  [Answered(false),  Same,               no,           no,            no,            no,            no,               no,          no]),
        (S::Expired,   [Expired,          Expired,            Same,         no,            no,            no,            no,               no,          no]),
        (S::Queued,    [Same,             Answered(true),     no,           Same,          To(S::Joined), no,            To(S::NoCourier), no,          no]),
        (S::Joined,    [Same,             Answered(true),     no,           no,            Same,          To(S::Queued), no,               To(S::Left), no]),
        (S::Left,      [Same,             Answered(true),     no,           no,            Same,          no,            no,               Same,        To(S::Evaluated)]),
        (S::Evaluated, [Same,             Answered(true),     no,           no,            Same,          no,            no,               Same,        Same]),
        (S::NoCourier, [Same,             Answered(true),     no,           no,            no,            no,            Same,             no,          no]),
    ];
    for (from, outcomes) in rows {
        for (event, expected) in events.iter().zip(outcomes) {
            let mut splice = reach(from);
            let before = splice.clone();
            let result = splice.apply(event.clone(), actor_for(event), minutes(9));
            let outcome = match result {
                Ok(Applied::Changed) => To(splice.state),
                Ok(Applied::Unchanged) => Same,
                Err(SpliceError::NotAllowed { .. }) => Refused,
                Err(SpliceError::AlreadyAnswered { accepted }) => Answered(accepted),
                Err(SpliceError::Expired) => Expired,
                Err(other) => panic!("{from:?} + {event:?}: {other:?}"),
            };
            assert_eq!(outcome, expected, "{from:?} + {event:?}");
            if !matches!(outcome, To(_)) {
                assert_eq!(splice, before, "{from:?} + {event:?} changed the splice");
            }
        }
    }
}

#[test]
fn invite_records_eligible_then_invited() {
    let splice = invite("o1", at(T0));
    let names: Vec<_> = splice.transitions.iter().map(|t| t.state).collect();
    assert_eq!(names, [TransitionName::Eligible, TransitionName::Invited]);
    assert!(
        splice
            .transitions
            .iter()
            .all(|t| t.actor == Actor::Platform)
    );
    assert_eq!(splice.transitions[0].detail.as_deref(), Some("lost_parcel"));
    assert_eq!(splice.expires_at, minutes(10));
}

#[test]
fn only_the_buyer_answers() {
    let rows = [
        (Actor::Buyer { user: user("b2") }, Event::Accept),
        (Actor::Courier { user: user("b1") }, Event::Accept),
        (Actor::Platform, Event::Decline),
        (Actor::Courier { user: user("c1") }, Event::Decline),
    ];
    for (actor, event) in rows {
        let mut splice = reach(SpliceState::Invited);
        let result = splice.apply(event.clone(), actor.clone(), minutes(1));
        assert_eq!(result, Err(SpliceError::NotTheBuyer), "{actor:?} {event:?}");
        assert_eq!(splice.state, SpliceState::Invited);
    }
    let mut splice = reach(SpliceState::Invited);
    assert_eq!(
        splice.answer(&user("b2"), true, minutes(1)),
        Err(SpliceError::NotTheBuyer)
    );
}

/// (first answer, its minute, second answer and its minute, result of the last, state after)
type AnswerRow = (
    bool,
    i64,
    Option<(bool, i64)>,
    Result<Applied, SpliceError>,
    SpliceState,
);

#[test]
fn answers_around_expiry() {
    use SpliceState::*;
    #[rustfmt::skip]
    let rows: [AnswerRow; 7] = [
        (true, 9, None, Ok(Applied::Changed), Accepted),
        (false, 9, None, Ok(Applied::Changed), Declined),
        (true, 10, None, Err(SpliceError::Expired), Expired),
        (false, 11, None, Err(SpliceError::Expired), Expired),
        (true, 10, Some((true, 11)), Err(SpliceError::Expired), Expired),
        (true, 9, Some((true, 30)), Ok(Applied::Unchanged), Accepted),
        (false, 9, Some((true, 30)), Err(SpliceError::AlreadyAnswered { accepted: false }), Declined),
    ];
    for (first, first_minute, second, expected, state) in rows {
        let mut splice = reach(Invited);
        let mut result = splice.answer(&user("b1"), first, minutes(first_minute));
        if let Some((accept, minute)) = second {
            result = splice.answer(&user("b1"), accept, minutes(minute));
        }
        assert_eq!(
            (result, splice.state),
            (expected, state),
            "{first} at {first_minute}"
        );
    }
}

#[test]
fn lazy_and_explicit_expiry_are_recorded_at_expires_at_at_the_latest() {
    let rows = [
        (None, 10),
        (None, 25),
        (Some(Event::Expire), 25),
        (Some(Event::Expire), 4),
    ];
    for (event, minute) in rows {
        let mut splice = reach(SpliceState::Invited);
        let _ = match &event {
            Some(event) => splice.apply(event.clone(), Actor::Platform, minutes(minute)),
            None => splice.answer(&user("b1"), true, minutes(minute)),
        };
        let expired = splice.transitions.last().map(|t| (t.state, t.at));
        let recorded = minutes(minute.min(10));
        assert_eq!(
            expired,
            Some((TransitionName::Expired, recorded)),
            "{event:?} {minute}"
        );
        assert_eq!(splice.closed_at(minutes(60)), Some(recorded));
    }
}

#[test]
fn courier_lost_queues_the_buyer_for_another_courier() {
    let mut splice = reach(SpliceState::Joined);
    let steps = [
        (lost("c1"), Ok(Applied::Changed), SpliceState::Queued, None),
        (
            lost("c1"),
            Ok(Applied::Unchanged),
            SpliceState::Queued,
            None,
        ),
        (
            join("c2"),
            Ok(Applied::Changed),
            SpliceState::Joined,
            Some("c2"),
        ),
        (
            lost("c1"),
            Ok(Applied::Unchanged),
            SpliceState::Joined,
            Some("c2"),
        ),
        (join("c1"), Err("join"), SpliceState::Joined, Some("c2")),
        (
            lost("c3"),
            Err("courier_lost"),
            SpliceState::Joined,
            Some("c2"),
        ),
        (
            Event::Leave,
            Ok(Applied::Changed),
            SpliceState::Left,
            Some("c2"),
        ),
    ];
    for (minute, (event, expected, state, courier)) in (10..).zip(steps) {
        let result = splice.apply(event.clone(), Actor::Platform, minutes(minute));
        let result = result.map_err(|error| match error {
            SpliceError::NotAllowed { event, .. } => event,
            other => panic!("{other:?}"),
        });
        assert_eq!(result, expected, "{event:?}");
        assert_eq!(splice.state, state, "{event:?}");
        assert_eq!(
            splice.courier.as_ref().map(UserId::as_str),
            courier,
            "{event:?}"
        );
    }
    assert_eq!(splice.queued_at, Some(minutes(10)));
    let record: Vec<_> = splice.transitions.iter().map(|t| t.state).collect();
    use TransitionName::*;
    let expected = [
        Eligible,
        Invited,
        Accepted,
        Joined,
        CourierLost,
        Queued,
        Joined,
        Left,
    ];
    assert_eq!(record, expected);
    let lost_record = &splice.transitions[4];
    assert_eq!(lost_record.courier, Some(user("c1")));
    assert_eq!(splice.transitions[7].courier, Some(user("c2")));
}

#[test]
fn evaluation_is_given_once_by_the_buyer() {
    let long = "好".repeat(500);
    let too_long = "好".repeat(501);
    #[rustfmt::skip]
    let rows: Vec<(Actor, Event, Result<Applied, SpliceError>)> = vec![
        (buyer(), evaluate(0, None), Err(SpliceError::BadScore)),
        (buyer(), evaluate(6, None), Err(SpliceError::BadScore)),
        (buyer(), evaluate(3, Some(&too_long)), Err(SpliceError::CommentTooLong)),
        (Actor::Courier { user: user("c1") }, evaluate(5, None), Err(SpliceError::NotTheBuyer)),
        (Actor::Buyer { user: user("b2") }, evaluate(5, None), Err(SpliceError::NotTheBuyer)),
        (buyer(), evaluate(1, None), Ok(Applied::Changed)),
        (buyer(), evaluate(5, None), Ok(Applied::Changed)),
        (buyer(), evaluate(5, Some(&long)), Ok(Applied::Changed)),
    ];
    for (actor, event, expected) in rows {
        let mut splice = reach(SpliceState::Left);
        let result = splice.apply(event.clone(), actor.clone(), minutes(20));
        assert_eq!(result, expected, "{actor:?} {event:?}");
        let evaluated = splice.state == SpliceState::Evaluated;
        assert_eq!(evaluated, expected.is_ok(), "{actor:?} {event:?}");
    }
}

#[test]
fn second_evaluation() {
    let rows = [
        (evaluate(4, None), Ok(Applied::Unchanged)),
        (evaluate(4, Some("快")), Err(SpliceError::AlreadyEvaluated)),
        (evaluate(5, None), Err(SpliceError::AlreadyEvaluated)),
        (evaluate(9, None), Err(SpliceError::BadScore)),
    ];
    for (event, expected) in rows {
        let mut splice = reach(SpliceState::Evaluated);
        let result = splice.apply(event.clone(), buyer(), minutes(30));
        assert_eq!(result, expected, "{event:?}");
        let stored = splice.evaluation.as_ref().map(|e| (e.score, e.at));
        assert_eq!(stored, Some((4, minutes(4))), "{event:?}");
    }
}

#[test]
fn open_and_active_boundaries() {
    use SpliceState::*;
    let rows = [
        (Invited, 9, true, true),
        (Invited, 10, false, false),
        (Accepted, 30, false, true),
        (Queued, 30, false, true),
        (Joined, 30, false, true),
        (Left, 30, false, false),
        (Declined, 5, false, false),
        (NoCourier, 5, false, false),
    ];
    for (state, minute, is_open, is_active) in rows {
        let splice = reach(state);
        let now = minutes(minute);
        assert_eq!(splice.is_open_invite(now), is_open, "{state:?} {minute}");
        assert_eq!(splice.is_active(now), is_active, "{state:?} {minute}");
    }
}

#[test]
fn record_wire_shape() {
    let splice = reach(SpliceState::Joined);
    let json = serde_json::to_value(&splice.transitions[3]).expect("serialise");
    let expected = serde_json::json!({
        "state": "joined",
        "at": "2026-11-22T04:02:00Z",
        "actor": {"kind": "courier", "user": "c1"},
        "courier": "c1"
    });
    assert_eq!(json, expected);
    let back: Splice = serde_json::from_value(serde_json::to_value(&splice).expect("serialise"))
        .expect("deserialise");
    assert_eq!(back, splice);
}

#[test]
fn an_evaluated_splice_gives_an_evaluation_entry() {
    assert_eq!(reach(SpliceState::Left).evaluation_entry(), None);
    let splice = reach(SpliceState::Evaluated);
    let entry = splice.evaluation_entry().expect("evaluated");
    let summary = (entry.invite_id, entry.courier, entry.score, entry.at);
    assert_eq!(summary, (splice.invite_id, user("c1"), 4, minutes(4)));
}
