//! The JSON of the frames every chat message costs (its delivery, its ack, and the agent's
//! waiting count when it moves), written by hand into one buffer.
//!
//! Why not serde: serde_json writes a struct's keys through its string escaper, and our ids and
//! times through `Serialize` impls that format into a buffer and escape again; at saturation
//! those two frames were a tenth of the hub's CPU. Here keys are literals, ids and times are
//! written straight, and only text that can need escaping (message text, client-chosen ids) goes
//! through serde_json's escaper. The bytes are the same as serde writes for
//! `ServerMessage::Message` and `ServerMessage::Ack`: the tests hold every body, role and option
//! equal. A body other than text or an order card (an invite, an evaluation request: a few per
//! session) is written by serde.

use uuid::Uuid;

use crate::protocol::Member;
use crate::protocol::digits;
use crate::protocol::ids::{ClientMsgId, RequestId, SessionId};
use crate::protocol::server::Body;
use crate::protocol::time;
use crate::store::StoredMessage;

/// Appends `ServerMessage::Message` of `stored`, showing `sender`.
pub(super) fn message(
    out: &mut Vec<u8>,
    session_id: SessionId,
    stored: &StoredMessage,
    sender: &Member,
    prompt: Option<bool>,
) -> serde_json::Result<()> {
    out.extend_from_slice(br#"{"type":"message","session_id":"#);
    uuid(out, session_id.0);
    out.extend_from_slice(br#","seq":"#);
    number(out, stored.seq);
    out.extend_from_slice(br#","msg_id":"#);
    uuid(out, stored.msg_id.0);
    out.extend_from_slice(br#","sender":{"user":"#);
    string(out, sender.user.as_str())?;
    out.extend_from_slice(br#","role":""#);
    out.extend_from_slice(sender.role.as_str().as_bytes());
    out.push(b'"');
    if let Some(carrier) = sender.carrier {
        out.extend_from_slice(br#","carrier":""#);
        out.extend_from_slice(carrier.code().as_bytes());
        out.push(b'"');
    }
    out.extend_from_slice(br#"},"body":"#);
    body(out, &stored.body)?;
    out.extend_from_slice(br#","sent_at":"#);
    time::write_json(&stored.sent_at, out);
    if let Some(prompt) = prompt {
        out.extend_from_slice(br#","prompt":"#);
        out.extend_from_slice(if prompt { b"true" } else { b"false" });
    }
    out.push(b'}');
    Ok(())
}

/// Appends `ServerMessage::Ack` of `stored`, stored under `client_msg_id`.
pub(super) fn ack(
    out: &mut Vec<u8>,
    session_id: SessionId,
    request_id: Option<&RequestId>,
    client_msg_id: &ClientMsgId,
    stored: &StoredMessage,
) -> serde_json::Result<()> {
    out.extend_from_slice(br#"{"type":"ack""#);
    if let Some(request_id) = request_id {
        out.extend_from_slice(br#","request_id":"#);
        string(out, request_id.as_str())?;
    }
    out.extend_from_slice(br#","session_id":"#);
    uuid(out, session_id.0);
    out.extend_from_slice(br#","client_msg_id":"#);
    string(out, client_msg_id.as_str())?;
    out.extend_from_slice(br#","seq":"#);
    number(out, stored.seq);
    out.extend_from_slice(br#","msg_id":"#);
    uuid(out, stored.msg_id.0);
    out.push(b'}');
    Ok(())
}

/// Appends `ServerMessage::Waiting`: an agent gets one whenever the count moves, which in a
/// busy chat is every other message.
pub(super) fn waiting(out: &mut Vec<u8>, buyers_waiting: u32) {
    out.extend_from_slice(br#"{"type":"waiting","buyers_waiting":"#);
    number(out, u64::from(buyers_waiting));
    out.push(b'}');
}

fn body(out: &mut Vec<u8>, body: &Body) -> serde_json::Result<()> {
    match body {
        Body::Text { text } => {
            out.extend_from_slice(br#"{"kind":"text","text":"#);
            string(out, text)?;
            out.push(b'}');
            Ok(())
        }
        Body::OrderCard { order_id } => {
            out.extend_from_slice(br#"{"kind":"order_card","order_id":"#);
            string(out, order_id.as_str())?;
            out.push(b'}');
            Ok(())
        }
        other => serde_json::to_writer(out, other),
    }
}

/// A JSON string. Ids are validated to characters JSON never escapes, but this does not rely
/// on it: anything with a quote, a backslash or a control character goes through serde_json.
fn string(out: &mut Vec<u8>, text: &str) -> serde_json::Result<()> {
    let plain = text
        .bytes()
        .all(|byte| byte >= 0x20 && byte != b'"' && byte != b'\\');
    if plain {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
        Ok(())
    } else {
        serde_json::to_writer(out, text)
    }
}

fn uuid(out: &mut Vec<u8>, id: Uuid) {
    let mut buffer = Uuid::encode_buffer();
    out.push(b'"');
    out.extend_from_slice(id.hyphenated().encode_lower(&mut buffer).as_bytes());
    out.push(b'"');
}

fn number(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(digits::decimal(value, &mut digits::Buffer::default()).as_bytes());
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::domain::intent::Intent;
    use crate::domain::order::Carrier;
    use crate::protocol::ServerMessage;
    use crate::protocol::ids::{InviteId, OrderId, UserId};
    use crate::protocol::server::SenderRole;

    fn stored(seq: u64, sender: Member, body: Body, sent_at: DateTime<Utc>) -> StoredMessage {
        StoredMessage {
            seq,
            sender,
            sent_at,
            prompt: None,
            ..StoredMessage::example(body)
        }
    }

    fn members() -> Vec<Member> {
        let roles = [
            SenderRole::Buyer,
            SenderRole::Agent,
            SenderRole::Courier,
            SenderRole::Platform,
            SenderRole::Robot,
        ];
        let mut members: Vec<Member> = roles
            .into_iter()
            .map(|role| Member {
                user: UserId::new("u-1.a:b_C").expect("valid id"),
                role,
                carrier: None,
            })
            .collect();
        members.extend(Carrier::ALL.into_iter().map(|carrier| Member {
            user: UserId::new(&"k".repeat(64)).expect("valid id"),
            role: SenderRole::Courier,
            carrier: Some(carrier),
        }));
        members
    }

    fn bodies() -> Vec<Body> {
        vec![
            Body::Text {
                text: String::new(),
            },
            Body::Text {
                text: "包裹还没到 \"quoted\" \\ back\n\t\u{1} \u{7f} 🚚 </script>".into(),
            },
            Body::OrderCard {
                order_id: OrderId::new("o-1").expect("valid id"),
            },
            Body::Invite {
                invite_id: InviteId::new(),
                order_id: OrderId::new("o-2").expect("valid id"),
                carrier: Carrier::Yunda,
                intent: Intent::LostParcel,
                expires_at: Utc::now(),
            },
            Body::LogisticsEvaluation {
                invite_id: InviteId::new(),
                carrier: Carrier::Zto,
            },
        ]
    }

    fn times() -> Vec<DateTime<Utc>> {
        let times = ["2026-11-22T04:00:00Z", "2026-11-22T04:00:00.5Z"];
        let mut times: Vec<DateTime<Utc>> =
            times.iter().map(|t| t.parse().expect("time")).collect();
        times.push(Utc::now());
        times.push(DateTime::<Utc>::MAX_UTC);
        times
    }

    #[test]
    fn roles_are_written_as_serde_writes_them() {
        for member in members() {
            let serde = serde_json::to_string(&member.role).expect("role");
            assert_eq!(serde, format!("\"{}\"", member.role.as_str()));
        }
    }

    #[test]
    fn message_frames_are_the_bytes_serde_writes() {
        let session_id = SessionId::new();
        let mut cases = 0;
        for (i, sender) in members().into_iter().enumerate() {
            for body in bodies() {
                for sent_at in times() {
                    for prompt in [None, Some(false), Some(true)] {
                        let seq = [0, 1, 9, 10, 4_294_967_296, u64::MAX][i % 6];
                        let stored = stored(seq, sender.clone(), body.clone(), sent_at);
                        let owned = serde_json::to_vec(&ServerMessage::Message {
                            session_id,
                            seq,
                            msg_id: stored.msg_id,
                            sender: sender.clone(),
                            body: body.clone(),
                            sent_at,
                            prompt,
                        })
                        .expect("serde");
                        let mut written = Vec::new();
                        message(&mut written, session_id, &stored, &sender, prompt)
                            .expect("written");
                        assert_eq!(
                            String::from_utf8(written).expect("utf-8"),
                            String::from_utf8(owned).expect("utf-8")
                        );
                        cases += 1;
                    }
                }
            }
        }
        assert_eq!(cases, 14 * 5 * 4 * 3);
    }

    #[test]
    fn ack_frames_are_the_bytes_serde_writes() {
        let session_id = SessionId::new();
        let member = members().remove(0);
        let client_ids = ["c-1", &"x".repeat(64), "a.b:c_d-e"];
        let request_ids = [None, Some("r-1"), Some("0")];
        for client_msg_id in client_ids {
            for request_id in request_ids {
                for seq in [1, 123_456_789_012] {
                    let client_msg_id = ClientMsgId::new(client_msg_id).expect("valid id");
                    let request_id = request_id.map(|id| RequestId::new(id).expect("valid id"));
                    let body = Body::Text { text: "hi".into() };
                    let stored = stored(seq, member.clone(), body, Utc::now());
                    let owned = serde_json::to_vec(&ServerMessage::Ack {
                        request_id: request_id.clone(),
                        session_id,
                        client_msg_id: client_msg_id.clone(),
                        seq,
                        msg_id: stored.msg_id,
                    })
                    .expect("serde");
                    let mut written = Vec::new();
                    ack(
                        &mut written,
                        session_id,
                        request_id.as_ref(),
                        &client_msg_id,
                        &stored,
                    )
                    .expect("written");
                    assert_eq!(written, owned);
                }
            }
        }
    }

    #[test]
    fn strings_that_need_escaping_are_escaped() {
        for text in [
            "plain", "", "a\"b", "a\\b", "\n", "\u{0}", "\u{1f}", " ", "é",
        ] {
            let mut written = Vec::new();
            string(&mut written, text).expect("written");
            assert_eq!(
                written,
                serde_json::to_vec(text).expect("serde"),
                "{text:?}"
            );
        }
    }
}
