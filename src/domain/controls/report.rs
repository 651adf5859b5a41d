//! The service report: response figures per shop and per agent over a time range, as served by
//! `GET /v1/shops/{shop_id}/service-report?from=&to=`.
//!
//! This module owns the aggregation and the report's wire shape. It reads the records that
//! `assessment` emits; fetching them is the caller's job, and so is adding the live ledgers'
//! `pending_records`, each buyer message exactly once.
//!
//! - A buyer message belongs to the range when it was sent in `[from, to)`; a logistics session
//!   when its courier first joined in `[from, to)`.
//! - Each message is in time, late, or pending: answered within the window is in time; answered
//!   after it, or unanswered past it at `now`, is late; unanswered and still inside the window at
//!   `now` is pending, counted neither way. `counted` is in time plus late, and the response rate
//!   is in time over counted, `None` when nothing is counted.
//! - An assessed session is one with at least one assessed buyer message in the range. A session
//!   whose messages before the courier joined were assessed is both assessed and listed among
//!   the logistics sessions. Logistics sessions are listed for the shop, not per agent.
//! - A message counts for the agent whose reply answered it; unanswered ones for the shop only.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use super::assessment::{LogisticsRecord, ResponseRecord};
use crate::protocol::ids::{SessionId, ShopId, UserId};

/// The half-open range `[from, to)` a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportRange {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

/// Why a report cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("`from` ({from}) must be before `to` ({to})")]
    EmptyRange {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
}

impl ReportRange {
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Self, ReportError> {
        if from >= to {
            return Err(ReportError::EmptyRange { from, to });
        }
        Ok(Self { from, to })
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && at < self.to
    }
}

/// How one assessed buyer message stands at the report's `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    InTime,
    Late,
    Pending,
}

/// Classifies `record` at `now` with the response `window`.
pub fn outcome(record: &ResponseRecord, now: DateTime<Utc>, window: TimeDelta) -> Outcome {
    match &record.answer {
        Some(answer) if answer.in_time => Outcome::InTime,
        Some(_) => Outcome::Late,
        None if now - record.buyer_message_at <= window => Outcome::Pending,
        None => Outcome::Late,
    }
}

/// Response figures of a shop or one of its agents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct ResponseFigures {
    /// Sessions with at least one assessed buyer message in the range.
    pub assessed_sessions: u64,
    /// Buyer messages counted: in time plus late.
    pub counted: u64,
    pub in_time: u64,
    pub late: u64,
    /// Unanswered buyer messages still inside the response window; not counted.
    pub pending: u64,
    /// `in_time / counted`, from 0 to 1; `None` when nothing is counted.
    pub response_rate: Option<f64>,
}

/// One agent's figures.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AgentFigures {
    pub agent: UserId,
    #[serde(flatten)]
    pub figures: ResponseFigures,
}

/// The body of `GET /v1/shops/{shop_id}/service-report`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ServiceReport {
    pub shop: ShopId,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The response window the report was made with, in seconds.
    pub response_window_seconds: i64,
    /// The whole shop.
    pub totals: ResponseFigures,
    /// Each agent who answered a buyer message in the range, by agent id.
    pub agents: Vec<AgentFigures>,
    /// Sessions a courier joined in the range, left out of assessment while it was a member.
    pub logistics_sessions: Vec<SessionId>,
}

/// Builds `shop`'s report over `range` at `now`. Records of other shops are ignored.
pub fn service_report(
    shop: &ShopId,
    range: ReportRange,
    records: &[ResponseRecord],
    logistics: &[LogisticsRecord],
    now: DateTime<Utc>,
    window: TimeDelta,
) -> ServiceReport {
    let mut totals = Tally::default();
    let mut agents: BTreeMap<UserId, Tally> = BTreeMap::new();
    let in_report =
        |record: &&ResponseRecord| record.shop == *shop && range.contains(record.buyer_message_at);
    for record in records.iter().filter(in_report) {
        let outcome = outcome(record, now, window);
        totals.add(record.session, outcome);
        if let Some(answer) = &record.answer {
            agents
                .entry(answer.agent.clone())
                .or_default()
                .add(record.session, outcome);
        }
    }
    ServiceReport {
        shop: shop.clone(),
        from: range.from,
        to: range.to,
        response_window_seconds: window.num_seconds(),
        totals: totals.figures(),
        agents: agents.into_iter().map(agent_figures).collect(),
        logistics_sessions: logistics_sessions(shop, range, logistics),
    }
}

