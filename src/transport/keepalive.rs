//! One task that keeps every connection's time: pings, silence and token expiry.
//!
//! Each connection could hold its own timer, but a timer is part of every idle connection's
//! memory. Instead this task sweeps the registry every `ping_interval` (at most every second)
//! and sends `Tick` to each connection due a ping or holding an expired token; the connection
//! then pings, or closes (idle: 4000, token expired: 1008). A token is thus closed at most one
//! sweep after it expires.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::hub::Hub;

/// The longest time between sweeps, so that expiry is noticed within it.
const MAX_SWEEP: Duration = Duration::from_secs(1);

pub fn spawn(hub: Hub, ping_interval: Duration, shutdown: CancellationToken, tasks: &TaskTracker) {
    let sweep = ping_interval.min(MAX_SWEEP).max(Duration::from_millis(1));
    let interval_ms = u64::try_from(ping_interval.as_millis()).unwrap_or(u64::MAX);
    tasks.spawn(async move {
        let mut sweeps = tokio::time::interval(sweep);
        sweeps.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = sweeps.tick() => hub.tick_connections(now_ms(), interval_ms),
            }
        }
    });
}

/// Milliseconds since the epoch: tokens count their expiry on that clock.
fn now_ms() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH);
    u64::try_from(since.unwrap_or_default().as_millis()).unwrap_or(u64::MAX)
}
