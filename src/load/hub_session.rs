//! Setting up one load session on the hub, over its real protocol.
//!
//! Session `i` of a process with prefix `P` uses shop `Ps{i}`, agent `Pa{i}`, buyer `Pb{i}`
//! and, when it has one, courier `Pc{i}` with order `Po{i}`: one agent per shop, so routing
//! pairs each buyer with its own agent deterministically. The generator mints the tokens
//! itself from the hub's secret.
//!
//! Steps: the agent connects and goes `online`; the buyer connects, `open`s the shop and waits
//! for its `session` frame; the agent waits for the same session (it may arrive after the
//! buyer's if the buyer opened before the agent's presence landed). A courier session also
//! enrols the shop in the logistics service with ZTO and feeds it an order shipped with ZTO
//! (admin API); then the buyer shows the order card, sends a parcel complaint and accepts the
//! invite card, as in the integration tests of the splice.
//!
//! The hub, not the generator, picks which courier of the carrier joins: couriers are a pool
//! ([`CourierPool`]) that listens on every courier connection for the `session` frame that
//! says where each one went. With `splice.max_courier_sessions = 1` (the bench config) every
//! courier joins one session at most; a courier that joins a second session keeps only the
//! first, and frames of the other reach it as frames of a foreign session.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use super::LoadError;
use super::admin;
use super::connect::{Connector, Socket, next_text};
use super::driver::{Framing, Joined, LoadSession};
use super::payload::Member;
use crate::domain::order::Carrier;
use crate::protocol::ids::{SessionId, ShopId, UserId};
use crate::protocol::server::Body;
use crate::protocol::{Role, ServerMessage};
use crate::transport::auth::{Authenticator, Claims, expiry_in};

/// How long each setup step may wait for its reply.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);
/// How long tokens live: longer than any bounded run.
const TOKEN_TTL: Duration = Duration::from_secs(6 * 3600);
/// The complaint a courier session's buyer sends (signed for, but not received).
const COMPLAINT: &str = "快递显示签收了但我没收到";

/// Mints tokens signed with the hub's secret.
pub struct Tokens {
    auth: Authenticator,
}

impl Tokens {
    pub fn new(secret: &str) -> Tokens {
        Tokens {
            auth: Authenticator::new(secret, Duration::ZERO),
        }
    }

    pub fn mint(
        &self,
        role: Role,
        sub: &str,
        shop: Option<&str>,
        carrier: Option<Carrier>,
    ) -> Result<String, LoadError> {
        let bad = |e: crate::protocol::ids::IdError| LoadError::Token(e.to_string());
        let claims = Claims {
            sub: UserId::new(sub).map_err(bad)?,
            role,
            shop: shop.map(ShopId::new).transpose().map_err(bad)?,
            carrier,
            exp: expiry_in(TOKEN_TTL),
        };
        self.auth
            .mint(&claims)
            .map_err(|e| LoadError::Token(e.to_string()))
    }
}

/// What a hub session setup needs.
pub struct HubSetup<'a> {
    pub connector: &'a Connector,
    pub tokens: &'a Tokens,
    pub prefix: &'a str,
    pub splice_timeout: Duration,
}

/// A set-up session, and for a courier session whether the buyer accepted an invite.
pub struct HubSession {
    pub session: LoadSession,
    /// For a courier session: `Ok(())` once the buyer accepted an invite card, else why not.
    pub splice: Option<Result<(), String>>,
}

struct Names {
    shop: String,
    agent: String,
    buyer: String,
    order: String,
}

impl Names {
    fn of(prefix: &str, index: usize) -> Names {
        Names {
            shop: format!("{prefix}s{index}"),
            agent: format!("{prefix}a{index}"),
            buyer: format!("{prefix}b{index}"),
            order: format!("{prefix}o{index}"),
        }
    }
}

