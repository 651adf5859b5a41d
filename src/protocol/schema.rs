//! JSON Schemas of the wire messages, generated from the Rust types.
//!
//! Each message gets a file of its own: `client/<type>.json` for what clients send,
//! `server/<type>.json` for what the hub sends, plus the admin API bodies. A test regenerates
//! them in memory and fails when `schemas/` has drifted; `logistics-bridge schemas` rewrites it.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::{JsonSchema, Schema, schema_for};
use serde_json::Value;

use crate::protocol::{ClientMessage, ServerMessage};

/// Every schema file, by relative path, as pretty JSON with a trailing newline.
pub fn all() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    split_variants(&mut files, "client", schema_for!(ClientMessage));
    split_variants(&mut files, "server", schema_for!(ServerMessage));
    whole::<crate::transport::admin::OrderUpdate>(&mut files, "admin/order-update.json");
    whole::<crate::domain::shop::ShopLogistics>(&mut files, "admin/shop-logistics.json");
    whole::<crate::domain::eligibility::Decision>(&mut files, "admin/eligibility-decision.json");
    whole::<crate::domain::eligibility::case::Case>(&mut files, "cli/check-case.json");
    whole::<crate::domain::routing::RoutingConfig>(&mut files, "admin/routing-config.json");
    whole::<crate::domain::routing::RoutingDecision>(&mut files, "admin/routing-decision.json");
    whole::<crate::store::BuyerProfile>(&mut files, "admin/buyer-profile.json");
    whole::<crate::transport::routing::AgentStats>(&mut files, "admin/agent-stats.json");
    whole::<crate::store::ShopAccount>(&mut files, "admin/shop-account.json");
    files
}

fn whole<T: JsonSchema>(files: &mut BTreeMap<String, String>, path: &str) {
    files.insert(path.to_string(), pretty(&schema_for!(T).to_value()));
}

/// One file per `type` of a tagged enum: the variant's schema with the enum's `$defs`.
fn split_variants(files: &mut BTreeMap<String, String>, folder: &str, schema: Schema) {
    let root = schema.to_value();
    let defs = root.get("$defs").cloned();
    let variants = root
        .get("oneOf")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for variant in variants {
        let Some(kind) = variant
            .pointer("/properties/type/const")
            .and_then(Value::as_str)
        else {
            continue;
        };
        let mut file = serde_json::Map::new();
        file.insert(
            "$schema".into(),
            "https://json-schema.org/draft/2020-12/schema".into(),
        );
        file.insert("title".into(), format!("{folder}/{kind}").into());
        if let Value::Object(fields) = &variant {
            file.extend(fields.clone());
        }
        if let Some(defs) = &defs {
            file.insert("$defs".into(), defs.clone());
        }
        files.insert(
            format!("{folder}/{kind}.json"),
            pretty(&Value::Object(file)),
        );
    }
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes every schema under `folder`, replacing what is there; returns how many.
pub fn write_all(folder: &Path) -> std::io::Result<usize> {
    let files = all();
    for (relative, text) in &files {
        let path = folder.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)?;
    }
    Ok(files.len())
}
