//! Recent contacts: for one (shop, buyer), the shop agents the buyer was routed to or talked
//! with, and when.
//!
//! This module owns the value the hub stores per (shop, buyer) and the rule of who may be
//! recorded. It does not own the map from (shop, buyer) to contacts, nor routing: routing reads
//! `latest` or `within` to send a returning buyer back to an agent they know.
//!
//! Only shop agents are recorded. A courier is never recorded, for anyone, whether or not it is
//! still a member: it is not the shop's agent and must never be routed to. Shop agents who talk
//! in a three-party session are recorded as usual, since the buyer did talk with them.

use std::cmp::Reverse;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::exemption::{Exemptions, Party};
use crate::protocol::ids::UserId;

/// How many agents one (shop, buyer) remembers; the least recent is dropped beyond this.
pub const MAX_RECENT_CONTACTS: usize = 16;

/// Whether a contact with `party` may be recorded as a recent contact.
///
/// The exemptions cannot change this: no exemption makes a courier recordable, and none stops a
/// shop agent from being recorded. It is taken so that every control reads the session the
/// same way.
pub fn should_record(party: Party, _exemptions: &Exemptions) -> bool {
    match party {
        Party::ShopAgent => true,
        Party::Courier | Party::Buyer | Party::Platform => false,
    }
}

/// One remembered contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentContact {
    pub agent: UserId,
    pub at: DateTime<Utc>,
}

/// The agents one buyer recently had contact with at one shop, most recent first, at most
/// [`MAX_RECENT_CONTACTS`] of them, each agent once with its latest contact time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecentContacts {
    contacts: Vec<RecentContact>,
}

impl RecentContacts {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a contact with `agent` at `at`. An older time than the one already held for that
    /// agent does not move it back. Call only when [`should_record`] says so.
    pub fn record(&mut self, agent: UserId, at: DateTime<Utc>) {
        match self
            .contacts
            .iter_mut()
            .find(|contact| contact.agent == agent)
        {
            Some(contact) => contact.at = contact.at.max(at),
            None => self.contacts.push(RecentContact { agent, at }),
        }
        self.contacts.sort_by_key(|contact| Reverse(contact.at));
        self.contacts.truncate(MAX_RECENT_CONTACTS);
    }

    /// The most recent contact.
    pub fn latest(&self) -> Option<(UserId, DateTime<Utc>)> {
        let contact = self.contacts.first()?;
        Some((contact.agent.clone(), contact.at))
    }

    /// The contacts no older than `window` at `now` (a contact exactly `window` old is
    /// included), most recent first.
    pub fn within(&self, now: DateTime<Utc>, window: TimeDelta) -> Vec<(UserId, DateTime<Utc>)> {
        self.contacts
            .iter()
            .filter(|contact| now - contact.at <= window)
            .map(|contact| (contact.agent.clone(), contact.at))
            .collect()
    }

    /// All remembered contacts, most recent first.
    pub fn contacts(&self) -> &[RecentContact] {
        &self.contacts
    }

    pub fn len(&self) -> usize {
        self.contacts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.contacts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::controls::exemption::exemptions;

    fn agent(name: &str) -> UserId {
        UserId::new(name).expect("valid id")
    }

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + TimeDelta::minutes(minute)
    }

    #[test]
    fn who_is_recorded() {
        // (party, courier is a member, recorded)
        let cases = [
            (Party::ShopAgent, false, true),
            (Party::ShopAgent, true, true),
            (Party::Courier, false, false),
            (Party::Courier, true, false),
            (Party::Buyer, false, false),
            (Party::Platform, false, false),
        ];
        for (party, has_courier_member, expected) in cases {
            let decided = should_record(party, &exemptions(has_courier_member));
            assert_eq!(
                decided, expected,
                "{party:?} courier member {has_courier_member}"
            );
        }
    }

    #[test]
    fn courier_never_becomes_a_recent_contact() {
        let mut contacts = RecentContacts::new();
        let talk = [
            (Party::ShopAgent, "a1", 1, false),
            (Party::Courier, "c1", 2, true),
            (Party::ShopAgent, "a2", 3, true),
            (Party::Courier, "c1", 4, false),
        ];
        for (party, name, minute, has_courier_member) in talk {
            if should_record(party, &exemptions(has_courier_member)) {
                contacts.record(agent(name), at(minute));
            }
        }
        assert_eq!(contacts.latest(), Some((agent("a2"), at(3))));
        assert!(contacts.contacts().iter().all(|c| c.agent != agent("c1")));
    }

    #[test]
    fn record_keeps_each_agent_once_with_its_latest_time() {
        let mut contacts = RecentContacts::new();
        contacts.record(agent("a1"), at(5));
        contacts.record(agent("a2"), at(6));
        contacts.record(agent("a1"), at(7));
        contacts.record(agent("a2"), at(1));
        let expected = vec![(agent("a1"), at(7)), (agent("a2"), at(6))];
        assert_eq!(contacts.within(at(7), TimeDelta::days(1)), expected);
    }

    #[test]
    fn record_is_bounded_dropping_the_least_recent() {
        let mut contacts = RecentContacts::new();
        for minute in 0..=MAX_RECENT_CONTACTS as i64 {
            contacts.record(agent(&format!("a{minute}")), at(minute));
        }
        assert_eq!(contacts.len(), MAX_RECENT_CONTACTS);
        assert!(contacts.contacts().iter().all(|c| c.agent != agent("a0")));
    }

    #[test]
    fn within_window_boundaries() {
        let mut contacts = RecentContacts::new();
        contacts.record(agent("a1"), at(0));
        // (now in minutes, window in minutes, a1 included)
        let cases = [(10, 11, true), (10, 10, true), (10, 9, false), (0, 0, true)];
        for (now, window, expected) in cases {
            let found = contacts.within(at(now), TimeDelta::minutes(window));
            assert_eq!(!found.is_empty(), expected, "now {now} window {window}");
        }
        assert_eq!(RecentContacts::new().latest(), None);
    }
}
