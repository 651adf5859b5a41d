//! Admin routes of routing: a shop's groups, levels, robot and rules; what the shop knows of a
//! buyer; agents' conversion rates; and why a session went where it went.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::admin::{Admin, ApiError, Body, path_id};
use crate::domain::routing::{RoutingConfig, RoutingDecision};
use crate::protocol::ids::{SessionId, ShopId, UserId};
use crate::store::BuyerProfile;

pub async fn put_routing(
    _: Admin,
    State(state): State<AppState>,
    Path(shop_id): Path<String>,
    Body(config): Body<RoutingConfig>,
) -> Result<Json<RoutingConfig>, ApiError> {
    let shop_id: ShopId = path_id("shop_id", &shop_id)?;
    config
        .validate()
        .map_err(|e| ApiError::bad_request(format!("{}: {e}", e.field())))?;
    state.hub.store().put_routing(&shop_id, &config).await?;
    Ok(Json(config))
}

pub async fn get_routing(
    _: Admin,
    State(state): State<AppState>,
    Path(shop_id): Path<String>,
) -> Result<Json<RoutingConfig>, ApiError> {
    let shop_id: ShopId = path_id("shop_id", &shop_id)?;
    let config = state.hub.store().routing(&shop_id).await?;
    Ok(Json(config.unwrap_or_default()))
}

pub async fn put_buyer(
    _: Admin,
    State(state): State<AppState>,
    Path((shop_id, buyer)): Path<(String, String)>,
    Body(profile): Body<BuyerProfile>,
) -> Result<Json<BuyerProfile>, ApiError> {
    let shop_id: ShopId = path_id("shop_id", &shop_id)?;
    let buyer: UserId = path_id("buyer", &buyer)?;
    state
        .hub
        .store()
        .put_buyer_profile(&shop_id, &buyer, &profile)
        .await?;
    Ok(Json(profile))
}

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentStats {
    /// Share of the agent's conversations that became orders, 0.0 to 1.0.
    pub conversion_rate: f32,
}

pub async fn put_agent_stats(
    _: Admin,
    State(state): State<AppState>,
    Path((shop_id, agent)): Path<(String, String)>,
    Body(stats): Body<AgentStats>,
) -> Result<Json<AgentStats>, ApiError> {
    let shop_id: ShopId = path_id("shop_id", &shop_id)?;
    let agent: UserId = path_id("agent", &agent)?;
    if !(0.0..=1.0).contains(&stats.conversion_rate) {
        return Err(ApiError::bad_request("conversion_rate: must be 0.0 to 1.0"));
    }
    let store = state.hub.store();
    store
        .put_conversion_rate(&shop_id, &agent, stats.conversion_rate)
        .await?;
    Ok(Json(stats))
}

pub async fn session_routing(
    _: Admin,
    State(state): State<AppState>,
    Path(session_id): Path<String>,
) -> Result<Json<RoutingDecision>, ApiError> {
    let session_id: SessionId = path_id("session_id", &session_id)?;
    let decision = state.hub.store().routing_decision(session_id).await?;
    decision
        .map(Json)
        .ok_or_else(|| ApiError::not_found("this session was not routed yet"))
}
