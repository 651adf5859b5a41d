//! The admin HTTP API: order facts in, state out. Every `/v1` route needs an admin token.
//!
//! Errors are JSON: `{"error": {"code": "...", "message": "..."}}`, and a body that does not
//! parse says which field is wrong.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::AppState;
use super::auth;
use crate::domain::order::{Order, OrderStatus, Parcel};
use crate::hub::HubError;
use crate::protocol::Role;
use crate::protocol::ids::{OrderId, ShopId, UserId};
use crate::store::{OrderWrite, StoreError};

/// An error answer of the admin API.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            let value = header::HeaderValue::from_static("Bearer");
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        tracing::warn!(%error, "admin request failed in the store");
        match error {
            StoreError::Unavailable(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "state store unavailable; nothing was stored",
            ),
            StoreError::Corrupt { .. } => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            ),
        }
    }
}

impl From<HubError> for ApiError {
    fn from(error: HubError) -> Self {
        match error {
            HubError::Store(error) => error.into(),
            HubError::NotMember => ApiError::not_found("no such session"),
            other => ApiError::bad_request(other.client_message()),
        }
    }
}

/// Proof that the caller holds an admin token.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorized =
            |message: String| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message);
        let token = auth::token_from(&parts.headers, None)
            .ok_or_else(|| unauthorized("missing bearer token".into()))?;
        let (identity, _) = state
            .auth
            .verify(&token)
            .map_err(|e| unauthorized(e.to_string()))?;
        if identity.role != Role::Admin {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "admin role required",
            ));
        }
        Ok(Admin)
    }
}

/// A JSON body whose rejection is one of our JSON errors, naming the field at fault.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let status = match rejection {
        JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, "invalid_request", rejection.body_text())
}

/// Parses a path segment into an id newtype, naming the parameter when it is not one.
pub fn path_id<T: std::str::FromStr>(name: &str, raw: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    raw.parse()
        .map_err(|error| ApiError::bad_request(format!("{name}: {error}")))
}

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    let text = state.hub.metrics().render();
    ([(header::CONTENT_TYPE, content_type)], text).into_response()
}

/// An order as the feed sends it; the id comes from the path.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderUpdate {
    pub buyer: UserId,
    pub shop: ShopId,
    pub status: OrderStatus,
    #[serde(default)]
    pub parcels: Vec<Parcel>,
    pub updated_at: DateTime<Utc>,
}

pub async fn put_order(
    _: Admin,
    State(state): State<AppState>,
    Path(order_id): Path<String>,
    Body(update): Body<OrderUpdate>,
) -> Result<Response, ApiError> {
    let order_id: OrderId = path_id("order_id", &order_id)?;
    let order = Order {
        order_id,
        buyer: update.buyer,
        shop: update.shop,
        status: update.status,
        parcels: update.parcels,
        updated_at: update.updated_at,
    };
    order
        .validate()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    match state.hub.store().put_order(&order).await? {
        OrderWrite::Applied => Ok(Json(order).into_response()),
        OrderWrite::Stale => Err(ApiError::new(
            StatusCode::CONFLICT,
            "stale_update",
            "the stored order has a later updated_at; this update was ignored",
        )),
    }
}

pub async fn get_order(
    _: Admin,
    State(state): State<AppState>,
    Path(order_id): Path<String>,
) -> Result<Json<Order>, ApiError> {
    let order_id: OrderId = path_id("order_id", &order_id)?;
    let order = state.hub.store().order(&order_id).await?;
    order
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no order {order_id}")))
}
