//! Rate limits on client frames: per connection and per user across all their connections.
//!
//! Both use governor's GCRA limiters. A frame over either limit is answered `rate_limited` and
//! not processed, so nothing is stored.

use std::sync::Arc;

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::LimitsConfig;
use crate::protocol::ids::UserId;

#[derive(Clone)]
pub struct Limits {
    connection_quota: Quota,
    per_user: Arc<DefaultKeyedRateLimiter<UserId>>,
}

impl Limits {
    pub fn new(config: &LimitsConfig) -> Self {
        let connection_quota =
            Quota::per_second(config.connection_per_second).allow_burst(config.connection_burst);
        let user_quota = Quota::per_second(config.user_per_second).allow_burst(config.user_burst);
        Limits {
            connection_quota,
            per_user: Arc::new(RateLimiter::keyed(user_quota)),
        }
    }

    /// A fresh limiter for one connection.
    pub fn for_connection(&self) -> DefaultDirectRateLimiter {
        RateLimiter::direct(self.connection_quota)
    }

    /// Whether one more frame is allowed for this connection and user.
    pub fn allow(&self, connection: &DefaultDirectRateLimiter, user: &UserId) -> bool {
        connection.check().is_ok() && self.per_user.check_key(user).is_ok()
    }

    /// Forgets users whose limits have fully refilled, so the map does not grow forever.
    pub fn prune(&self) {
        self.per_user.retain_recent();
        self.per_user.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU32;

    #[test]
    fn the_burst_is_allowed_and_the_next_frame_is_not() {
        let one = NonZeroU32::MIN;
        let three = NonZeroU32::new(3).expect("non-zero");
        let config = LimitsConfig {
            connection_per_second: one,
            connection_burst: three,
            user_per_second: one,
            user_burst: NonZeroU32::new(100).expect("non-zero"),
        };
        let limits = Limits::new(&config);
        let connection = limits.for_connection();
        let user = UserId::new("b1").expect("valid id");
        let allowed: Vec<bool> = (0..4).map(|_| limits.allow(&connection, &user)).collect();
        assert_eq!(allowed, [true, true, true, false]);
    }
}
