//! Admin routes about shops and sessions: logistics settings, eligibility decisions and the
//! service report.

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::AppState;
use super::admin::{Admin, ApiError, Body, path_id};
use crate::domain::controls::report::{ReportRange, ServiceReport, service_report};
use crate::domain::eligibility::Decision;
use crate::domain::shop::ShopLogistics;
use crate::protocol::ids::{SessionId, ShopId};

/// Why shop settings are refused.
fn check_settings(settings: &ShopLogistics) -> Result<(), ApiError> {
    let mut carriers = std::collections::HashSet::new();
    let mut accounts = std::collections::HashSet::new();
    for (index, chosen) in settings.carriers.iter().enumerate() {
        if !carriers.insert(chosen.carrier) {
            return Err(ApiError::bad_request(format!(
                "carriers[{index}].carrier: {} is chosen twice",
                chosen.carrier
            )));
        }
        if !accounts.insert(&chosen.sub_account) {
            return Err(ApiError::bad_request(format!(
                "carriers[{index}].sub_account: {} serves another carrier already",
                chosen.sub_account
            )));
        }
    }
    Ok(())
}

pub async fn put_logistics(
    _: Admin,
    State(state): State<AppState>,
    Path(shop_id): Path<String>,
    Body(settings): Body<ShopLogistics>,
) -> Result<Json<ShopLogistics>, ApiError> {
    let shop_id: ShopId = path_id("shop_id", &shop_id)?;
    check_settings(&settings)?;
    let store = state.hub.store();
    let account = store.shop_account(&shop_id).await?;
    super::logistics::check_quota(&settings, account.as_ref())?;
    store.put_shop_logistics(&shop_id, &settings).await?;
    Ok(Json(settings))
}

pub async fn get_logistics(
    _: Admin,
    State(state): State<AppState>,
    Path(shop_id): Path<String>,
) -> Result<Json<ShopLogistics>, ApiError> {
    let shop_id: ShopId = path_id("shop_id", &shop_id)?;
    let settings = state.hub.store().shop_logistics(&shop_id).await?;
    Ok(Json(settings.unwrap_or_default()))
}

pub async fn get_eligibility(
    _: Admin,
    State(state): State<AppState>,
    Path(session_id): Path<String>,
) -> Result<Json<Decision>, ApiError> {
    let session_id: SessionId = path_id("session_id", &session_id)?;
    let decision = state.hub.store().decision(session_id).await?;
    decision
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no decision taken in this session yet"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

pub async fn service_report_route(
    _: Admin,
    State(state): State<AppState>,
    Path(shop_id): Path<String>,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ServiceReport>, ApiError> {
    let shop_id: ShopId = path_id("shop_id", &shop_id)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let range = ReportRange::new(query.from, query.to)
        .map_err(|e| ApiError::bad_request(format!("from, to: {e}")))?;
    let records = state.hub.store().service_records(&shop_id).await?;
    let window = state.config.controls.response_window;
    let now = state.hub.now();
    let report = service_report(
        &shop_id,
        range,
        &records.responses,
        &records.logistics,
        now,
        window,
    );
    Ok(Json(report))
}
