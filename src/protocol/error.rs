//! Error codes carried by `error` frames and HTTP error bodies, and whose fault each is.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or not one of the known `type`s.
    MalformedFrame,
    /// JSON of a known `type` whose fields are missing, unknown or of the wrong type.
    InvalidMessage,
    /// Too many requests; nothing was stored.
    RateLimited,
    /// The session does not exist or the caller is not a member.
    SessionNotFound,
    /// The caller's role may not do this.
    Forbidden,
    /// The order card names an order the feed never gave.
    OrderNotFound,
    /// The order exists but belongs to another buyer or shop.
    OrderForbidden,
    /// The session is closed.
    SessionClosed,
    /// The shop side sent too many messages in a row without a buyer reply.
    ConsecutiveLimit,
    /// The shop side's marketing messages to this buyer are used up for today.
    MarketingLimited,
    InviteNotFound,
    InviteExpired,
    /// The request does not fit the current state (e.g. rating before the courier left).
    NotAllowed,
    /// Answered once already; the first answer stands.
    AlreadyAnswered,
    /// The state store is unreachable; nothing was stored. Try again.
    Unavailable,
    /// A fault of the hub's; it is logged.
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedFrame => "malformed_frame",
            ErrorCode::InvalidMessage => "invalid_message",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::SessionNotFound => "session_not_found",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::OrderNotFound => "order_not_found",
            ErrorCode::OrderForbidden => "order_forbidden",
            ErrorCode::SessionClosed => "session_closed",
            ErrorCode::ConsecutiveLimit => "consecutive_limit",
            ErrorCode::MarketingLimited => "marketing_limited",
            ErrorCode::InviteNotFound => "invite_not_found",
            ErrorCode::InviteExpired => "invite_expired",
            ErrorCode::NotAllowed => "not_allowed",
            ErrorCode::AlreadyAnswered => "already_answered",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// Whether the peer caused it (logged at debug) rather than the hub (logged at warn).
    pub fn is_peer_fault(self) -> bool {
        !matches!(self, ErrorCode::Unavailable | ErrorCode::Internal)
    }
}
