//! The text every load message carries, and the clock its timestamps come from.
//!
//! A payload is `<role><seq>.<scheduled_ns>.<written_ns>.` padded with `x` to the size asked:
//! the sender's role letter (`b`, `a`, `c`), its own sequence number, the time the open-loop
//! schedule said to send it, and the time it was actually encoded. Both times are nanoseconds
//! on the process's [`Stamp`] clock, so the receiving client (always in the same process as the
//! sender) computes latency without trusting another machine's clock. Only ASCII letters, digits
//! and dots appear, so the payload goes into JSON without escaping.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Which member of a load session sent a message; indexes per-sender bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Member {
    Buyer = 0,
    Agent = 1,
    Courier = 2,
}

impl Member {
    pub const ALL: [Member; 3] = [Member::Buyer, Member::Agent, Member::Courier];

    pub fn letter(self) -> char {
        match self {
            Member::Buyer => 'b',
            Member::Agent => 'a',
            Member::Courier => 'c',
        }
    }

    pub fn from_letter(letter: u8) -> Option<Member> {
        match letter {
            b'b' => Some(Member::Buyer),
            b'a' => Some(Member::Agent),
            b'c' => Some(Member::Courier),
            _ => None,
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// The member that counts a message of this sender as forwarded: every session has a
    /// buyer and an agent, so each message is counted at exactly one receiver.
    pub fn first_peer(self) -> Member {
        match self {
            Member::Buyer => Member::Agent,
            Member::Agent | Member::Courier => Member::Buyer,
        }
    }
}

/// Nanoseconds since the Unix epoch, read from the monotonic clock after one anchoring read of
/// the wall clock, so stamps never go backwards within a process.
pub struct Stamp {
    anchor: Instant,
    anchor_unix_ns: u64,
}

impl Stamp {
    /// The process-wide clock.
    pub fn get() -> &'static Stamp {
        static STAMP: OnceLock<Stamp> = OnceLock::new();
        STAMP.get_or_init(|| {
            let unix = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            Stamp {
                anchor: Instant::now(),
                anchor_unix_ns: u64::try_from(unix.as_nanos()).unwrap_or(u64::MAX),
            }
        })
    }

    pub fn now_ns(&self) -> u64 {
        self.at_ns(Instant::now())
    }

    /// The stamp of an instant (instants before the anchor map to the anchor).
    pub fn at_ns(&self, instant: Instant) -> u64 {
        let since = instant.saturating_duration_since(self.anchor);
        self.anchor_unix_ns + u64::try_from(since.as_nanos()).unwrap_or(u64::MAX / 2)
    }
}

/// What a receiver reads back from a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    pub sender: Member,
    pub seq: u64,
    pub scheduled_ns: u64,
    pub written_ns: u64,
}

/// Appends a payload to `out` (which the caller clears or reuses).
pub fn write(
    out: &mut String,
    sender: Member,
    seq: u64,
    scheduled_ns: u64,
    written_ns: u64,
    size: usize,
) {
    let start = out.len();
    // Writing to a String cannot fail.
    let _ = write!(out, "{}{seq}.{scheduled_ns}.{written_ns}.", sender.letter());
    let written = out.len() - start;
    out.extend(std::iter::repeat_n('x', size.saturating_sub(written)));
}

/// Reads a payload; `None` for any text that is not one.
pub fn parse(text: &str) -> Option<Parsed> {
    let bytes = text.as_bytes();
    let sender = Member::from_letter(*bytes.first()?)?;
    let mut fields = text.get(1..)?.splitn(4, '.');
    let seq = fields.next()?.parse().ok()?;
    let scheduled_ns = fields.next()?.parse().ok()?;
    let written_ns = fields.next()?.parse().ok()?;
    fields.next()?;
    Some(Parsed {
        sender,
        seq,
        scheduled_ns,
        written_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_reads_back() {
        let mut text = String::new();
        write(&mut text, Member::Agent, 42, 1_000, 1_500, 64);
        assert_eq!(text.len(), 64);
        let parsed = parse(&text).expect("a payload");
        assert_eq!(
            parsed,
            Parsed {
                sender: Member::Agent,
                seq: 42,
                scheduled_ns: 1_000,
                written_ns: 1_500,
            }
        );
    }

    #[test]
    fn a_small_size_keeps_the_whole_header() {
        let mut text = String::new();
        write(&mut text, Member::Courier, 7, 9, 10, 1);
        assert_eq!(text, "c7.9.10.");
        assert!(parse(&text).is_some());
    }

    #[test]
    fn other_texts_are_not_payloads() {
        for text in [
            "",
            "hello",
            "b1.2",
            "z1.2.3.",
            "b.2.3.",
            "快递显示签收了但我没收到",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn stamps_do_not_go_backwards() {
        let stamp = Stamp::get();
        let first = stamp.now_ns();
        let second = stamp.now_ns();
        assert!(second >= first);
    }
}
