//! A self-contained eligibility case, as `logistics-bridge check CASE.json` reads it.
//!
//! Owns the case file's JSON shape, its parsing with errors that name the field path, and turning
//! a case into a `Decision` (classifying the message unless the buyer picked an intent from the
//! menu). It does not read files or print (see `cli::check`).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Deserialize;

use super::{Decision, EligibilityInput, EligibilityRules, MentionSource, OrderMention, decide};
use crate::domain::intent::{Classifier, Intent};
use crate::domain::order::{Order, OrderError};
use crate::domain::shop::ShopLogistics;
use crate::protocol::ids::{OrderId, ShopId};

/// One case: the facts `decide` needs, plus the buyer's message.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub now: DateTime<Utc>,
    pub shop_id: ShopId,
    /// The facts of the order the session is about, if known.
    pub order: Option<Order>,
    #[serde(default)]
    pub order_cards: Vec<CaseCard>,
    pub entry_order: Option<CaseEntry>,
    /// The shop's logistics settings; absent means no settings (`ShopLogistics::default()`).
    #[serde(default)]
    pub shop: ShopLogistics,
    pub message: String,
    /// The intent the buyer picked from the menu; it overrides classifying `message`.
    pub intent: Option<Intent>,
}

/// An order card the buyer sent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseCard {
    pub order_id: OrderId,
    pub sent_at: DateTime<Utc>,
}

/// The order page the session was opened (or last re-entered) from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseEntry {
    pub order_id: OrderId,
    pub opened_at: DateTime<Utc>,
}

/// The path serde_path_to_error gives the whole document.
const TOP_LEVEL: &str = ".";

/// Why a case file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    /// Bad JSON or a bad value; `path` is the field path (`order.parcels[0].carrier`), `.` for
    /// the whole document (a missing top-level field, trailing characters).
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    /// The order is well typed but breaks a rule serde cannot express.
    #[error("order.{0}")]
    BadOrder(#[from] OrderError),
    #[error("could not serialise the decision: {0}")]
    Output(String),
}

impl Case {
    /// The case's order cards and entry order as mentions.
    pub fn mentions(&self) -> Vec<OrderMention> {
        let cards = self.order_cards.iter().map(|card| OrderMention {
            order_id: card.order_id.clone(),
            at: card.sent_at,
            source: MentionSource::OrderCard,
        });
        let entry = self.entry_order.iter().map(|entry| OrderMention {
            order_id: entry.order_id.clone(),
            at: entry.opened_at,
            source: MentionSource::EntryPage,
        });
        cards.chain(entry).collect()
    }
}

/// Parses a case file. Errors name the field path and the problem.
pub fn parse_case(json: &str) -> Result<Case, CaseError> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let case: Case = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        CaseError::Invalid {
            path: error.path().to_string(),
            message: error.inner().to_string(),
        }
    })?;
    deserializer.end().map_err(|error| CaseError::Invalid {
        path: TOP_LEVEL.to_string(),
        message: error.to_string(),
    })?;
    if let Some(order) = &case.order {
        order.validate()?;
    }
    Ok(case)
}

