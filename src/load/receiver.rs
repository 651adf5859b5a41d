//! The receiving half of a load connection: acks, other members' messages, latency.
//!
//! Against the hub a frame is read with a small borrowed parser that picks out the few fields
//! needed (the typed `ServerMessage` would parse ids and times the generator never looks at);
//! against the relay the frame is the payload. Each receiver keeps a bit per sequence number
//! received from each other member, and per own message acknowledged, so its session can tell
//! at the end which acknowledged messages never arrived.

use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::SplitStream;
use serde::Deserialize;
use tokio_tungstenite::tungstenite::Message;

use super::connect::Socket;
use super::driver::{Framing, Shared};
use super::payload::{self, Member, Stamp};
use super::stats::Tally;

/// What one member's receiver saw.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    pub(super) member: Member,
    /// Own sequence numbers the hub acknowledged.
    pub(super) acked: Bits,
    /// Per sending member, the sequence numbers received from it.
    pub(super) received: [Bits; 3],
}

impl Default for Seen {
    fn default() -> Self {
        Seen {
            member: Member::Buyer,
            acked: Bits::default(),
            received: Default::default(),
        }
    }
}

pub(super) struct Reader {
    pub(super) framing: Framing,
    pub(super) member: Member,
    /// Which latency shard this receiver records into.
    pub(super) shard: usize,
    /// Other members of the session: deliveries owed per acknowledged message.
    pub(super) fanout: u64,
    pub(super) seen: Seen,
    pub(super) shared: Arc<Shared>,
}

/// The few fields of a hub frame the receiver needs; everything else is skipped.
#[derive(Debug, PartialEq, Deserialize)]
struct HubFrame<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(default, borrow)]
    session_id: Option<&'a str>,
    #[serde(default, borrow)]
    client_msg_id: Option<&'a str>,
    #[serde(default, borrow)]
    body: Option<HubBody<'a>>,
    #[serde(default, borrow)]
    code: Option<&'a str>,
}

#[derive(Debug, PartialEq, Deserialize)]
struct HubBody<'a> {
    #[serde(default, borrow)]
    text: Option<&'a str>,
}

/// Reads a hub frame: the two the hub sends per message by their fixed prefixes, anything else
/// with serde.
fn read_hub_frame(text: &str) -> serde_json::Result<HubFrame<'_>> {
    match quick_frame(text) {
        Some(frame) => Ok(frame),
        None => serde_json::from_str(text),
    }
}

