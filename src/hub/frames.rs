//! Encoding server messages into frames, once per message however many receive it.

use crate::hub::json;
use crate::hub::registry::Frame;
use crate::hub::{HubError, Identity};
use crate::protocol::ids::{RequestId, SessionId};
use crate::protocol::server::Body;
use crate::protocol::{ErrorCode, Member, ServerMessage};
use crate::store::StoredMessage;

/// Encodes a server message. Our types always serialise; should one ever fail, the client
/// gets an `internal` error frame rather than nothing.
pub fn encode(message: &ServerMessage) -> Frame {
    frame_of(serde_json::to_string(message).map_err(|error| error.to_string()))
}

/// The frame of an encoding, or the `internal` error frame when it failed.
fn frame_of(encoded: Result<String, String>) -> Frame {
    match encoded {
        Ok(text) => Frame::from(text),
        Err(error) => {
            tracing::error!(%error, "server message did not serialise");
            Frame::from(INTERNAL_ERROR)
        }
    }
}

const INTERNAL_ERROR: &str = r#"{"type":"error","code":"internal","message":"internal error"}"#;

pub fn welcome(identity: &Identity, sessions: Vec<SessionId>) -> Frame {
    encode(&ServerMessage::Welcome {
        user: identity.user.clone(),
        role: identity.role,
        sessions,
    })
}

pub fn message(session_id: SessionId, stored: &StoredMessage, prompt: Option<bool>) -> Frame {
    message_as(session_id, stored, &stored.sender, prompt)
}

/// A message frame showing `sender` as given (shop agents see a courier as the shop's
/// logistics sub-account).
pub fn message_as(
    session_id: SessionId,
    stored: &StoredMessage,
    sender: &Member,
    prompt: Option<bool>,
) -> Frame {
    let text_len = match &stored.body {
        Body::Text { text } => text.len(),
        _ => 0,
    };
    write_sized(MESSAGE_ROOM + text_len, |out| {
        json::message(out, session_id, stored, sender, prompt)
    })
}

/// A message frame's bytes beside its text (type, ids, sender, time, prompt): about 250 with
/// short user ids, and a user id may take 64. One buffer of the right size instead of
/// serde_json's 128 bytes grown twice: those regrowths were 2% of the hub's CPU in a profile at
/// saturation (and at 256 one regrowth was left for most frames). It costs a UTF-8 check to
/// turn the bytes into a frame (one pass).
const MESSAGE_ROOM: usize = 384;

/// Writes into a buffer of `capacity` bytes (it grows if that was too little).
fn write_sized(
    capacity: usize,
    write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
) -> Frame {
    let mut buffer = Vec::with_capacity(capacity);
    let encoded = match write(&mut buffer) {
        Ok(()) => String::from_utf8(buffer).map_err(|error| error.to_string()),
        Err(error) => Err(error.to_string()),
    };
    frame_of(encoded)
}

pub fn ack(session_id: SessionId, request_id: Option<RequestId>, stored: &StoredMessage) -> Frame {
    let Some(client_msg_id) = &stored.client_msg_id else {
        // Only client messages are acked, and those always carry their id.
        return encode(&ServerMessage::Error {
            request_id,
            request_type: Some("send".into()),
            code: ErrorCode::Internal,
            message: "internal error".into(),
        });
    };
    let ids_len =
        request_id.as_ref().map_or(0, |id| id.as_str().len()) + client_msg_id.as_str().len();
    write_sized(ACK_ROOM + ids_len, |out| {
        json::ack(out, session_id, request_id.as_ref(), client_msg_id, stored)
    })
}

/// An ack frame's bytes beside its two client-chosen ids: about 160.
const ACK_ROOM: usize = 192;

/// How many buyers wait for the agent's reply.
pub fn waiting(buyers_waiting: u32) -> Frame {
    write_sized(WAITING_ROOM, |out| {
        json::waiting(out, buyers_waiting);
        Ok(())
    })
}

/// The longest waiting frame: `{"type":"waiting","buyers_waiting":4294967295}`.
const WAITING_ROOM: usize = 46;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ids::UserId;

    #[test]
    fn the_ack_frame_encodes_as_the_protocol_type() {
        let session_id = SessionId::new();
        let stored = StoredMessage::example(Body::Text { text: "hi".into() });
        let client_msg_id = stored.client_msg_id.clone().expect("an id");
        for request_id in [None, Some(RequestId::new("r-1").expect("valid id"))] {
            let owned = encode(&ServerMessage::Ack {
                request_id: request_id.clone(),
                session_id,
                client_msg_id: client_msg_id.clone(),
                seq: stored.seq,
                msg_id: stored.msg_id,
            });
            let ids_len = client_msg_id.as_str().len()
                + request_id.as_ref().map_or(0, |id| id.as_str().len());
            let frame = ack(session_id, request_id, &stored);
            assert_eq!(frame, owned);
            assert!(frame.len() <= ACK_ROOM + ids_len, "{} bytes", frame.len());
        }
    }

    #[test]
    fn the_waiting_frame_encodes_as_the_protocol_type() {
        for buyers_waiting in [0, 1, 17, u32::MAX] {
            let frame = waiting(buyers_waiting);
            assert_eq!(frame, encode(&ServerMessage::Waiting { buyers_waiting }));
            assert!(frame.len() <= WAITING_ROOM, "{} bytes", frame.len());
        }
    }

    #[test]
    fn a_message_frame_fits_the_room_made_for_it() {
        let mut stored = StoredMessage::example(Body::Text {
            text: "x".repeat(64),
        });
        stored.sender.user = UserId::new(&"b".repeat(64)).expect("valid id");
        let frame = message(SessionId::new(), &stored, Some(true));
        assert!(
            frame.len() - 64 <= MESSAGE_ROOM,
            "{} bytes beside the text",
            frame.len() - 64
        );
    }

    #[test]
    fn the_message_frame_encodes_as_the_protocol_type() {
        let session_id = SessionId::new();
        let bodies = [
            Body::Text {
                text: "包裹还没到 \"quoted\" \n".into(),
            },
            Body::OrderCard {
                order_id: crate::protocol::ids::OrderId::new("o-1").expect("valid id"),
            },
        ];
        for body in bodies {
            let stored = StoredMessage::example(body);
            for prompt in [None, Some(false), Some(true)] {
                let owned = encode(&ServerMessage::Message {
                    session_id,
                    seq: stored.seq,
                    msg_id: stored.msg_id,
                    sender: stored.sender.clone(),
                    body: stored.body.clone(),
                    sent_at: stored.sent_at,
                    prompt,
                });
                assert_eq!(message(session_id, &stored, prompt), owned);
            }
        }
    }
}
