//! Offline commands behind `logistics-bridge classify` and `logistics-bridge check`: readers and
//! writers in, so they are tested without a process.

pub mod check;
pub mod classify;