/// An ack or a text message as the hub writes them (`hub::json`), read without a JSON parser:
/// against the hub the generator gets two frames per message, and serde skipping the fields it
/// does not need was a quarter of the generator's CPU, which it takes from the hub on a shared
/// machine. Takes only what it is sure of: `None` sends the frame to serde, so a frame of
/// another shape (a request id, an order card, an escaped character) still reads the same.
/// It does not check that the rest of the frame is valid JSON, as serde would: the generator
/// measures the hub, and the hub's frames are held to serde's bytes by `hub::json`'s tests.
fn quick_frame(text: &str) -> Option<HubFrame<'_>> {
    /// After a message's session id, sender and ids: its text body. No key or value before it
    /// can hold an unescaped quote, so the first match is the body.
    const TEXT_BODY: &str = r#","body":{"kind":"text","text":""#;
    let (kind, rest) = if let Some(rest) = text.strip_prefix(r#"{"type":"ack","session_id":""#) {
        ("ack", rest)
    } else {
        let rest = text.strip_prefix(r#"{"type":"message","session_id":""#)?;
        ("message", rest)
    };
    let (session_id, rest) = rest.split_at_checked(36)?;
    if session_id.contains('"') {
        return None;
    }
    let mut frame = HubFrame {
        kind,
        session_id: Some(session_id),
        client_msg_id: None,
        body: None,
        code: None,
    };
    if kind == "ack" {
        let rest = rest.strip_prefix(r#"","client_msg_id":""#)?;
        frame.client_msg_id = Some(plain_string(rest)?);
    } else {
        let at = rest.find(TEXT_BODY)?;
        let text = plain_string(&rest[at + TEXT_BODY.len()..])?;
        frame.body = Some(HubBody { text: Some(text) });
    }
    Some(frame)
}

/// The string that starts `rest` (after its opening quote), when it holds no escape.
fn plain_string(rest: &str) -> Option<&str> {
    let end = rest.find(['"', '\\'])?;
    (rest.as_bytes()[end] == b'"').then(|| &rest[..end])
}

impl Reader {
    pub(super) async fn run(mut self, mut stream: SplitStream<Socket>) -> Seen {
        self.seen.member = self.member;
        let stop = self.shared.stop.clone();
        loop {
            let next = tokio::select! {
                biased;
                () = stop.cancelled() => break,
                next = stream.next() => next,
            };
            match next {
                Some(Ok(Message::Text(text))) => self.on_text(&text),
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.map_or(1005, |f| u16::from(f.code));
                    self.shared.tally.error(format!("close:{code}"));
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    self.shared.tally.error(format!("read: {error}"));
                    break;
                }
                None => {
                    self.shared.tally.error("closed by the server");
                    break;
                }
            }
        }
        self.seen
    }

    fn on_text(&mut self, text: &str) {
        let tally = &self.shared.tally;
        match &self.framing {
            Framing::Relay => match payload::parse(text) {
                Some(parsed) => self.on_payload(parsed),
                None => tally.other("relay text"),
            },
            Framing::Hub { .. } => match read_hub_frame(text) {
                Ok(frame) => self.on_hub_frame(&frame),
                Err(_) => tally.error("unparsable frame"),
            },
        }
    }

    fn on_hub_frame(&mut self, frame: &HubFrame) {
        let tally = &self.shared.tally;
        if let (Some(id), Framing::Hub { session_id }) = (frame.session_id, &self.framing)
            && id != session_id
            && matches!(frame.kind, "message" | "ack")
        {
            // A courier the hub gave a second session: not this load session's traffic.
            return tally.other("foreign session");
        }
        match frame.kind {
            "message" => {
                let text = frame.body.as_ref().and_then(|b| b.text);
                match text.and_then(payload::parse) {
                    Some(parsed) => self.on_payload(parsed),
                    None => tally.other("message"),
                }
            }
            "ack" => match frame.client_msg_id.and_then(|id| self.own_seq(id)) {
                Some(seq) => self.on_ack(seq),
                None => tally.other("ack"),
            },
            "error" => tally.error(format!("error:{}", frame.code.unwrap_or("?"))),
            other => tally.other(other),
        }
    }

    /// The sequence number in one of this member's own client message ids.
    fn own_seq(&self, client_msg_id: &str) -> Option<u64> {
        client_msg_id
            .strip_prefix(self.member.letter())?
            .parse()
            .ok()
    }

    fn on_ack(&mut self, seq: u64) {
        let tally = &self.shared.tally;
        self.seen.acked.set(seq);
        Tally::add(&tally.acked, 1);
        Tally::add(&tally.owed, self.fanout);
        let now = Stamp::get().now_ns();
        if self.shared.schedule.in_window(now) {
            Tally::add(&tally.acked_in_window, 1);
        }
    }

    fn on_payload(&mut self, parsed: payload::Parsed) {
        let shared = &self.shared;
        let now = Stamp::get().now_ns();
        self.seen.received[parsed.sender.index()].set(parsed.seq);
        Tally::add(&shared.tally.delivered, 1);
        if shared.schedule.in_window(now) {
            Tally::add(&shared.tally.delivered_in_window, 1);
            if matches!(self.framing, Framing::Relay) && parsed.sender.first_peer() == self.member {
                Tally::add(&shared.tally.forwarded_in_window, 1);
            }
        }
        if shared.schedule.in_window(parsed.scheduled_ns) {
            shared.latencies.record(
                self.shard,
                now.saturating_sub(parsed.scheduled_ns),
                now.saturating_sub(parsed.written_ns),
            );
        }
    }
}

/// A growable set of small integers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bits(Vec<u64>);

