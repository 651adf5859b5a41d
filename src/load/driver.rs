//! A running load session: one sender and one receiver task per member connection.
//!
//! The sender is open loop: message `n` of sender `k` (of `senders` in the process) is due at
//! `start + (n * senders + k) * interval / senders`, and it is written when due whatever the
//! replies do. When the sender gets to run late (a busy CPU, a full socket) it writes every
//! overdue message at once, each stamped with its own scheduled time, so latency measured from
//! the schedule includes the wait (no coordinated omission). Senders are woken by a [`pace`]
//! thread that sleeps with the OS's high-resolution timers: tokio's timer wheel rounds every
//! deadline up to a whole millisecond, which would add about 1.5 ms of the generator's own
//! making to every latency measured from the schedule.
//!
//! The receiver reads acks and other members' messages, records latency, and keeps a bit per
//! sequence number so that the session can tell, at the end, which acknowledged messages never
//! reached some other member.

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;

use super::connect::Socket;
use super::payload::{self, Member, Stamp};
use super::receiver::{Bits, Reader, Seen};
use super::stats::{Latencies, Tally};

/// Messages written before one flush, at most.
const MAX_BATCH: u64 = 64;
/// A send this far behind its schedule counts as late.
const LATE: Duration = Duration::from_millis(10);
/// How long the closing frame may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// One connected member of a load session, past its setup.
pub struct Joined {
    pub member: Member,
    pub socket: Socket,
}

/// How a session's messages are framed on the wire.
#[derive(Debug, Clone)]
pub enum Framing {
    /// A hub `send` frame for this session id; the hub answers with an `ack`.
    Hub { session_id: String },
    /// The payload as the whole text frame; the relay sends no ack.
    Relay,
}

impl Framing {
    /// The frame for one message. The payload needs no JSON escaping (see `payload`).
    pub fn encode(&self, member: Member, seq: u64, scheduled_ns: u64, size: usize) -> String {
        let written_ns = Stamp::get().now_ns();
        match self {
            Framing::Relay => {
                let mut text = String::with_capacity(size + 48);
                payload::write(&mut text, member, seq, scheduled_ns, written_ns, size);
                text
            }
            Framing::Hub { session_id } => {
                let mut text = String::with_capacity(size + 160);
                text.push_str(r#"{"type":"send","session_id":""#);
                text.push_str(session_id);
                text.push_str(r#"","client_msg_id":""#);
                text.push(member.letter());
                text.push_str(&seq.to_string());
                text.push_str(r#"","body":{"kind":"text","text":""#);
                payload::write(&mut text, member, seq, scheduled_ns, written_ns, size);
                text.push_str(r#""}}"#);
                text
            }
        }
    }

    pub(super) fn has_acks(&self) -> bool {
        matches!(self, Framing::Hub { .. })
    }
}

/// The timing every session of a run shares.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// When the first message of the run is due.
    pub start: Instant,
    /// Start of the measured window (after the warm-up).
    pub window_start: Instant,
    /// No message is due at or after this; the measured window ends here.
    pub end: Instant,
    /// The measured window, as `Stamp` nanoseconds: [start + warm-up, end).
    pub window_start_ns: u64,
    pub window_end_ns: u64,
    /// Time between two messages of one member.
    pub interval: Duration,
    /// Members sending in this process.
    pub senders: u64,
    pub payload_bytes: usize,
    /// The pacer's shortest sleep. Zero wakes each sender when its message is due; a tick
    /// lets messages due within it go together, each up to a tick late and stamped with its
    /// own scheduled time, so the lateness shows in latency from the schedule.
    pub tick: Duration,
}

impl Schedule {
    pub(super) fn in_window(&self, stamp_ns: u64) -> bool {
        (self.window_start_ns..self.window_end_ns).contains(&stamp_ns)
    }

    /// When event `event` of the process is due: message `event / senders` of sender
    /// `event % senders`. Senders' phases are spread evenly over one interval.
    pub fn due(&self, event: u64) -> Instant {
        let nanos = u128::from(event) * self.interval.as_nanos() / u128::from(self.senders.max(1));
        self.start + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX / 2))
    }
}

/// Wakes each sender when its next message is due, until the end of the schedule; runs on its
/// own OS thread. Wake-ups that fall due together are sent together.
pub fn pace(shared: &Shared) {
    let schedule = &shared.schedule;
    if shared.wakeups.is_empty() {
        return;
    }
    let mut event = 0;
    loop {
        let due = schedule.due(event).into_std();
        if due >= schedule.end.into_std() {
            break;
        }
        let now = std::time::Instant::now();
        if let Some(sleep) = pacer_sleep(due, now, schedule.tick) {
            std::thread::sleep(sleep);
            continue;
        }
        while schedule.due(event).into_std() <= now && schedule.due(event) < schedule.end {
            shared.wakeups[(event % schedule.senders) as usize].notify_one();
            event += 1;
        }
    }
    for wakeup in &shared.wakeups {
        wakeup.notify_one();
    }
}

/// How long the pacer sleeps before the next message due at `due`: none when it is due already,
/// else until it is due but never less than `tick`. Each wake-up of the pacer (and of the
/// runtime it notifies) costs a few microseconds of the generator's CPU; at saturating rates
/// messages are microseconds apart, and without a tick those wake-ups took a sixth of its core.
fn pacer_sleep(
    due: std::time::Instant,
    now: std::time::Instant,
    tick: Duration,
) -> Option<Duration> {
    (due > now).then(|| (due - now).max(tick))
}

/// What every task of one process shares.
pub struct Shared {
    pub schedule: Schedule,
    pub tally: Tally,
    pub latencies: Latencies,
    /// Tells receivers (and then senders) to close: the run is over.
    pub stop: CancellationToken,
    /// One per sender, woken by [`pace`].
    pub wakeups: Vec<Notify>,
}

/// A session, ready to run.
pub struct LoadSession {
    pub framing: Framing,
    pub members: Vec<Joined>,
}

/// What a session found once it stopped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub sent: u64,
    pub unacked: u64,
    /// Acknowledged (relay: written) messages some other member never received.
    pub lost: u64,
}

