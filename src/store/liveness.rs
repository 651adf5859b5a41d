//! Which hub nodes answer for the presence of which agents and couriers, and what happens when
//! a node stops answering.
//!
//! An agent's or courier's presence is stored once for all nodes, but only the node holding
//! their connection knows when it ends. So every node says which staff it holds (`hold`), lets
//! go on the last disconnect (`release`), and beats while it lives. A staff member goes offline
//! when no live node holds them: at once on a release, or when the node that held them misses
//! its deadline and another node's beat claims it. A node that finds it was claimed while still
//! running (it beat too late) holds its connections again.
//!
//! `Liveness` is the bookkeeping itself, with no I/O: the memory store keeps one; the Redis
//! store does the same in Lua (`redis::nodes`). Both run one conformance suite.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::order::Carrier;
use crate::protocol::ids::{ShopId, UserId};

/// An agent or a courier, with where their presence is kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Staff {
    pub user: UserId,
    pub post: Post,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Post {
    /// A shop's agent: presence in the shop's list.
    Shop(ShopId),
    /// A carrier's courier: presence on the carrier's desk.
    Carrier(Carrier),
}

/// What a node's beat found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Beat {
    /// The node had been claimed as dead: it must hold its connections again.
    pub rejoined: bool,
    /// Staff of claimed nodes whom no live node holds: now offline.
    pub offline: Vec<Staff>,
}

/// Nodes' deadlines and the staff each holds.
#[derive(Debug, Default)]
pub struct Liveness {
    deadlines: HashMap<Uuid, DateTime<Utc>>,
    held: HashMap<Uuid, HashSet<Staff>>,
    holders: HashMap<UserId, HashSet<Uuid>>,
    /// Nodes claimed as dead, until they beat again.
    claimed: HashSet<Uuid>,
}

impl Liveness {
    /// `node` holds `staff`; it lives at least until `until`.
    pub fn hold(&mut self, node: Uuid, staff: &Staff, until: DateTime<Utc>) {
        self.extend(node, until);
        self.held.entry(node).or_default().insert(staff.clone());
        self.holders
            .entry(staff.user.clone())
            .or_default()
            .insert(node);
    }

    /// `node` lets go of `staff`; returns whether no live node holds them any more.
    pub fn release(&mut self, node: Uuid, staff: &Staff, now: DateTime<Utc>) -> bool {
        if let Some(held) = self.held.get_mut(&node) {
            held.remove(staff);
        }
        self.forget_holder(&staff.user, node);
        !self.is_held(&staff.user, now)
    }

    /// `node` lives until `until`; claims every other node whose deadline passed before `now`.
    pub fn beat(&mut self, node: Uuid, now: DateTime<Utc>, until: DateTime<Utc>) -> Beat {
        self.deadlines.insert(node, until);
        let rejoined = self.claimed.remove(&node);
        let dead: Vec<Uuid> = self
            .deadlines
            .iter()
            .filter(|&(&other, &deadline)| other != node && deadline < now)
            .map(|(&other, _)| other)
            .collect();
        let mut offline = Vec::new();
        for dead in dead {
            self.deadlines.remove(&dead);
            self.claimed.insert(dead);
            for staff in self.held.remove(&dead).unwrap_or_default() {
                self.forget_holder(&staff.user, dead);
                if !self.is_held(&staff.user, now) {
                    offline.push(staff);
                }
            }
        }
        Beat { rejoined, offline }
    }

    /// `node` no longer holds `user`; a user no node holds leaves the index.
    fn forget_holder(&mut self, user: &UserId, node: Uuid) {
        if let Some(nodes) = self.holders.get_mut(user) {
            nodes.remove(&node);
            if nodes.is_empty() {
                self.holders.remove(user);
            }
        }
    }

    fn extend(&mut self, node: Uuid, until: DateTime<Utc>) {
        let deadline = self.deadlines.entry(node).or_insert(until);
        *deadline = (*deadline).max(until);
    }

    /// Whether a node alive at `now` holds `user`.
    pub fn is_held(&self, user: &UserId, now: DateTime<Utc>) -> bool {
        let live = |node: &Uuid| self.deadlines.get(node).is_some_and(|d| *d >= now);
        self.holders
            .get(user)
            .is_some_and(|nodes| nodes.iter().any(live))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn agent(name: &str) -> Staff {
        Staff {
            user: UserId::new(name).expect("id"),
            post: Post::Shop(ShopId::new("s1").expect("id")),
        }
    }

    #[test]
    fn a_release_leaves_staff_online_while_another_live_node_holds_them() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let until = now + TimeDelta::seconds(15);
        let mut nodes = Liveness::default();
        nodes.hold(a, &agent("a1"), until);
        nodes.hold(b, &agent("a1"), until);
        assert!(!nodes.release(a, &agent("a1"), now));
        assert!(nodes.release(b, &agent("a1"), now));
    }

    #[test]
    fn a_node_past_its_deadline_does_not_keep_staff_online() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let mut nodes = Liveness::default();
        nodes.hold(a, &agent("a1"), now - TimeDelta::seconds(1));
        nodes.hold(b, &agent("a1"), now + TimeDelta::seconds(15));
        assert!(nodes.release(b, &agent("a1"), now));
    }

    #[test]
    fn a_beat_claims_dead_nodes_once_and_the_claimed_node_rejoins() {
        let (dead, live, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let later = now + TimeDelta::seconds(15);
        let mut nodes = Liveness::default();
        nodes.hold(dead, &agent("a1"), now - TimeDelta::seconds(1));
        nodes.hold(dead, &agent("a2"), now - TimeDelta::seconds(1));
        nodes.hold(other, &agent("a2"), later);
        let beat = nodes.beat(live, now, later);
        assert_eq!(
            beat,
            Beat {
                rejoined: false,
                offline: vec![agent("a1")]
            }
        );
        assert_eq!(nodes.beat(other, now, later).offline, Vec::new());
        assert!(nodes.beat(dead, now, later).rejoined);
        assert!(!nodes.beat(dead, now, later).rejoined);
    }
}
