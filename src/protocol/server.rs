//! Messages the hub sends to clients, and the stored message body they carry.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::intent::Intent;
use crate::domain::order::Carrier;
use crate::protocol::ErrorCode;
use crate::protocol::ids::{
    ClientMsgId, InviteId, MessageId, OrderId, RequestId, SessionId, ShopId, UserId,
};

/// A token's role. Only the token says who a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Buyer,
    /// A shop's customer-service agent.
    Agent,
    /// A carrier's customer-service agent.
    Courier,
    /// An integration using the admin API.
    Admin,
}

/// Who a message comes from. `platform` is the hub itself speaking (invites, notices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SenderRole {
    Buyer,
    Agent,
    Courier,
    Platform,
    /// The shop's robot, answering from the shop's configured replies.
    Robot,
}

impl SenderRole {
    /// The wire form (`"buyer"`), for writers that do not go through serde.
    pub fn as_str(self) -> &'static str {
        match self {
            SenderRole::Buyer => "buyer",
            SenderRole::Agent => "agent",
            SenderRole::Courier => "courier",
            SenderRole::Platform => "platform",
            SenderRole::Robot => "robot",
        }
    }
}

/// A member of a session as clients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Member {
    pub user: UserId,
    pub role: SenderRole,
    /// For a courier: the carrier it works for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<Carrier>,
}

/// A stored message's body. Clients may send `text` and `order_card`; the rest are the platform's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Body {
    Text {
        text: String,
    },
    OrderCard {
        order_id: OrderId,
    },
    /// Sent by the platform to the buyer when a complaint qualifies.
    Invite {
        invite_id: InviteId,
        order_id: OrderId,
        carrier: Carrier,
        intent: Intent,
        expires_at: DateTime<Utc>,
    },
    /// Sent by the platform after a courier leaves: rate the logistics service 1 to 5.
    LogisticsEvaluation {
        invite_id: InviteId,
        carrier: Carrier,
    },
}

/// The state of a session as a member sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Open, but no shop agent has taken it yet; messages wait in the pool.
    WaitingForAgent,
    Open,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First frame on every connection: who the token says you are, and your open sessions.
    Welcome {
        user: UserId,
        role: Role,
        sessions: Vec<SessionId>,
    },
    /// A session you are a member of (after `open`, or when you are assigned to it).
    Session {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        session_id: SessionId,
        shop_id: ShopId,
        buyer: UserId,
        status: SessionStatus,
        members: Vec<Member>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entry_order_id: Option<OrderId>,
        /// The newest `seq` in the session; resume after your last seen one to catch up.
        last_seq: u64,
    },
    Message {
        session_id: SessionId,
        seq: u64,
        msg_id: MessageId,
        sender: Member,
        body: Body,
        sent_at: DateTime<Utc>,
        /// Shop side only: whether this buyer message should alert and count as waiting.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prompt: Option<bool>,
    },
    /// Your message is stored with this `seq`.
    Ack {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        session_id: SessionId,
        client_msg_id: ClientMsgId,
        seq: u64,
        msg_id: MessageId,
    },
    MemberJoined {
        session_id: SessionId,
        member: Member,
    },
    MemberLeft {
        session_id: SessionId,
        member: Member,
    },
    /// Ends a `resume`. With `recovered: false` history no longer covers `after_seq` and nothing
    /// was replayed; `oldest_seq` says where retained history starts.
    Resumed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        session_id: SessionId,
        after_seq: u64,
        recovered: bool,
        last_seq: u64,
        oldest_seq: u64,
    },
    /// Shop agents: how many buyers now wait for your reply.
    Waiting { buyers_waiting: u32 },
    /// Something the hub tells a member in plain words, with a machine code.
    Notice {
        session_id: SessionId,
        code: NoticeCode,
        text: String,
        /// For `courier_queued`: the buyer's place in the queue, 1 being next.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        position: Option<u32>,
    },
    /// The result of the buyer's answer to an invite (a repeated answer gets the first one's).
    InviteAnswer {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        invite_id: InviteId,
        accepted: bool,
    },
    /// Couriers only, on joining and again after each `resume` of the session: what the
    /// complaint is about and the session up to the join, with the buyer's phone numbers and
    /// street addresses masked.
    Context {
        session_id: SessionId,
        invite_id: InviteId,
        order_id: OrderId,
        carrier: Carrier,
        waybill: String,
        order_status: crate::domain::order::OrderStatus,
        intent: Intent,
        messages: Vec<ContextMessage>,
    },
    /// The buyer's logistics evaluation is stored.
    Evaluated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        invite_id: InviteId,
    },
    /// The buyer's rating of the shop is stored.
    ShopRated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        session_id: SessionId,
    },
    /// Answers a request that failed. Nothing was stored.
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        /// The `type` of the request this answers, when it could be read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_type: Option<String>,
        code: ErrorCode,
        message: String,
    },
}

/// One message of a courier's context card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContextMessage {
    pub seq: u64,
    pub sender: Member,
    /// The text, masked; order cards and platform cards are summarised.
    pub text: String,
    pub sent_at: DateTime<Utc>,
}

/// Machine codes for `notice` frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeCode {
    /// No agent of the shop is online; messages wait until one comes online.
    NoAgentOnline,
    /// An agent took the session.
    AgentAssigned,
    /// The buyer accepted the logistics invite; a courier is being found.
    InviteAccepted,
    InviteDeclined,
    /// No courier is free yet; `position` is the buyer's place in the queue.
    CourierQueued,
    /// No courier became free in time; the session goes on with the shop.
    NoCourierAvailable,
    /// The courier disconnected and did not come back; another one is being found.
    CourierLost,
    /// The courier left; the buyer can now rate the logistics service.
    CourierLeft,
}
