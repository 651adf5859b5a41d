//! Encoding server messages into frames, once per message however many receive it.

use crate::hub::registry::Frame;
use crate::hub::{HubError, Identity};
use crate::protocol::ids::{RequestId, SessionId};
use crate::protocol::{ErrorCode, Member, ServerMessage};
use crate::store::StoredMessage;

/// Encodes a server message. Our types always serialise; should one ever fail, the client
/// gets an `internal` error frame rather than nothing.
pub fn encode(message: &ServerMessage) -> Frame {
    match serde_json::to_string(message) {
        Ok(text) => Frame::from(text),
        Err(error) => {
            tracing::error!(%error, "server message did not serialise");
            Frame::from(r#"{"type":"error","code":"internal","message":"internal error"}"#)
        }
    }
}

pub fn welcome(identity: &Identity, sessions: Vec<SessionId>) -> Frame {
    encode(&ServerMessage::Welcome {
        user: identity.user.clone(),
        role: identity.role,
        sessions,
    })
}

pub fn message(session_id: SessionId, stored: &StoredMessage, prompt: Option<bool>) -> Frame {
    encode(&ServerMessage::Message {
        session_id,
        seq: stored.seq,
        msg_id: stored.msg_id,
        sender: stored.sender.clone(),
        body: stored.body.clone(),
        sent_at: stored.sent_at,
        prompt,
    })
}

/// A message frame showing `sender` as given (shop agents see a courier as the shop's
/// logistics sub-account).
pub fn message_as(
    session_id: SessionId,
    stored: &StoredMessage,
    sender: &Member,
    prompt: Option<bool>,
) -> Frame {
    encode(&ServerMessage::Message {
        session_id,
        seq: stored.seq,
        msg_id: stored.msg_id,
        sender: sender.clone(),
        body: stored.body.clone(),
        sent_at: stored.sent_at,
        prompt,
    })
}

pub fn ack(session_id: SessionId, request_id: Option<RequestId>, stored: &StoredMessage) -> Frame {
    let client_msg_id = stored.client_msg_id.clone();
    let Some(client_msg_id) = client_msg_id else {
        // Only client messages are acked, and those always carry their id.
        return encode(&ServerMessage::Error {
            request_id,
            request_type: Some("send".into()),
            code: ErrorCode::Internal,
            message: "internal error".into(),
        });
    };
    encode(&ServerMessage::Ack {
        request_id,
        session_id,
        client_msg_id,
        seq: stored.seq,
        msg_id: stored.msg_id,
    })
}

pub fn member_joined(session_id: SessionId, member: &Member) -> Frame {
    encode(&ServerMessage::MemberJoined {
        session_id,
        member: member.clone(),
    })
}

pub fn member_left(session_id: SessionId, member: &Member) -> Frame {
    encode(&ServerMessage::MemberLeft {
        session_id,
        member: member.clone(),
    })
}

pub fn error(request_id: Option<RequestId>, request_type: Option<&str>, error: &HubError) -> Frame {
    if !error.code().is_peer_fault() {
        tracing::warn!(%error, "request failed on our side");
    }
    encode(&ServerMessage::Error {
        request_id,
        request_type: request_type.map(str::to_string),
        code: error.code(),
        message: error.client_message(),
    })
}

pub fn peer_error(
    request_id: Option<RequestId>,
    request_type: Option<String>,
    code: ErrorCode,
    message: String,
) -> Frame {
    encode(&ServerMessage::Error {
        request_id,
        request_type,
        code,
        message,
    })
}