impl HubSetup<'_> {
    /// Opens session `index`; when `with_courier`, asks for a courier too (see the module).
    pub async fn open(&self, index: usize, with_courier: bool) -> Result<HubSession, LoadError> {
        let names = Names::of(self.prefix, index);
        let agent_token = self
            .tokens
            .mint(Role::Agent, &names.agent, Some(&names.shop), None)?;
        let mut agent = self.connect(&agent_token).await?;
        send_json(&mut agent, json!({"type": "presence", "status": "online"})).await?;
        if with_courier {
            self.enrol(&names).await?;
        }
        let buyer_token = self.tokens.mint(Role::Buyer, &names.buyer, None, None)?;
        let mut buyer = self.connect(&buyer_token).await?;
        let session_id = open_session(&mut buyer, &names.shop).await?;
        wait_for_session(&mut agent, session_id, STEP_TIMEOUT).await?;
        let splice = match with_courier {
            true => Some(
                request_splice(&mut buyer, session_id, &names.order, self.splice_timeout).await?,
            ),
            false => None,
        };
        let members = vec![
            Joined {
                member: Member::Buyer,
                socket: buyer,
            },
            Joined {
                member: Member::Agent,
                socket: agent,
            },
        ];
        let framing = Framing::Hub {
            session_id: session_id.to_string(),
        };
        Ok(HubSession {
            session: LoadSession { framing, members },
            splice,
        })
    }

    /// Connects with a token and reads the `welcome` frame.
    pub async fn connect(&self, token: &str) -> Result<Socket, LoadError> {
        let path = self.connector.endpoint().path.clone();
        let mut socket = self.connector.connect(&path, Some(token)).await?;
        let welcome = expect_message(&mut socket, STEP_TIMEOUT, "welcome").await?;
        match welcome {
            ServerMessage::Welcome { .. } => Ok(socket),
            other => Err(LoadError::Protocol(format!(
                "expected welcome, got {other:?}"
            ))),
        }
    }

    /// Enrols the shop in the logistics service with ZTO and feeds it the session's order.
    async fn enrol(&self, names: &Names) -> Result<(), LoadError> {
        let admin_token = self.tokens.mint(Role::Admin, "loadgen", None, None)?;
        let addr = self.connector.endpoint().addr;
        let sub_account = format!("{}-zto", names.shop);
        let shop = json!({"carriers": [{"carrier": "ZTO", "sub_account": sub_account}]});
        let shop_path = format!("/v1/shops/{}/logistics", names.shop);
        admin::put(addr, &admin_token, &shop_path, &shop).await?;
        let order = json!({
            "buyer": names.buyer, "shop": names.shop, "status": "shipped",
            "parcels": [{"carrier": "ZTO", "waybill": format!("ZT{}", names.order)}],
            "updated_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
        let order_path = format!("/v1/orders/{}", names.order);
        admin::put(addr, &admin_token, &order_path, &order).await
    }

    /// Connects courier `index` of ZTO and makes it available.
    pub async fn courier(&self, index: usize) -> Result<Socket, LoadError> {
        let name = format!("{}c{index}", self.prefix);
        let token = self
            .tokens
            .mint(Role::Courier, &name, None, Some(Carrier::Zto))?;
        let mut courier = self.connect(&token).await?;
        let available = json!({"type": "presence", "status": "available"});
        send_json(&mut courier, available).await?;
        Ok(courier)
    }
}

/// The buyer shows the order card, complains about the parcel and accepts the invite card;
/// `Ok(())` once accepted, or why no invite came.
async fn request_splice(
    buyer: &mut Socket,
    session_id: SessionId,
    order: &str,
    timeout: Duration,
) -> Result<Result<(), String>, LoadError> {
    let card = json!({
        "type": "send", "session_id": session_id, "client_msg_id": "card",
        "body": {"kind": "order_card", "order_id": order},
    });
    send_json(buyer, card).await?;
    let complaint = json!({
        "type": "send", "session_id": session_id, "client_msg_id": "complaint",
        "body": {"kind": "text", "text": COMPLAINT},
    });
    send_json(buyer, complaint).await?;
    let Some(invite_id) = wait_for_invite(buyer, timeout).await? else {
        return Ok(Err("no invite card".into()));
    };
    let answer = json!({"type": "answer_invite", "invite_id": invite_id, "accept": true});
    send_json(buyer, answer).await?;
    Ok(Ok(()))
}

/// Courier connections listening for the session each one is given.
pub struct CourierPool {
    listening: JoinSet<(Socket, Option<SessionId>)>,
    stop: CancellationToken,
}

impl CourierPool {
    /// Connects `count` couriers of ZTO, available, and listens on each.
    pub async fn connect(setup: &HubSetup<'_>, count: usize) -> Result<CourierPool, LoadError> {
        let stop = CancellationToken::new();
        let mut listening = JoinSet::new();
        for index in 0..count {
            let courier = setup.courier(index).await?;
            listening.spawn(listen(courier, stop.clone()));
        }
        Ok(CourierPool { listening, stop })
    }

    /// Waits up to `timeout` until couriers were given `wanted` sessions; returns each session
    /// found with its courier's connection. Couriers given none are disconnected.
    pub async fn collect(mut self, wanted: usize, timeout: Duration) -> HashMap<SessionId, Socket> {
        let mut found = HashMap::new();
        let deadline = Instant::now() + timeout;
        while found.len() < wanted {
            let next = tokio::time::timeout_at(deadline, self.listening.join_next()).await;
            match next {
                Ok(Some(Ok((socket, Some(session_id))))) => {
                    found.insert(session_id, socket);
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        self.stop.cancel();
        while self.listening.join_next().await.is_some() {}
        found
    }
}

/// Reads a courier's frames until its first `session` frame, or until stopped.
async fn listen(mut courier: Socket, stop: CancellationToken) -> (Socket, Option<SessionId>) {
    loop {
        let text = tokio::select! {
            () = stop.cancelled() => return (courier, None),
            text = next_text(&mut courier) => text,
        };
        let Some(Ok(text)) = text else {
            return (courier, None);
        };
        if let Ok(ServerMessage::Session { session_id, .. }) = serde_json::from_str(&text) {
            return (courier, Some(session_id));
        }
    }
}

async fn send_json(socket: &mut Socket, value: serde_json::Value) -> Result<(), LoadError> {
    use futures_util::SinkExt;
    socket.send(Message::text(value.to_string())).await?;
    Ok(())
}

/// The buyer opens the shop; returns the session.
async fn open_session(buyer: &mut Socket, shop: &str) -> Result<SessionId, LoadError> {
    let open = json!({"type": "open", "request_id": "open", "shop_id": shop});
    send_json(buyer, open).await?;
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match expect_message(buyer, left, "the session frame").await? {
            ServerMessage::Session {
                request_id: Some(id),
                session_id,
                ..
            } if id.as_str() == "open" => return Ok(session_id),
            ServerMessage::Error { code, message, .. } => {
                return Err(LoadError::Protocol(format!("open: {code:?}: {message}")));
            }
            _ => {}
        }
    }
}

/// Waits until `socket` receives the `session` frame of `session_id`.
async fn wait_for_session(
    socket: &mut Socket,
    session_id: SessionId,
    timeout: Duration,
) -> Result<(), LoadError> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if let ServerMessage::Session { session_id: id, .. } =
            expect_message(socket, left, "the session frame").await?
            && id == session_id
        {
            return Ok(());
        }
    }
}

/// Waits for an invite card; `None` when none comes in time.
async fn wait_for_invite(
    buyer: &mut Socket,
    timeout: Duration,
) -> Result<Option<crate::protocol::ids::InviteId>, LoadError> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match expect_message(buyer, left, "an invite").await {
            Ok(ServerMessage::Message {
                body: Body::Invite { invite_id, .. },
                ..
            }) => return Ok(Some(invite_id)),
            Ok(_) => {}
            Err(LoadError::Timeout(..)) => return Ok(None),
            Err(error) => return Err(error),
        }
    }
}

/// The next frame as a typed server message, within `timeout`.
async fn expect_message(
    socket: &mut Socket,
    timeout: Duration,
    what: &'static str,
) -> Result<ServerMessage, LoadError> {
    let text = match tokio::time::timeout(timeout, next_text(socket)).await {
        Err(_) => return Err(LoadError::Timeout(timeout, what)),
        Ok(None) => return Err(LoadError::Closed(what)),
        Ok(Some(text)) => text?,
    };
    serde_json::from_str(&text)
        .map_err(|error| LoadError::Protocol(format!("{error}: {}", text.as_str())))
}
