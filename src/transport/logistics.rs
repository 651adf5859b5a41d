//! Admin routes of the logistics splice: a session's splice record, a carrier's evaluations,
//! the shop's account facts (its sub-account quota) and the shop's own ratings.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;

use super::AppState;
use super::admin::{Admin, ApiError, Body, path_id};
use crate::domain::order::Carrier;
use crate::domain::shop::ShopLogistics;
use crate::domain::splice::{Actor, EvaluationSummary, Event, Splice, SpliceState, summarize};
use crate::protocol::ids::{SessionId, ShopId};
use crate::store::{ShopAccount, ShopRating};

/// How many recent evaluations the summary lists.
const RECENT_EVALUATIONS: usize = 20;

#[derive(Debug, Serialize)]
pub struct LogisticsRecord {
    pub session_id: SessionId,
    pub splices: Vec<Splice>,
}

/// A session's splices with every transition, time and actor. An invite whose time ran out
/// unanswered shows as expired.
pub async fn session_logistics(
    _: Admin,
    State(state): State<AppState>,
    Path(session_id): Path<String>,
) -> Result<Json<LogisticsRecord>, ApiError> {
    let session_id: SessionId = path_id("session_id", &session_id)?;
    let store = state.hub.store();
    if store.session(session_id).await?.is_none() {
        return Err(ApiError::not_found("no such session"));
    }
    let now = state.hub.now();
    let mut splices = store.splices_of(session_id).await?;
    for splice in &mut splices {
        if splice.state == SpliceState::Invited && now >= splice.expires_at {
            let _ = splice.apply(Event::Expire, Actor::Platform, now);
            store.put_splice(splice).await?;
        }
    }
    Ok(Json(LogisticsRecord {
        session_id,
        splices,
    }))
}

pub async fn carrier_evaluations(
    _: Admin,
    State(state): State<AppState>,
    Path(carrier): Path<String>,
) -> Result<Json<EvaluationSummary>, ApiError> {
    let carrier = Carrier::from_code(&carrier).ok_or_else(|| {
        ApiError::bad_request(format!("carrier: {carrier:?} is not a known code"))
    })?;
    let entries = state.hub.store().evaluations(carrier).await?;
    Ok(Json(summarize(carrier, &entries, RECENT_EVALUATIONS)))
}

pub async fn put_account(
    _: Admin,
    State(state): State<AppState>,
    Path(shop_id): Path<String>,
    Body(account): Body<ShopAccount>,
) -> Result<Json<ShopAccount>, ApiError> {
    let shop_id: ShopId = path_id("shop_id", &shop_id)?;
    let store = state.hub.store();
    let settings = store.shop_logistics(&shop_id).await?.unwrap_or_default();
    check_quota(&settings, Some(&account))?;
    store.put_shop_account(&shop_id, &account).await?;
    Ok(Json(account))
}

/// Each chosen carrier takes one logistics sub-account out of the shop's quota.
pub fn check_quota(
    settings: &ShopLogistics,
    account: Option<&ShopAccount>,
) -> Result<(), ApiError> {
    let Some(account) = account else {
        return Ok(());
    };
    let needed = settings.carriers.len() as u32;
    if account.sub_accounts_in_use.saturating_add(needed) > account.sub_account_quota {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "sub_account_quota_exceeded",
            format!(
                "carriers: {needed} logistics sub-account(s) plus {} in use exceed the shop's \
                 quota of {}",
                account.sub_accounts_in_use, account.sub_account_quota
            ),
        ));
    }
    Ok(())
}

pub async fn shop_ratings(
    _: Admin,
    State(state): State<AppState>,
    Path(shop_id): Path<String>,
) -> Result<Json<Vec<ShopRating>>, ApiError> {
    let shop_id: ShopId = path_id("shop_id", &shop_id)?;
    Ok(Json(state.hub.store().shop_ratings(&shop_id).await?))
}