/// Runs a session until `shared.stop`; `first_sender` numbers its senders among the process's.
pub async fn run(session: LoadSession, first_sender: usize, shared: Arc<Shared>) -> Outcome {
    let fanout = session.members.len().saturating_sub(1) as u64;
    let mut writers = JoinSet::new();
    let mut readers = JoinSet::new();
    for (offset, joined) in session.members.into_iter().enumerate() {
        let sender_index = first_sender + offset;
        let (sink, stream) = joined.socket.split();
        let writer = Writer {
            sink,
            framing: session.framing.clone(),
            member: joined.member,
            index: sender_index,
            fanout,
            shared: Arc::clone(&shared),
        };
        writers.spawn(writer.run());
        let reader = Reader {
            framing: session.framing.clone(),
            member: joined.member,
            shard: sender_index,
            fanout,
            seen: Seen::default(),
            shared: Arc::clone(&shared),
        };
        readers.spawn(reader.run(stream));
    }
    let mut written = [None; 3];
    while let Some(result) = writers.join_next().await {
        if let Ok((member, count)) = result {
            written[member.index()] = Some(count);
        }
    }
    let mut seen: [Option<Seen>; 3] = Default::default();
    while let Some(result) = readers.join_next().await {
        if let Ok(reader_seen) = result {
            let index = reader_seen.member.index();
            seen[index] = Some(reader_seen);
        }
    }
    account(&session.framing, &written, &seen)
}

/// Compares what each member sent and had acknowledged with what the others received.
fn account(framing: &Framing, written: &[Option<Written>; 3], seen: &[Option<Seen>; 3]) -> Outcome {
    let mut outcome = Outcome::default();
    for sender in Member::ALL {
        let (Some(wrote), Some(own)) = (written[sender.index()], &seen[sender.index()]) else {
            continue;
        };
        outcome.sent += wrote.sent;
        let acked = if framing.has_acks() {
            own.acked.clone()
        } else {
            Bits::first(wrote.flushed)
        };
        outcome.unacked += wrote.sent.saturating_sub(acked.count());
        for receiver in seen.iter().flatten().filter(|s| s.member != sender) {
            outcome.lost += acked.count_missing_in(&receiver.received[sender.index()]);
        }
    }
    outcome
}

/// How many messages a sender wrote, and how many of those were flushed to the socket.
#[derive(Debug, Clone, Copy, Default)]
struct Written {
    sent: u64,
    flushed: u64,
}

struct Writer {
    sink: SplitSink<Socket, Message>,
    framing: Framing,
    member: Member,
    /// This sender's number in the process.
    index: usize,
    fanout: u64,
    shared: Arc<Shared>,
}

