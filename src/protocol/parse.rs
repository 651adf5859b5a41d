//! Reading a client frame: serde's parser for `ClientMessage`, with a direct way for `send`.
//!
//! `ClientMessage` and `ClientBody` are internally tagged, so serde buffers every frame into an
//! intermediate tree before it knows the variant. A `send` frame whose `type` comes first (as
//! clients write it) is read straight into its fields instead. The direct way only ever
//! accepts what the general parser accepts, with the same result; anything it does not take,
//! valid or not, goes through the general parser, whose errors are the ones clients see.

use serde::Deserialize;

use super::client::{ClientBody, ClientMessage};
use crate::domain::intent::Intent;
use crate::protocol::ids::{ClientMsgId, OrderId, RequestId, SessionId};

/// Parses one client frame.
pub fn client_message(text: &str) -> Result<ClientMessage, serde_json::Error> {
    if text.starts_with(r#"{"type":"send","#)
        && let Ok(send) = serde_json::from_str::<SendFrame>(text)
        && let Some(message) = send.into_message()
    {
        return Ok(message);
    }
    serde_json::from_str(text)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendFrame {
    #[serde(rename = "type")]
    _kind: SendTag,
    #[serde(default)]
    request_id: Option<RequestId>,
    session_id: SessionId,
    client_msg_id: ClientMsgId,
    body: BodyFields,
    #[serde(default)]
    marketing: bool,
    #[serde(default)]
    intent: Option<Intent>,
}

#[derive(Deserialize)]
enum SendTag {
    #[serde(rename = "send")]
    Send,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum BodyKind {
    Text,
    OrderCard,
}

/// A body's fields, whichever its kind; `into_message` keeps only the combinations
/// `ClientBody` accepts.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BodyFields {
    kind: BodyKind,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    order_id: Option<OrderId>,
}

impl SendFrame {
    fn into_message(self) -> Option<ClientMessage> {
        let body = match (self.body.kind, self.body.text, self.body.order_id) {
            (BodyKind::Text, Some(text), None) => ClientBody::Text { text },
            (BodyKind::OrderCard, None, Some(order_id)) => ClientBody::OrderCard { order_id },
            _ => return None,
        };
        Some(ClientMessage::Send {
            request_id: self.request_id,
            session_id: self.session_id,
            client_msg_id: self.client_msg_id,
            body,
            marketing: self.marketing,
            intent: self.intent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every frame reads as the general parser reads it: same message, or an error for both.
    #[test]
    fn the_direct_way_agrees_with_the_general_parser() {
        let session = "0190b1a2-0000-7000-8000-000000000001";
        let frames = [
            format!(
                r#"{{"type":"send","session_id":"{session}","client_msg_id":"c1","body":{{"kind":"text","text":"hi"}}}}"#
            ),
            format!(
                r#"{{"type":"send","request_id":"r","session_id":"{session}","client_msg_id":"c1","body":{{"text":"hi","kind":"text"}},"marketing":true,"intent":"lost_parcel"}}"#
            ),
            format!(
                r#"{{"type":"send","session_id":"{session}","client_msg_id":"c2","body":{{"kind":"order_card","order_id":"o1"}}}}"#
            ),
            // Not taken by the direct way, or not valid at all.
            format!(
                r#"{{"type":"send","session_id":"{session}","client_msg_id":"c1","body":{{"kind":"text","text":"hi","order_id":"o1"}}}}"#
            ),
            format!(
                r#"{{"type":"send","session_id":"{session}","client_msg_id":"c1","body":{{"kind":"order_card","text":"hi"}}}}"#
            ),
            format!(
                r#"{{"type":"send","session_id":"{session}","client_msg_id":"c1","body":{{"kind":"text","text":"hi"}},"extra":1}}"#
            ),
            format!(
                r#"{{"type":"send","session_id":"{session}","client_msg_id":"c1","client_msg_id":"c2","body":{{"kind":"text","text":"hi"}}}}"#
            ),
            format!(
                r#"{{"type":"send","session_id":"{session}","client_msg_id":"bad id","body":{{"kind":"text","text":"hi"}}}}"#
            ),
            format!(
                r#"{{"type":"send","session_id":"{session}","client_msg_id":"c1","body":{{"kind":"voice","text":"hi"}}}}"#
            ),
            format!(
                r#"{{"type":"send","session_id":"{session}","body":{{"kind":"text","text":"hi"}}}}"#
            ),
            format!(
                r#"{{"session_id":"{session}","type":"send","client_msg_id":"c1","body":{{"kind":"text","text":"hi"}}}}"#
            ),
            r#"{"type":"send","#.to_string(),
            r#"{"type":"open","shop_id":"s1"}"#.to_string(),
        ];
        for frame in &frames {
            let general = serde_json::from_str::<ClientMessage>(frame);
            let direct = client_message(frame);
            match (general, direct) {
                (Ok(general), Ok(direct)) => assert_eq!(general, direct, "{frame}"),
                (Err(general), Err(direct)) => {
                    assert_eq!(general.to_string(), direct.to_string(), "{frame}")
                }
                (general, direct) => panic!("{frame}: {general:?} against {direct:?}"),
            }
        }
        for frame in &frames[..3] {
            let direct = serde_json::from_str::<SendFrame>(frame).expect("read directly");
            assert!(direct.into_message().is_some(), "{frame}");
        }
    }
}