/// Decides a case. The intent is the menu choice if any, else the classification of `message`.
pub fn decide_case(case: &Case, classifier: &Classifier, rules: &EligibilityRules) -> Decision {
    let intent = case
        .intent
        .or_else(|| classifier.classify(&case.message).intent);
    let mentions = case.mentions();
    let input = EligibilityInput {
        shop_id: &case.shop_id,
        mentions: &mentions,
        order: case.order.as_ref(),
        shop: &case.shop,
        intent,
    };
    decide(&input, rules, case.now)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::eligibility::CheckName;

    fn valid_case() -> serde_json::Value {
        json!({
            "now": "2026-11-22T04:00:00Z",
            "shop_id": "s1",
            "order": {
                "order_id": "o1", "buyer": "b1", "shop": "s1", "status": "shipped",
                "parcels": [{"carrier": "ZTO", "waybill": "ZT1"}],
                "updated_at": "2026-11-22T00:00:00Z"
            },
            "order_cards": [{"order_id": "o1", "sent_at": "2026-11-22T03:00:00Z"}],
            "shop": {"enrollment": "opted_in", "carriers": [{"carrier": "ZTO", "sub_account": "zto-1"}]},
            "message": "我的快递丢了"
        })
    }

    fn decide_json(case: &serde_json::Value) -> Decision {
        let case = parse_case(&case.to_string()).expect("valid case");
        decide_case(&case, &Classifier::builtin(), &EligibilityRules::default())
    }

    #[test]
    fn valid_case_is_eligible_with_classified_intent() {
        let decision = decide_json(&valid_case());
        assert!(decision.eligible, "{decision:#?}");
        assert_eq!(decision.intent, Some(Intent::LostParcel));
    }

    #[test]
    fn menu_intent_overrides_classification() {
        let mut case = valid_case();
        case["message"] = json!("你好");
        case["intent"] = json!("damaged_in_transit");
        assert_eq!(decide_json(&case).intent, Some(Intent::DamagedInTransit));
        case.as_object_mut().expect("object").remove("intent");
        let decision = decide_json(&case);
        let check = decision.check(CheckName::Intent).expect("reported");
        assert!(!check.passed);
    }

    #[test]
    fn entry_order_and_missing_shop_settings() {
        let mut case = valid_case();
        let object = case.as_object_mut().expect("object");
        object.remove("order_cards");
        object.remove("shop");
        object.insert(
            "entry_order".into(),
            json!({"order_id": "o1", "opened_at": "2026-11-01T00:00:00Z"}),
        );
        let decision = decide_json(&case);
        assert_eq!(
            decision.check(CheckName::ExplicitOrder).map(|c| c.passed),
            Some(true)
        );
        let shop = decision.check(CheckName::ShopService).expect("reported");
        assert!(
            !shop.passed,
            "no settings means no chosen carrier: {}",
            shop.reason
        );
    }

    #[test]
    fn bad_case_files_name_the_field() {
        let edit = |change: fn(&mut serde_json::Value)| {
            let mut case = valid_case();
            change(&mut case);
            case.to_string()
        };
        let cases: Vec<(String, &str)> = vec![
            (
                edit(|c| c["now"] = json!(12)),
                "now: invalid type: integer `12`",
            ),
            (
                edit(|c| c["now"] = json!("yesterday")),
                "now: input contains invalid characters",
            ),
            (
                edit(|c| c["order"]["parcels"][0]["carrier"] = json!("SF")),
                "order.parcels[0].carrier: unknown variant `SF`, expected one of `ZTO`",
            ),
            (
                edit(|c| c["colour"] = json!("red")),
                "unknown field `colour`",
            ),
            (
                edit(|c| c["order_cards"][0]["sent"] = json!("x")),
                "order_cards[0].sent: unknown field `sent`",
            ),
            (
                edit(|c| {
                    c.as_object_mut().map(|object| object.remove("message"));
                }),
                "missing field `message`",
            ),
            (
                edit(|c| c["shop_id"] = json!("a b")),
                "shop_id: id has a character other than",
            ),
            (
                edit(|c| c["intent"] = json!("lost")),
                "intent: unknown variant `lost`",
            ),
            (
                edit(|c| c["order"]["parcels"][0]["waybill"] = json!("")),
                "order.parcels[0].waybill must be 1 to 40 characters",
            ),
            ("{\"now\": ".to_string(), "EOF while parsing"),
            (format!("{} trailing", valid_case()), "trailing characters"),
        ];
        for (json, expected) in cases {
            let error = parse_case(&json).err().map(|error| error.to_string());
            assert!(
                error
                    .as_deref()
                    .is_some_and(|message| message.contains(expected)),
                "expected {expected:?}, got {error:?}"
            );
        }
    }
}