impl Writer {
    async fn run(mut self) -> (Member, Written) {
        let mut written = Written::default();
        // A write can wait for good: a saturated server that stopped reading this socket while
        // its own writes to our stopped readers wait. The end of the run ends it (what it held
        // was never sent).
        let stop = self.shared.stop.clone();
        let sent = tokio::select! {
            sent = self.send_all(&mut written) => sent,
            () = stop.cancelled() => Ok(()),
        };
        if let Err(error) = sent {
            self.shared.tally.error(format!("write: {error}"));
        }
        // Only now is this sender's share of `sent` and `owed` final: the drain waits for it.
        Tally::add(&self.shared.tally.senders_done, 1);
        self.shared.stop.cancelled().await;
        let close = self.sink.send(Message::Close(None));
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, close).await;
        (self.member, written)
    }

    async fn send_all(
        &mut self,
        written: &mut Written,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        let schedule = self.shared.schedule;
        let stamp = Stamp::get();
        let wakeup = &self.shared.wakeups[self.index];
        let due_of = |seq: u64| schedule.due(seq * schedule.senders + self.index as u64);
        loop {
            let mut due = due_of(written.sent);
            if due >= schedule.end {
                return Ok(());
            }
            let now = Instant::now();
            if due > now {
                wakeup.notified().await;
                continue;
            }
            let mut batch = 0;
            let mut in_window = 0;
            while due <= now && due < schedule.end && batch < MAX_BATCH {
                let scheduled_ns = stamp.at_ns(due.into_std());
                let text = self.framing.encode(
                    self.member,
                    written.sent,
                    scheduled_ns,
                    schedule.payload_bytes,
                );
                self.sink.feed(Message::Text(Utf8Bytes::from(text))).await?;
                if now.saturating_duration_since(due) > LATE {
                    Tally::add(&self.shared.tally.late_sends, 1);
                }
                in_window += u64::from(schedule.in_window(stamp.now_ns()));
                written.sent += 1;
                batch += 1;
                due = due_of(written.sent);
            }
            self.sink.flush().await?;
            written.flushed = written.sent;
            self.count(batch, in_window);
        }
    }

    fn count(&self, batch: u64, in_window: u64) {
        let tally = &self.shared.tally;
        Tally::add(&tally.sent, batch);
        Tally::add(&tally.sent_in_window, in_window);
        if !self.framing.has_acks() {
            // The relay acknowledges nothing: a flushed write is as far as the client can know.
            Tally::add(&tally.acked, batch);
            Tally::add(&tally.acked_in_window, in_window);
            Tally::add(&tally.owed, batch * self.fanout);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ClientMessage;

    #[test]
    fn a_hub_frame_is_a_valid_send() {
        let framing = Framing::Hub {
            session_id: "0190b1a2-0000-7000-8000-000000000001".into(),
        };
        let text = framing.encode(Member::Agent, 17, 123, 80);
        let message: ClientMessage = serde_json::from_str(&text).expect("a client message");
        let ClientMessage::Send {
            client_msg_id,
            body,
            ..
        } = message
        else {
            panic!("not a send: {text}");
        };
        assert_eq!(client_msg_id.as_str(), "a17");
        let crate::protocol::ClientBody::Text { text } = body else {
            panic!("not text");
        };
        let parsed = payload::parse(&text).expect("a payload");
        assert_eq!(
            (parsed.sender, parsed.seq, parsed.scheduled_ns),
            (Member::Agent, 17, 123)
        );
    }

    fn seen(member: Member, acked: u64, received: [u64; 3]) -> Option<Seen> {
        Some(Seen {
            member,
            acked: Bits::first(acked),
            received: received.map(Bits::first),
        })
    }

    #[test]
    fn a_session_counts_acked_messages_the_other_member_missed() {
        let framing = Framing::Hub {
            session_id: "s".into(),
        };
        let written = [
            Some(Written {
                sent: 10,
                flushed: 10,
            }),
            Some(Written {
                sent: 5,
                flushed: 5,
            }),
            None,
        ];
        // The buyer's 10 were acked but the agent got 8; the agent's 5: 4 acked, all received.
        let seen = [
            seen(Member::Buyer, 10, [0, 5, 0]),
            seen(Member::Agent, 4, [8, 0, 0]),
            None,
        ];
        let outcome = account(&framing, &written, &seen);
        assert_eq!(
            outcome,
            Outcome {
                sent: 15,
                unacked: 1,
                lost: 2
            }
        );
    }

    #[test]
    fn the_pacer_sleeps_until_due_but_at_least_a_tick() {
        let now = std::time::Instant::now();
        let us = Duration::from_micros;
        // One row per boundary: (due after now, tick) -> sleep.
        let rows = [
            (0, 0, None),
            (0, 1000, None),
            (5, 0, Some(us(5))),
            (5, 1000, Some(us(1000))),
            (1000, 1000, Some(us(1000))),
            (1500, 1000, Some(us(1500))),
        ];
        for (after, tick, expected) in rows {
            let sleep = pacer_sleep(now + us(after), now, us(tick));
            assert_eq!(sleep, expected, "due in {after} µs, tick {tick} µs");
        }
        // Overdue: no sleep, whatever the tick.
        assert_eq!(pacer_sleep(now, now + us(3), us(1000)), None);
    }
}
