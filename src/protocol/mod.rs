//! Wire types only: what clients send, what the hub sends back, ids, error and close codes.
//!
//! No I/O happens here. Every message is a JSON text frame with a `type` tag; `schemas/` holds a
//! JSON Schema for each, generated from these types (see `schema`).

pub mod client;
pub mod close;
pub mod digits;
pub mod error;
pub mod ids;
pub mod parse;
pub mod schema;
pub mod server;
pub mod time;

pub use client::{ClientBody, ClientMessage, PresenceStatus};
pub use error::ErrorCode;
pub use server::{Body, Member, Role, SenderRole, ServerMessage};
