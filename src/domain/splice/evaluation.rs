//! A carrier's logistics evaluations: one entry per evaluated splice, and the summary served by
//! `GET /v1/carriers/{carrier}/evaluations`.
//!
//! Owns the entry's wire shape and the arithmetic. These evaluations are the buyer's verdict on
//! the courier's help and are kept apart from the shop's own rating; this module neither reads
//! nor writes either store.

use std::cmp::Reverse;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::state::Splice;
use crate::domain::order::Carrier;
use crate::protocol::ids::{InviteId, SessionId, ShopId, UserId};

/// One buyer's evaluation of one splice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EvaluationEntry {
    pub invite_id: InviteId,
    pub session_id: SessionId,
    pub shop: ShopId,
    pub courier: UserId,
    /// 1 to 5.
    #[schemars(range(min = 1, max = 5))]
    pub score: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub at: DateTime<Utc>,
}

/// A carrier's evaluations at a glance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EvaluationSummary {
    pub carrier: Carrier,
    pub count: u64,
    /// The mean score; `None` without evaluations.
    pub average: Option<f64>,
    /// How many evaluations gave 1, 2, 3, 4 and 5.
    pub by_score: [u64; 5],
    /// The latest entries, newest first.
    pub recent: Vec<EvaluationEntry>,
}

impl Splice {
    /// The splice's evaluation as an entry, once the buyer evaluated a courier.
    pub fn evaluation_entry(&self) -> Option<EvaluationEntry> {
        let evaluation = self.evaluation.as_ref()?;
        Some(EvaluationEntry {
            invite_id: self.invite_id,
            session_id: self.session_id,
            shop: self.shop.clone(),
            courier: self.courier.clone()?,
            score: evaluation.score,
            comment: evaluation.comment.clone(),
            at: evaluation.at,
        })
    }
}

/// Summarises `entries` (all of `carrier`'s), keeping the `recent` newest. Entries with a score
/// outside 1 to 5 are left out of everything.
pub fn summarize(
    carrier: Carrier,
    entries: &[EvaluationEntry],
    recent: usize,
) -> EvaluationSummary {
    let valid: Vec<&EvaluationEntry> = entries
        .iter()
        .filter(|e| (1..=5).contains(&e.score))
        .collect();
    let mut by_score = [0u64; 5];
    for entry in &valid {
        by_score[usize::from(entry.score - 1)] += 1;
    }
    let count = valid.len() as u64;
    let total: u64 = valid.iter().map(|entry| u64::from(entry.score)).sum();
    let average = (count > 0).then(|| total as f64 / count as f64);
    EvaluationSummary {
        carrier,
        count,
        average,
        by_score,
        recent: newest(valid, recent),
    }
}

/// The `limit` newest entries, newest first; ties go to the larger invite id (the later one).
fn newest(mut entries: Vec<&EvaluationEntry>, limit: usize) -> Vec<EvaluationEntry> {
    entries.sort_by_key(|entry| Reverse((entry.at, entry.invite_id)));
    entries.into_iter().take(limit).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::splice::transition_tests::{at, user};
    use uuid::Uuid;

    fn entry(number: u128, score: u8, time: &str) -> EvaluationEntry {
        EvaluationEntry {
            invite_id: InviteId(Uuid::from_u128(number)),
            session_id: SessionId(Uuid::from_u128(number)),
            shop: ShopId::new("s1").expect("valid id"),
            courier: user("c1"),
            score,
            comment: None,
            at: at(time),
        }
    }

    fn ids(summary: &EvaluationSummary) -> Vec<u128> {
        summary
            .recent
            .iter()
            .map(|e| e.invite_id.0.as_u128())
            .collect()
    }

    /// (name, entries, recent, count, average, by_score, ids of recent)
    type Row = (
        &'static str,
        Vec<EvaluationEntry>,
        usize,
        u64,
        Option<f64>,
        [u64; 5],
        Vec<u128>,
    );

    #[test]
    fn summarize_rows() {
        let t1 = "2026-11-22T04:00:00Z";
        let t2 = "2026-11-22T05:00:00Z";
        #[rustfmt::skip]
        let rows: Vec<Row> = vec![
            ("none", vec![], 5, 0, None, [0; 5], vec![]),
            ("one", vec![entry(1, 4, t1)], 5, 1, Some(4.0), [0, 0, 0, 1, 0], vec![1]),
            ("mean", vec![entry(1, 1, t1), entry(2, 5, t1), entry(3, 5, t2)], 5, 3, Some(11.0 / 3.0), [1, 0, 0, 0, 2], vec![3, 2, 1]),
            ("recent limit", vec![entry(1, 3, t2), entry(2, 3, t1)], 1, 2, Some(3.0), [0, 0, 2, 0, 0], vec![1]),
            ("recent zero", vec![entry(1, 3, t2)], 0, 1, Some(3.0), [0, 0, 1, 0, 0], vec![]),
            ("bad scores left out", vec![entry(1, 0, t1), entry(2, 6, t2), entry(3, 2, t1)], 5, 1, Some(2.0), [0, 1, 0, 0, 0], vec![3]),
        ];
        for (name, entries, recent, count, average, by_score, newest) in rows {
            let summary = summarize(Carrier::Zto, &entries, recent);
            assert_eq!(summary.carrier, Carrier::Zto, "{name}");
            assert_eq!(summary.count, count, "{name}");
            assert_eq!(summary.average, average, "{name}");
            assert_eq!(summary.by_score, by_score, "{name}");
            assert_eq!(ids(&summary), newest, "{name}");
        }
    }

    #[test]
    fn entry_wire_shape() {
        let json = serde_json::to_value(entry(1, 5, "2026-11-22T04:00:00Z")).expect("serialise");
        let keys: Vec<_> = json
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            ["at", "courier", "invite_id", "score", "session_id", "shop"]
        );
    }
}
