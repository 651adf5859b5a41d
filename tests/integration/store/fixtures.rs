//! Records for the conformance cases.

use chrono::{DateTime, TimeDelta, Utc};

use logistics_bridge::domain::order::{Order, OrderStatus};
use logistics_bridge::protocol::ids::{ClientMsgId, MessageId, OrderId, SessionId, ShopId, UserId};
use logistics_bridge::protocol::server::{Body, Member, SenderRole, SessionStatus};
use logistics_bridge::store::{MemberRecord, NewMessage, SessionRecord};

/// Messages every store under test keeps per session.
pub const RETAINED: usize = 5;

pub fn user(id: &str) -> UserId {
    UserId::new(id).expect("valid id")
}

pub fn shop(id: &str) -> ShopId {
    ShopId::new(id).expect("valid id")
}

pub fn order_id(id: &str) -> OrderId {
    OrderId::new(id).expect("valid id")
}

pub fn client_id(id: &str) -> ClientMsgId {
    ClientMsgId::new(id).expect("valid id")
}

/// `minute` minutes after a fixed time, plus some nanoseconds, so that a store that rounds
/// times shows it.
pub fn at(minute: i64) -> DateTime<Utc> {
    let base: DateTime<Utc> = "2026-11-23T02:00:00Z".parse().expect("valid time");
    base + TimeDelta::minutes(minute) + TimeDelta::nanoseconds(123_456_789)
}

pub fn member(id: &str, role: SenderRole, minute: i64) -> MemberRecord {
    MemberRecord {
        user: user(id),
        role,
        carrier: None,
        joined_at: at(minute),
        visible_from_seq: 1,
        sub_account: None,
    }
}

/// A session of `buyer` with `shop` that no agent took yet.
pub fn session(shop_id: &str, buyer: &str, opened_minute: i64) -> SessionRecord {
    SessionRecord {
        id: SessionId::new(),
        shop: shop(shop_id),
        buyer: user(buyer),
        status: SessionStatus::WaitingForAgent,
        members: vec![member(buyer, SenderRole::Buyer, opened_minute)],
        mentions: Vec::new(),
        opened_at: at(opened_minute),
        entry: Default::default(),
    }
}

/// `session` taken by `agent`.
pub fn taken_by(mut session: SessionRecord, agent: &str) -> SessionRecord {
    let minute = 1;
    session
        .members
        .push(member(agent, SenderRole::Agent, minute));
    session.status = SessionStatus::Open;
    session
}

pub fn closed(mut session: SessionRecord) -> SessionRecord {
    session.status = SessionStatus::Closed;
    session
}

/// A text from the buyer `b1`.
pub fn text(client_msg_id: Option<&str>, text: &str) -> NewMessage {
    NewMessage {
        msg_id: MessageId::new(),
        client_msg_id: client_msg_id.map(client_id),
        sender: Member {
            user: user("b1"),
            role: SenderRole::Buyer,
            carrier: None,
        },
        body: Body::Text {
            text: text.to_string(),
        },
        sent_at: at(0),
        prompt: None,
    }
}

pub fn order(id: &str, updated_minute: i64, status: OrderStatus) -> Order {
    Order {
        order_id: order_id(id),
        buyer: user("b1"),
        shop: shop("s1"),
        status,
        parcels: Vec::new(),
        updated_at: at(updated_minute),
    }
}
