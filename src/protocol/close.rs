//! WebSocket close codes the hub uses, and what each means.
//!
//! | code | name | when |
//! |------|------|------|
//! | 1000 | normal | the client closed, or the hub closed a connection normally |
//! | 1001 | going away | the hub is shutting down; reconnect to another node and resume |
//! | 1008 | policy | the token expired while connected |
//! | 1009 | too big | a frame larger than `server.max_message_bytes` |
//! | 1011 | internal | a fault of the hub's |
//! | 4000 | idle | no frame or pong within `server.idle_timeout` |
//! | 4001 | slow reader | the connection's outbox filled up; resume to catch up without a gap |
//! | 4002 | bad frames | `server.max_bad_frames` malformed or invalid frames in a row |
//! | 4003 | binary | a binary frame; the protocol is JSON text |

pub const NORMAL: u16 = 1000;
pub const GOING_AWAY: u16 = 1001;
pub const POLICY: u16 = 1008;
pub const TOO_BIG: u16 = 1009;
pub const INTERNAL: u16 = 1011;
pub const IDLE: u16 = 4000;
pub const SLOW_READER: u16 = 4001;
pub const BAD_FRAMES: u16 = 4002;
pub const BINARY: u16 = 4003;
