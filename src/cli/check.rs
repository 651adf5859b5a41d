//! `logistics-bridge check CASE.json`: decides one eligibility case and renders the decision.
//!
//! Owns turning a case file's text into the pretty JSON of its `Decision`. Reading the file,
//! printing, and exit codes are the caller's business (`main.rs`).

use crate::domain::eligibility::EligibilityRules;
use crate::domain::eligibility::case::{CaseError, decide_case, parse_case};
use crate::domain::intent::Classifier;

/// Parses `case_json`, decides it, and returns the decision as pretty JSON.
pub fn run(
    case_json: &str,
    rules: &EligibilityRules,
    classifier: &Classifier,
) -> Result<String, CaseError> {
    let case = parse_case(case_json)?;
    let decision = decide_case(&case, classifier, rules);
    serde_json::to_string_pretty(&decision).map_err(|error| CaseError::Output(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASE: &str = r#"{
        "now": "2026-11-22T04:00:00Z",
        "shop_id": "s1",
        "order": {
            "order_id": "o1", "buyer": "b1", "shop": "s1", "status": "shipped",
            "parcels": [{"carrier": "YTO", "waybill": "YT1"}],
            "updated_at": "2026-11-22T00:00:00Z"
        },
        "entry_order": {"order_id": "o1", "opened_at": "2026-11-22T03:00:00Z"},
        "shop": {"enrollment": "opted_in", "carriers": [{"carrier": "YTO", "sub_account": "yto-1"}]},
        "message": "物流显示已签收，但是我没收到"
    }"#;

    #[test]
    fn renders_the_decision_as_pretty_json() {
        let rendered =
            run(CASE, &EligibilityRules::default(), &Classifier::builtin()).expect("valid case");
        assert!(rendered.contains('\n'), "pretty printed");
        let json: serde_json::Value = serde_json::from_str(&rendered).expect("JSON");
        assert_eq!(json["eligible"], true);
        assert_eq!(json["intent"], "signed_not_received");
        assert_eq!(json["carrier"], "YTO");
        assert_eq!(json["order_id"], "o1");
        assert_eq!(json["checks"].as_array().map(Vec::len), Some(7));
    }

    #[test]
    fn bad_case_is_an_error_naming_the_field() {
        let bad = CASE.replace("\"YTO\", \"waybill\"", "\"SF\", \"waybill\"");
        let error = run(&bad, &EligibilityRules::default(), &Classifier::builtin())
            .err()
            .map(|error| error.to_string());
        let message = error.unwrap_or_default();
        assert!(
            message.starts_with("order.parcels[0].carrier: unknown variant `SF`"),
            "{message}"
        );
    }
}