impl Bits {
    /// The set {0, .., n - 1}.
    pub fn first(n: u64) -> Bits {
        let mut bits = Bits::default();
        for index in 0..n {
            bits.set(index);
        }
        bits
    }

    pub fn set(&mut self, index: u64) {
        let word = (index / 64) as usize;
        if word >= self.0.len() {
            self.0.resize(word + 1, 0);
        }
        self.0[word] |= 1 << (index % 64);
    }

    pub fn count(&self) -> u64 {
        self.0.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// How many members of `self` are not in `other`.
    pub fn count_missing_in(&self, other: &Bits) -> u64 {
        self.0
            .iter()
            .enumerate()
            .map(|(i, w)| u64::from((w & !other.0.get(i).copied().unwrap_or(0)).count_ones()))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_frames_are_read_by_the_light_parser() {
        let ack = r#"{"type":"ack","session_id":"x","client_msg_id":"b9","seq":3,"msg_id":"y"}"#;
        let frame: HubFrame = serde_json::from_str(ack).expect("ack");
        assert_eq!((frame.kind, frame.client_msg_id), ("ack", Some("b9")));
        let message = r#"{"type":"message","session_id":"x","seq":1,"msg_id":"y",
            "sender":{"user":"b1","role":"buyer"},"body":{"kind":"text","text":"b1.2.3."},
            "sent_at":"2026-01-01T00:00:00Z","prompt":true}"#;
        let frame: HubFrame = serde_json::from_str(message).expect("message");
        assert_eq!(frame.body.and_then(|b| b.text), Some("b1.2.3."));
    }

    /// The quick way reads what serde reads from the frames the hub writes, and leaves every
    /// other frame to serde.
    #[test]
    fn hub_frames_read_the_same_either_way() {
        use crate::hub::frames;
        use crate::protocol::ids::{OrderId, RequestId, SessionId};
        use crate::protocol::server::Body;
        use crate::store::StoredMessage;

        let session = SessionId::new();
        let stored = StoredMessage::example;
        let text = |text: &str| Body::Text { text: text.into() };
        let quick = [
            frames::message(session, &stored(text("b12.100.200.xxxx")), Some(true)),
            frames::message(session, &stored(text("")), None),
            frames::ack(session, None, &stored(text("hi"))),
        ];
        let slow = [
            frames::message(session, &stored(text("say \"hi\"")), None),
            frames::message(session, &stored(text("a\\b")), None),
            frames::message(
                session,
                &stored(Body::OrderCard {
                    order_id: OrderId::new("o-1").expect("valid id"),
                }),
                None,
            ),
            frames::ack(
                session,
                Some(RequestId::new("r-1").expect("valid id")),
                &stored(text("hi")),
            ),
            frames::waiting(3),
        ];
        // serde borrows strings, so it fails on escaped text (the generator's payloads have
        // none): the quick way must fail there too.
        for frame in quick.iter().chain(&slow) {
            let serde = serde_json::from_str::<HubFrame>(frame).ok();
            assert_eq!(read_hub_frame(frame).ok(), serde, "{frame}");
        }
        for frame in &quick {
            assert!(quick_frame(frame).is_some(), "{frame}");
        }
        for frame in &slow {
            assert!(quick_frame(frame).is_none(), "{frame}");
        }
        let odd = [
            r#"{"type":"ack","session_id":"short","client_msg_id":"b1","seq":1}"#,
            r#"{"type":"message","session_id":"x"}"#,
            r#"{"type":"error","code":"internal","message":"internal error"}"#,
        ];
        for frame in odd {
            assert!(quick_frame(frame).is_none(), "{frame}");
        }
    }

    #[test]
    fn bits_count_what_is_missing() {
        let sent = Bits::first(130);
        let mut received = Bits::default();
        for index in (0..130).filter(|i| i % 10 != 0) {
            received.set(index);
        }
        assert_eq!(sent.count(), 130);
        assert_eq!(sent.count_missing_in(&received), 13);
        assert_eq!(received.count_missing_in(&sent), 0);
    }
}
