//! Messages a client sends to the hub.
//!
//! Every variant is a struct variant and rejects unknown fields, so a misspelt field is an error
//! rather than silently ignored. Identity never travels here: who sends is the token's business.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::intent::Intent;
use crate::domain::routing::{GroupId, Tag};
use crate::protocol::ids::{ClientMsgId, InviteId, OrderId, RequestId, SessionId, ShopId, UserId};

/// The most characters a text message may hold (the frame limit bounds it in bytes too).
pub const MAX_TEXT_CHARS: usize = 5000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// A buyer opens (or re-enters) a conversation with a shop, optionally from an order's page.
    Open {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        shop_id: ShopId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        order_id: Option<OrderId>,
        /// The item page the buyer came from, for routing by product.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        item_id: Option<Tag>,
        /// A topic the buyer picked on entry (e.g. `after_sale`), for routing by intent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<Tag>,
    },
    /// Sends a message into a session the sender is a member of.
    Send {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        session_id: SessionId,
        client_msg_id: ClientMsgId,
        body: ClientBody,
        /// Shop side: the sender marks this message as marketing.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        marketing: bool,
        /// Buyer side: an intent the buyer picked from a menu; counts as the buyer's intent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        intent: Option<Intent>,
    },
    /// Replays the session's messages after `after_seq`.
    Resume {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        session_id: SessionId,
        after_seq: u64,
    },
    /// Agents: online, suspended or offline. Couriers: available, busy or offline.
    Presence {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        status: PresenceStatus,
    },
    /// Leaves a session. A buyer leaving closes it; an agent leaving hands the buyer back to routing.
    Leave {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        session_id: SessionId,
    },
    /// The buyer answers a logistics invite card.
    AnswerInvite {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        invite_id: InviteId,
        accept: bool,
    },
    /// The buyer rates the courier's logistics service, once per invite.
    Evaluate {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        invite_id: InviteId,
        /// 1 to 5.
        #[schemars(range(min = 1, max = 5))]
        score: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(length(max = 500))]
        comment: Option<String>,
    },
    /// An agent hands the buyer to another agent or to a group (exactly one of the two).
    Transfer {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        session_id: SessionId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to_agent: Option<UserId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to_group: Option<GroupId>,
    },
    /// The buyer rates the shop's own service in a session, once; kept apart from logistics.
    RateShop {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        session_id: SessionId,
        #[schemars(range(min = 1, max = 5))]
        score: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(length(max = 500))]
        comment: Option<String>,
    },
}

/// Every `type` a client may send (a test keeps it in step with `ClientMessage::kind`).
pub const KINDS: &[&str] = &[
    "open",
    "send",
    "resume",
    "presence",
    "leave",
    "answer_invite",
    "evaluate",
    "transfer",
    "rate_shop",
];

impl ClientMessage {
    /// The `type` tag, for error replies and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientMessage::Open { .. } => "open",
            ClientMessage::Send { .. } => "send",
            ClientMessage::Resume { .. } => "resume",
            ClientMessage::Presence { .. } => "presence",
            ClientMessage::Leave { .. } => "leave",
            ClientMessage::AnswerInvite { .. } => "answer_invite",
            ClientMessage::Evaluate { .. } => "evaluate",
            ClientMessage::Transfer { .. } => "transfer",
            ClientMessage::RateShop { .. } => "rate_shop",
        }
    }

    pub fn request_id(&self) -> Option<&RequestId> {
        match self {
            ClientMessage::Open { request_id, .. }
            | ClientMessage::Send { request_id, .. }
            | ClientMessage::Resume { request_id, .. }
            | ClientMessage::Presence { request_id, .. }
            | ClientMessage::Leave { request_id, .. }
            | ClientMessage::AnswerInvite { request_id, .. }
            | ClientMessage::Evaluate { request_id, .. }
            | ClientMessage::Transfer { request_id, .. }
            | ClientMessage::RateShop { request_id, .. } => request_id.as_ref(),
        }
    }
}

