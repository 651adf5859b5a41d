//! What a connection has written, per session: the last `seq`.
//!
//! A connection follows a handful of sessions, so a short list searched in order beats a hash
//! map here, and it is 24 bytes instead of 48 in every connection's state.

use crate::protocol::ids::SessionId;

#[derive(Debug, Default)]
pub struct Delivered(Vec<(SessionId, u64)>);

impl Delivered {
    /// The last `seq` written in `session`, if any was.
    pub fn get(&self, session: SessionId) -> Option<u64> {
        self.0
            .iter()
            .find(|(s, _)| *s == session)
            .map(|(_, seq)| *seq)
    }

    /// Notes `seq` as the last written in `session`.
    pub fn set(&mut self, session: SessionId, seq: u64) {
        match self.0.iter_mut().find(|(s, _)| *s == session) {
            Some((_, last)) => *last = seq,
            None => self.0.push((session, seq)),
        }
    }

    /// Notes `seq` unless a later one was written already.
    pub fn raise(&mut self, session: SessionId, seq: u64) {
        let last = self.get(session).map_or(seq, |last| last.max(seq));
        self.set(session, last);
    }

    /// Every session followed, with its last `seq`.
    pub fn all(&self) -> Vec<(SessionId, u64)> {
        self.0.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_seq_per_session() {
        let (a, b) = (SessionId::new(), SessionId::new());
        let mut delivered = Delivered::default();
        assert_eq!(delivered.get(a), None);
        delivered.set(a, 3);
        delivered.raise(b, 5);
        delivered.raise(a, 2);
        assert_eq!(delivered.get(a), Some(3));
        delivered.set(a, 1);
        assert_eq!(delivered.get(a), Some(1));
        delivered.raise(a, 4);
        assert_eq!(delivered.all(), vec![(a, 4), (b, 5)]);
    }
}
