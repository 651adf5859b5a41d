//! Setting up one load session on the bare relay.
//!
//! Every member connects to `/ws?session=KEY`. The relay forwards only to members present at
//! the time, so the last member to connect sends `sync`, and the others wait for it: once they
//! have it, everyone is in.

use std::time::Duration;

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use super::LoadError;
use super::connect::{Connector, Socket, next_text};
use super::driver::{Framing, Joined, LoadSession};
use super::payload::Member;

const STEP_TIMEOUT: Duration = Duration::from_secs(20);
const SYNC: &str = "sync";

/// The path of a relay session.
pub fn path(connector: &Connector, key: &str) -> String {
    format!("{}?session={key}", connector.endpoint().path)
}

/// Opens session `index` with buyer, agent and, when `with_courier`, a courier.
pub async fn open(
    connector: &Connector,
    prefix: &str,
    index: usize,
    with_courier: bool,
) -> Result<LoadSession, LoadError> {
    let path = path(connector, &format!("{prefix}{index}"));
    let mut roles = vec![Member::Buyer, Member::Agent];
    if with_courier {
        roles.push(Member::Courier);
    }
    let mut members = Vec::with_capacity(roles.len());
    for member in roles {
        let socket = connector.connect(&path, None).await?;
        members.push(Joined { member, socket });
    }
    let (last, waiting) = members
        .split_last_mut()
        .ok_or(LoadError::Closed("members"))?;
    last.socket.send(Message::text(SYNC)).await?;
    for joined in waiting {
        wait_for_sync(&mut joined.socket).await?;
    }
    Ok(LoadSession {
        framing: Framing::Relay,
        members,
    })
}

async fn wait_for_sync(socket: &mut Socket) -> Result<(), LoadError> {
    let next = tokio::time::timeout(STEP_TIMEOUT, next_text(socket)).await;
    match next {
        Err(_) => Err(LoadError::Timeout(STEP_TIMEOUT, "the sync frame")),
        Ok(None) => Err(LoadError::Closed("the sync frame")),
        Ok(Some(text)) => match text?.as_str() {
            SYNC => Ok(()),
            other => Err(LoadError::Protocol(format!("expected sync, got {other:?}"))),
        },
    }
}