/// What a client may put in a message. Platform cards (invites, evaluations) are the hub's alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientBody {
    Text {
        #[schemars(length(min = 1, max = 5000))]
        text: String,
    },
    /// Names an order; the hub checks it against the order feed before storing anything.
    OrderCard { order_id: OrderId },
}

/// Presence values. Which ones a role may use is checked by the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Online,
    Suspended,
    Available,
    Busy,
    Offline,
}

/// Why a client body is refused before it reaches the hub.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("text must not be empty")]
    EmptyText,
    #[error("text is longer than {MAX_TEXT_CHARS} characters")]
    TextTooLong,
}

impl ClientBody {
    pub fn validate(&self) -> Result<(), BodyError> {
        match self {
            ClientBody::Text { text } if text.trim().is_empty() => Err(BodyError::EmptyText),
            ClientBody::Text { text } if text.chars().count() > MAX_TEXT_CHARS => {
                Err(BodyError::TextTooLong)
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn one_of_each() -> Vec<Value> {
        let session = "0190b1a2-0000-7000-8000-000000000001";
        vec![
            json!({"type": "open", "shop_id": "s1", "order_id": "o1"}),
            json!({"type": "send", "session_id": session, "client_msg_id": "c1",
                   "body": {"kind": "text", "text": "hi"}}),
            json!({"type": "send", "session_id": session, "client_msg_id": "c2",
                   "body": {"kind": "order_card", "order_id": "o1"}}),
            json!({"type": "resume", "session_id": session, "after_seq": 3}),
            json!({"type": "presence", "status": "online"}),
            json!({"type": "leave", "session_id": session}),
            json!({"type": "answer_invite", "invite_id": session, "accept": true}),
            json!({"type": "evaluate", "invite_id": session, "score": 5, "comment": "快"}),
            json!({"type": "transfer", "session_id": session, "to_agent": "a2"}),
            json!({"type": "rate_shop", "session_id": session, "score": 4}),
        ]
    }

    #[test]
    fn every_variant_parses() {
        for value in one_of_each() {
            let parsed: Result<ClientMessage, _> = serde_json::from_value(value.clone());
            assert!(parsed.is_ok(), "{value}: {parsed:?}");
        }
    }

    #[test]
    fn kinds_list_every_variant() {
        let samples = one_of_each();
        for value in &samples {
            let parsed: ClientMessage = serde_json::from_value(value.clone()).expect("valid");
            assert!(KINDS.contains(&parsed.kind()), "{}", parsed.kind());
            assert_eq!(value["type"], parsed.kind());
        }
        let mut seen: Vec<&str> = samples.iter().filter_map(|v| v["type"].as_str()).collect();
        seen.dedup();
        assert_eq!(seen, KINDS, "one sample per kind, in order");
    }

    #[test]
    fn every_variant_rejects_unknown_fields() {
        for mut value in one_of_each() {
            value["surprise"] = json!(1);
            let parsed: Result<ClientMessage, _> = serde_json::from_value(value.clone());
            assert!(parsed.is_err(), "accepted {value}");
        }
    }

    #[test]
    fn bodies_reject_unknown_fields() {
        for body in [
            json!({"kind": "text", "text": "x", "extra": true}),
            json!({"kind": "order_card", "order_id": "o1", "status": "shipped"}),
        ] {
            assert!(serde_json::from_value::<ClientBody>(body).is_err());
        }
    }

    #[test]
    fn clients_cannot_send_platform_cards() {
        let body = json!({"kind": "invite", "invite_id": "x"});
        assert!(serde_json::from_value::<ClientBody>(body).is_err());
    }

    #[test]
    fn text_bounds() {
        let cases = [
            ("", Err(BodyError::EmptyText)),
            ("   ", Err(BodyError::EmptyText)),
            ("a", Ok(())),
        ];
        for (text, expected) in cases {
            let body = ClientBody::Text { text: text.into() };
            assert_eq!(body.validate(), expected, "{text:?}");
        }
        let long = ClientBody::Text {
            text: "字".repeat(MAX_TEXT_CHARS + 1),
        };
        assert_eq!(long.validate(), Err(BodyError::TextTooLong));
    }
}
