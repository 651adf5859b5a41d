//! This node's part in agents' and couriers' presence across nodes (`store::liveness`): it holds
//! the staff connected here, lets go of them on their last disconnect, and beats every third of
//! `node_timeout`.
//!
//! Liveness runs on the wall clock, not the hub's `Clock`: deadlines are compared between
//! processes, and a test's frozen clock would keep every node alive for ever.

use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::{Hub, Identity};
use crate::protocol::client::PresenceStatus;
use crate::protocol::ids::UserId;
use crate::protocol::server::Role;
use crate::store::{Post, Staff};

/// How often a release that failed (the store was unreachable) is tried again, at most.
const RELEASE_ATTEMPTS: u32 = 10;

/// A staff member connected here, and the presence they last set through this node.
#[derive(Debug, Clone)]
pub(super) struct Held {
    staff: Staff,
    status: Option<PresenceStatus>,
}

fn staff_of(identity: &Identity) -> Option<Staff> {
    let post = match (identity.role, &identity.shop, identity.carrier) {
        (Role::Agent, Some(shop), _) => Post::Shop(shop.clone()),
        (Role::Courier, _, Some(carrier)) => Post::Carrier(carrier),
        _ => return None,
    };
    Some(Staff {
        user: identity.user.clone(),
        post,
    })
}

impl Hub {
    fn deadline(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let timeout = TimeDelta::from_std(self.inner.settings.node_timeout).unwrap_or_default();
        now + timeout
    }

    fn beat_interval(&self) -> Duration {
        (self.inner.settings.node_timeout / 3).max(Duration::from_millis(100))
    }

    /// The staff connected here; held only for map operations.
    fn held(&self) -> std::sync::MutexGuard<'_, crate::FastMap<UserId, Held>> {
        self.inner
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Says in the store that this node holds `identity` (agents and couriers only).
    pub(super) async fn hold(&self, identity: &Identity) {
        let Some(staff) = staff_of(identity) else {
            return;
        };
        self.held()
            .entry(staff.user.clone())
            .or_insert_with(|| Held {
                staff: staff.clone(),
                status: None,
            });
        let now = Utc::now();
        if let Err(error) = self
            .store()
            .hold(self.inner.node, &staff, self.deadline(now))
            .await
        {
            // The next beat that reaches the store holds everyone connected here again.
            self.inner.hold_again.store(true, Ordering::Relaxed);
            tracing::warn!(user = %staff.user, %error, "presence not held for this node yet");
        }
    }

    /// Remembers the presence a staff member set here, to write again if this node rejoins.
    pub(super) fn remember_presence(&self, user: &UserId, status: PresenceStatus) {
        let mut held = self.held();
        if let Some(held) = held.get_mut(user) {
            held.status = Some(status);
        }
    }

    /// The last connection of `identity` here closed. When no live node holds them any more the
    /// store has taken them offline; a courier's sessions then get their return grace. A store
    /// that cannot be reached is tried again in the background, a few times.
    pub(super) async fn let_go(&self, identity: &Identity) {
        let Some(staff) = staff_of(identity) else {
            return;
        };
        {
            // Checked under the lock `hold` takes: a connection of the same user that arrived
            // meanwhile has either registered already (and keeps its entry) or adds it after.
            let mut held = self.held();
            if self.is_present_here(&staff.user) {
                return;
            }
            held.remove(&staff.user);
        }
        if self.try_release(&staff).await.is_ok() {
            return;
        }
        let hub = self.clone();
        self.inner.tasks.spawn(async move {
            for attempt in 2..=RELEASE_ATTEMPTS {
                tokio::select! {
                    () = hub.inner.shutdown.cancelled() => return,
                    () = tokio::time::sleep(hub.beat_interval()) => {}
                }
                match hub.try_release(&staff).await {
                    Ok(()) => return,
                    Err(error) if attempt == RELEASE_ATTEMPTS => {
                        tracing::warn!(user = %staff.user, %error, "presence not released");
                    }
                    Err(_) => {}
                }
            }
        });
    }

    /// One release, unless the staff member is back on this node.
    async fn try_release(&self, staff: &Staff) -> Result<(), crate::store::StoreError> {
        if self.is_present_here(&staff.user) {
            return Ok(());
        }
        if self
            .store()
            .release(self.inner.node, staff, Utc::now())
            .await?
        {
            self.went_offline(staff).await;
        }
        Ok(())
    }

    async fn went_offline(&self, staff: &Staff) {
        if let Post::Carrier(_) = staff.post {
            self.courier_gone(&staff.user).await;
        }
    }

    /// Whether `user` has a connection on a live node, this one included.
    pub(crate) async fn is_connected_anywhere(&self, user: &UserId) -> bool {
        if self.is_present_here(user) {
            return true;
        }
        match self.store().is_held(user, Utc::now()).await {
            Ok(held) => held,
            Err(error) => {
                // Unknown: counting them as connected keeps what they have until the store
                // answers again.
                tracing::debug!(%user, %error, "liveness not read");
                true
            }
        }
    }

    /// Beats until shutdown.
    pub(super) fn start_beating(&self) {
        let hub = self.clone();
        let shutdown = self.inner.shutdown.clone();
        self.inner.tasks.spawn(async move {
            let mut interval = tokio::time::interval(hub.beat_interval());
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    _ = interval.tick() => hub.beat().await,
                }
            }
        });
    }

    async fn beat(&self) {
        let now = Utc::now();
        let beat = match self
            .store()
            .beat(self.inner.node, now, self.deadline(now))
            .await
        {
            Ok(beat) => beat,
            Err(error) => {
                tracing::warn!(%error, "heartbeat not stored");
                return;
            }
        };
        if beat.rejoined {
            tracing::warn!("this node was taken for dead; holding its connections again");
            self.inner.hold_again.store(false, Ordering::Relaxed);
            self.hold_again().await;
        } else if self.inner.hold_again.swap(false, Ordering::Relaxed) {
            self.hold_again().await;
        }
        for staff in &beat.offline {
            tracing::info!(user = %staff.user, "offline: the node holding them stopped");
            self.went_offline(staff).await;
        }
    }

    /// After another node took this one for dead (and its staff offline), or after a hold
    /// failed: hold everyone connected here again and write back the presence each set here.
    async fn hold_again(&self) {
        let held: Vec<Held> = self.held().values().cloned().collect();
        let store = self.store();
        for Held { staff, status } in held {
            let until = self.deadline(Utc::now());
            let result = match store.hold(self.inner.node, &staff, until).await {
                Err(error) => Err(error),
                Ok(()) => match (&staff.post, status) {
                    (_, None) => Ok(()),
                    (Post::Shop(shop), Some(status)) => {
                        store.set_presence(shop, &staff.user, status).await
                    }
                    (Post::Carrier(carrier), Some(status)) => {
                        store
                            .set_courier_presence(*carrier, &staff.user, status)
                            .await
                    }
                },
            };
            if let Err(error) = result {
                // The next beat tries again, as after a hold that failed on connect.
                self.inner.hold_again.store(true, Ordering::Relaxed);
                tracing::warn!(user = %staff.user, %error, "presence not restored");
            }
        }
    }
}