fn agent_figures((agent, tally): (UserId, Tally)) -> AgentFigures {
    AgentFigures {
        agent,
        figures: tally.figures(),
    }
}

fn logistics_sessions(
    shop: &ShopId,
    range: ReportRange,
    logistics: &[LogisticsRecord],
) -> Vec<SessionId> {
    let sessions: BTreeSet<SessionId> = logistics
        .iter()
        .filter(|mark| mark.shop == *shop && range.contains(mark.courier_joined_at))
        .map(|mark| mark.session)
        .collect();
    sessions.into_iter().collect()
}

/// Running counts for one shop or agent.
#[derive(Default)]
struct Tally {
    sessions: BTreeSet<SessionId>,
    in_time: u64,
    late: u64,
    pending: u64,
}

impl Tally {
    fn add(&mut self, session: SessionId, outcome: Outcome) {
        self.sessions.insert(session);
        match outcome {
            Outcome::InTime => self.in_time += 1,
            Outcome::Late => self.late += 1,
            Outcome::Pending => self.pending += 1,
        }
    }

    fn figures(&self) -> ResponseFigures {
        let counted = self.in_time + self.late;
        ResponseFigures {
            assessed_sessions: self.sessions.len() as u64,
            counted,
            in_time: self.in_time,
            late: self.late,
            pending: self.pending,
            response_rate: (counted > 0).then(|| self.in_time as f64 / counted as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::controls::assessment::{Answer, ResponseLedger};
    use crate::domain::controls::exemption::exemptions;

    const WINDOW: TimeDelta = TimeDelta::minutes(3);

    fn t(minutes: i64, seconds: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + TimeDelta::minutes(minutes) + TimeDelta::seconds(seconds)
    }

    fn id<T: std::str::FromStr>(value: &str) -> T {
        value.parse().ok().expect("valid id")
    }

    fn record(buyer_message_at: DateTime<Utc>, answer: Option<(&str, i64)>) -> ResponseRecord {
        ResponseRecord {
            shop: id("s1"),
            session: SessionId::new(),
            buyer_message_at,
            answer: answer.map(|(agent, delay)| Answer {
                agent: id(agent),
                at: buyer_message_at + TimeDelta::seconds(delay),
                in_time: delay <= WINDOW.num_seconds(),
            }),
        }
    }

    #[test]
    fn outcome_table() {
        let now = t(10, 0);
        // (buyer message, answer (agent, delay in seconds), outcome at `now`)
        let cases = [
            (t(0, 0), Some(("a1", 179)), Outcome::InTime),
            (t(0, 0), Some(("a1", 180)), Outcome::InTime),
            (t(0, 0), Some(("a1", 181)), Outcome::Late),
            (t(7, 0), None, Outcome::Pending),
            (t(6, 59), None, Outcome::Late),
            (t(9, 0), None, Outcome::Pending),
        ];
        for (at, answer, expected) in cases {
            assert_eq!(
                outcome(&record(at, answer), now, WINDOW),
                expected,
                "{at} {answer:?}"
            );
        }
    }

    #[test]
    fn range_is_half_open_and_must_not_be_empty() {
        let range = ReportRange::new(t(0, 0), t(60, 0)).expect("valid range");
        let cases = [
            (t(0, 0), true),
            (t(59, 59), true),
            (t(60, 0), false),
            (t(-1, 0), false),
        ];
        for (at, expected) in cases {
            assert_eq!(range.contains(at), expected, "{at}");
        }
        let empty = ReportRange::new(t(1, 0), t(1, 0));
        assert!(matches!(empty, Err(ReportError::EmptyRange { .. })));
    }

    /// Plays a shop's hour: ordinary, logistics and unanswered sessions, and one of another shop.
    fn hour_of_records() -> (Vec<ResponseRecord>, Vec<LogisticsRecord>, SessionId) {
        let (ordinary, none) = (exemptions(false), exemptions(true));
        let (a1, a2): (UserId, UserId) = (id("a1"), id("a2"));
        let mut records = Vec::new();
        let mut logistics = Vec::new();

        let mut session_a = ResponseLedger::new(id("s1"), SessionId::new());
        session_a.on_buyer_message(t(0, 0), &ordinary);
        records.extend(session_a.on_shop_reply(&a1, t(2, 0), WINDOW));
        session_a.on_buyer_message(t(10, 0), &ordinary);
        records.extend(session_a.on_shop_reply(&a1, t(14, 0), WINDOW));

        let session_b_id = SessionId::new();
        let mut session_b = ResponseLedger::new(id("s1"), session_b_id);
        session_b.on_buyer_message(t(20, 0), &ordinary);
        logistics.extend(session_b.on_membership(t(21, 0), &none));
        session_b.on_buyer_message(t(22, 0), &none);
        records.extend(session_b.on_shop_reply(&a2, t(22, 30), WINDOW));
        logistics.extend(session_b.on_membership(t(30, 0), &ordinary));
        session_b.on_buyer_message(t(31, 0), &ordinary);
        records.extend(session_b.on_shop_reply(&a2, t(33, 59), WINDOW));

        let mut session_c = ResponseLedger::new(id("s1"), SessionId::new());
        session_c.on_buyer_message(t(40, 0), &ordinary);
        records.extend(session_c.close());

        let mut session_d = ResponseLedger::new(id("s1"), SessionId::new());
        session_d.on_buyer_message(t(58, 0), &ordinary);
        session_d.on_buyer_message(t(60, 0), &ordinary);
        records.extend(session_d.pending_records());

        let mut before = ResponseLedger::new(id("s1"), SessionId::new());
        logistics.extend(before.on_membership(t(-5, 0), &none));
        let mut other_shop = ResponseLedger::new(id("s2"), SessionId::new());
        other_shop.on_buyer_message(t(5, 0), &ordinary);
        records.extend(other_shop.close());
        (records, logistics, session_b_id)
    }

    #[test]
    fn report_over_an_hour() {
        let (records, logistics, session_b) = hour_of_records();
        let range = ReportRange::new(t(0, 0), t(60, 0)).expect("valid range");
        let report = service_report(&id("s1"), range, &records, &logistics, t(60, 0), WINDOW);

        let totals = ResponseFigures {
            assessed_sessions: 4,
            counted: 5,
            in_time: 3,
            late: 2,
            pending: 1,
            response_rate: Some(0.6),
        };
        assert_eq!(report.totals, totals);
        let per_agent: Vec<_> = report
            .agents
            .iter()
            .map(|a| {
                (
                    a.agent.as_str(),
                    a.figures.counted,
                    a.figures.in_time,
                    a.figures.response_rate,
                )
            })
            .collect();
        assert_eq!(
            per_agent,
            vec![("a1", 2, 1, Some(0.5)), ("a2", 2, 2, Some(1.0))]
        );
        assert_eq!(report.logistics_sessions, vec![session_b]);
        assert_eq!(report.response_window_seconds, 180);
    }

    #[test]
    fn nothing_counted_has_no_rate() {
        let range = ReportRange::new(t(0, 0), t(60, 0)).expect("valid range");
        let pending = [record(t(59, 0), None)];
        let report = service_report(&id("s1"), range, &pending, &[], t(60, 0), WINDOW);
        assert_eq!(report.totals.response_rate, None);
        assert_eq!(
            (report.totals.pending, report.totals.assessed_sessions),
            (1, 1)
        );
        assert!(report.agents.is_empty());
    }

    #[test]
    fn report_json_shape() {
        let range = ReportRange::new(t(0, 0), t(60, 0)).expect("valid range");
        let records = [record(t(1, 0), Some(("a1", 30)))];
        let report = service_report(&id("s1"), range, &records, &[], t(60, 0), WINDOW);
        let json = serde_json::to_value(&report).expect("serialise");
        assert_eq!(json["agents"][0]["agent"], "a1");
        assert_eq!(json["agents"][0]["response_rate"], 1.0);
        assert_eq!(json["totals"]["counted"], 1);
        let schema = serde_json::to_value(schemars::schema_for!(ServiceReport)).expect("schema");
        assert!(schema["properties"]["logistics_sessions"].is_object());
    }
}
