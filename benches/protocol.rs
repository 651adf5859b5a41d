//! Per-message cost of the wire format: decoding what a client sends, encoding what the hub
//! sends back (the `message` every other member gets and the sender's `ack`), and the other
//! direction as a client does it.
//!
//! The hub decodes one `send` and encodes one `message` (two for a buyer's message: with and
//! without `prompt`) and one `ack` per chat message, so these bound its per-message JSON work.
//! Issue 8. Run with `cargo bench --bench protocol`; register in Cargo.toml with
//! `[[bench]] name = "protocol" harness = false`.

use std::hint::black_box;

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use logistics_bridge::protocol::ids::{ClientMsgId, MessageId, SessionId, UserId};
use logistics_bridge::protocol::{
    Body, ClientBody, ClientMessage, Member, SenderRole, ServerMessage,
};

/// A short ASCII line and a typical Chinese complaint.
const TEXTS: &[(&str, &str)] = &[
    (
        "ascii64",
        "b1234.1767225600000000000.1767225600000150000.xxxxxxxxxxxxxxxxxxxx",
    ),
    (
        "chinese",
        "物流显示已签收，但是我根本没收到，快递员电话也打不通，麻烦帮我查一下",
    ),
];

fn session() -> SessionId {
    "0190b1a2-0000-7000-8000-000000000001"
        .parse()
        .expect("bench session id")
}

fn send(text: &str) -> ClientMessage {
    ClientMessage::Send {
        request_id: None,
        session_id: session(),
        client_msg_id: ClientMsgId::new("b1234").expect("bench client msg id"),
        body: ClientBody::Text { text: text.into() },
        marketing: false,
        intent: None,
    }
}

fn message(text: &str, prompt: Option<bool>) -> ServerMessage {
    let sent_at: DateTime<Utc> = "2026-11-23T02:00:00Z".parse().expect("bench time");
    ServerMessage::Message {
        session_id: session(),
        seq: 1234,
        msg_id: MessageId::new(),
        sender: Member {
            user: UserId::new("buyer-42").expect("bench user id"),
            role: SenderRole::Buyer,
            carrier: None,
        },
        body: Body::Text { text: text.into() },
        sent_at,
        prompt,
    }
}

fn ack() -> ServerMessage {
    ServerMessage::Ack {
        request_id: None,
        session_id: session(),
        client_msg_id: ClientMsgId::new("b1234").expect("bench client msg id"),
        seq: 1234,
        msg_id: MessageId::new(),
    }
}

fn bench_client_messages(c: &mut Criterion) {
    for (name, text) in TEXTS {
        let message = send(text);
        let frame = serde_json::to_string(&message).expect("encode");
        c.bench_function(&format!("client/decode_send/{name}"), |b| {
            b.iter(|| serde_json::from_str::<ClientMessage>(black_box(&frame)))
        });
        c.bench_function(&format!("client/encode_send/{name}"), |b| {
            b.iter(|| serde_json::to_string(black_box(&message)))
        });
    }
}

fn bench_server_messages(c: &mut Criterion) {
    for (name, text) in TEXTS {
        let prompted = message(text, Some(true));
        c.bench_function(&format!("server/encode_message/{name}"), |b| {
            b.iter(|| serde_json::to_string(black_box(&prompted)))
        });
        let frame = serde_json::to_string(&prompted).expect("encode");
        c.bench_function(&format!("server/decode_message/{name}"), |b| {
            b.iter(|| serde_json::from_str::<ServerMessage>(black_box(&frame)))
        });
    }
    let ack = ack();
    c.bench_function("server/encode_ack", |b| {
        b.iter(|| serde_json::to_string(black_box(&ack)))
    });
    let frame = serde_json::to_string(&ack).expect("encode");
    c.bench_function("server/decode_ack", |b| {
        b.iter(|| serde_json::from_str::<ServerMessage>(black_box(&frame)))
    });
}

/// The hub's own frames: what `hub::frames` builds from a stored message (borrowed, with a
/// real clock's nanoseconds in `sent_at`), once per audience, and the sender's ack.
fn bench_hub_frames(c: &mut Criterion) {
    use logistics_bridge::hub::frames;
    use logistics_bridge::store::StoredMessage;
    let sent_at: DateTime<Utc> = "2026-11-23T02:00:00.123456789Z"
        .parse()
        .expect("bench time");
    for (name, text) in TEXTS {
        let stored = StoredMessage {
            seq: 1234,
            msg_id: MessageId::new(),
            client_msg_id: Some(ClientMsgId::new("b1234").expect("bench client msg id")),
            sender: Member {
                user: UserId::new("buyer-42").expect("bench user id"),
                role: SenderRole::Buyer,
                carrier: None,
            },
            body: Body::Text {
                text: (*text).into(),
            },
            sent_at,
            prompt: Some(true),
        };
        c.bench_function(&format!("hub/frame_message/{name}"), |b| {
            b.iter(|| frames::message(session(), black_box(&stored), Some(true)))
        });
        if *name == "ascii64" {
            c.bench_function("hub/frame_ack", |b| {
                b.iter(|| frames::ack(session(), None, black_box(&stored)))
            });
        }
    }
}

criterion_group!(
    benches,
    bench_client_messages,
    bench_server_messages,
    bench_hub_frames
);
criterion_main!(benches);
