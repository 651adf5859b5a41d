//! What a load run counts and measures, and the report it writes.
//!
//! Counters are atomics shared by every connection task of a process ([`Tally`]); latencies go
//! into a few sharded HdrHistograms ([`Latencies`]) so tasks on different threads rarely meet on
//! a lock. A [`Report`] is plain data: it serialises to JSON so that reports of several
//! generator processes can be merged ([`Report::merge`]) and compared afterwards.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Latencies are recorded in microseconds, from 1 µs to 60 s, to three significant figures.
const HIGHEST_MICROS: u64 = 60_000_000;
const SHARDS: usize = 16;

/// A latency histogram in microseconds.
#[derive(Debug, Clone)]
pub struct Micros(Histogram<u64>);

impl Default for Micros {
    fn default() -> Self {
        // The bounds are constants that hdrhistogram accepts.
        let histogram = Histogram::new_with_bounds(1, HIGHEST_MICROS, 3)
            .unwrap_or_else(|_| unreachable!("constant histogram bounds are valid"));
        Micros(histogram)
    }
}

impl Micros {
    pub fn record_ns(&mut self, nanos: u64) {
        self.0.saturating_record((nanos / 1_000).max(1));
    }

    pub fn add(&mut self, other: &Micros) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.0.add(&other.0);
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// The value at `quantile` (0.0 to 1.0), in microseconds; 0 when empty.
    pub fn quantile(&self, quantile: f64) -> u64 {
        if self.0.is_empty() {
            return 0;
        }
        self.0.value_at_quantile(quantile)
    }

    pub fn max(&self) -> u64 {
        self.0.max()
    }

    fn dump(&self) -> Vec<(u64, u64)> {
        self.0
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    }

    fn load(pairs: &[(u64, u64)]) -> Micros {
        let mut micros = Micros::default();
        for &(value, count) in pairs {
            micros.0.saturating_record_n(value, count);
        }
        micros
    }
}

/// The two latencies of each delivered message: from its scheduled send time (open loop, what a
/// user would see, including any delay before the generator could write it) and from the moment
/// it was written.
#[derive(Debug, Clone, Default)]
pub struct LatencyPair {
    pub scheduled: Micros,
    pub written: Micros,
}

/// Sharded latency histograms for one process.
pub struct Latencies {
    shards: Vec<Mutex<LatencyPair>>,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }
}

impl Latencies {
    /// Records one delivery; `shard` is any number stable for the caller (its connection index).
    pub fn record(&self, shard: usize, scheduled_ns: u64, written_ns: u64) {
        // Held only for two array increments; never across an await.
        let mut pair = self.shards[shard % SHARDS]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        pair.scheduled.record_ns(scheduled_ns);
        pair.written.record_ns(written_ns);
    }

    pub fn total(&self) -> LatencyPair {
        let mut total = LatencyPair::default();
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            total.scheduled.add(&shard.scheduled);
            total.written.add(&shard.written);
        }
        total
    }
}

/// Counters shared by every task of one process. "In window" counts only events that happened
/// inside the measured window (after warm-up, before the end of sending).
#[derive(Debug, Default)]
pub struct Tally {
    pub sent: AtomicU64,
    pub sent_in_window: AtomicU64,
    pub acked: AtomicU64,
    pub acked_in_window: AtomicU64,
    pub delivered: AtomicU64,
    pub delivered_in_window: AtomicU64,
    /// Relay messages that reached their sender's first peer (`Member::first_peer`) inside the
    /// window: what the relay took in and forwarded, each message counted once.
    pub forwarded_in_window: AtomicU64,
    /// Deliveries owed: for each acknowledged message, one per other member of its session.
    pub owed: AtomicU64,
    /// Sends that left their schedule by more than `driver::LATE` (the generator fell behind).
    pub late_sends: AtomicU64,
    /// Senders that have written (and counted) everything they will write.
    pub senders_done: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    /// Frames that were neither a payload nor its ack, by type (setup leftovers, notices).
    other_frames: Mutex<BTreeMap<String, u64>>,
}

impl Tally {
    pub fn add(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Counts an error by a short stable name (`error:rate_limited`, `close:4001`, ...).
    pub fn error(&self, name: impl Into<String>) {
        let mut errors = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
        *errors.entry(name.into()).or_default() += 1;
    }

    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Counts a frame that was neither a payload nor its ack.
    pub fn other(&self, kind: &str) {
        let mut other = self
            .other_frames
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match other.get_mut(kind) {
            Some(count) => *count += 1,
            None => {
                other.insert(kind.to_string(), 1);
            }
        }
    }

    pub fn other_frames(&self) -> BTreeMap<String, u64> {
        self.other_frames
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The server process's CPU time and resident memory over the measured window, read from /proc.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerUsage {
    pub cpu_us: u64,
    pub window_s: f64,
    pub rss_kb_start: u64,
    pub rss_kb_end: u64,
}

/// The store commands the hub sent over the window, and the messages it stored meanwhile (its
/// own counters, read from `/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreCommands {
    pub commands: u64,
    pub messages: u64,
}

impl StoreCommands {
    pub fn per_message(&self) -> Option<f64> {
        (self.messages > 0).then(|| self.commands as f64 / self.messages as f64)
    }
}

/// One run's figures, from one generator process or merged from several.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    pub target: String,
    pub processes: u32,
    pub sessions: u64,
    pub setup_failures: u64,
    pub couriers_expected: u64,
    pub couriers_joined: u64,
    /// Messages per second asked for, summed over processes.
    pub offered_rate: f64,
    pub window_s: f64,
    pub sent_in_window: u64,
    pub acked_in_window: u64,
    pub delivered_in_window: u64,
    /// The relay's messages forwarded in the window (see `Tally::forwarded_in_window`).
    #[serde(default)]
    pub forwarded_in_window: u64,
    pub sent: u64,
    pub acked: u64,
    pub delivered: u64,
    /// Whether every message was acknowledged and delivered before the drain timeout. When not
    /// (a saturating run leaves a backlog), `unacked` and `lost` count messages still in flight.
    pub drained: bool,
    /// Sent but never acknowledged (the hub only; the bare relay has no acks).
    pub unacked: u64,
    /// Acknowledged (for the relay: written) but never received by some other member.
    pub lost: u64,
    pub late_sends: u64,
    /// Frames that were neither a payload nor its ack, by type.
    pub other_frames: BTreeMap<String, u64>,
    pub errors: BTreeMap<String, u64>,
    pub latency_scheduled_us: Vec<(u64, u64)>,
    pub latency_written_us: Vec<(u64, u64)>,
    pub server: Option<ServerUsage>,
    /// The hub's store commands over the window, when its metrics were read (`--metrics-url`)
    /// and its store counts them (Redis).
    #[serde(default)]
    pub store: Option<StoreCommands>,
    /// The generator processes' own CPU time over the window, summed: on a machine they share
    /// with the server, what they take the server cannot have.
    #[serde(default)]
    pub generator_cpu_us: u64,
}

/// The figures derived from a report, as printed and compared.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    /// Messages the server took in per second (hub: acknowledged; relay: written).
    pub in_per_s: f64,
    pub delivered_per_s: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    pub written_p50_us: u64,
    pub written_p99_us: u64,
    pub written_p999_us: u64,
    /// Server CPU time per message taken in, when the server was watched.
    pub cpu_us_per_msg: Option<f64>,
    /// Cores the server kept busy over the window, when watched.
    pub server_cores: Option<f64>,
    /// Store commands per message the hub stored, when its metrics were read.
    pub store_commands_per_msg: Option<f64>,
    /// Cores the generator processes kept busy over the window.
    pub generator_cores: f64,
}

impl Report {
    pub fn set_latencies(&mut self, pair: &LatencyPair) {
        self.latency_scheduled_us = pair.scheduled.dump();
        self.latency_written_us = pair.written.dump();
    }

    pub fn latencies(&self) -> LatencyPair {
        LatencyPair {
            scheduled: Micros::load(&self.latency_scheduled_us),
            written: Micros::load(&self.latency_written_us),
        }
    }

    /// Messages the server took in during the window: for the hub those it acknowledged; for
    /// the relay, which acknowledges nothing, those it forwarded. (What the generator wrote is
    /// no measure of the relay: at saturation much of it still waits in the relay's socket
    /// buffers when the window ends, and how much varies by a third from run to run.)
    pub fn messages_in(&self) -> u64 {
        if self.target == "hub" {
            self.acked_in_window
        } else if self.forwarded_in_window > 0 {
            self.forwarded_in_window
        } else {
            // A report written before the count existed.
            self.sent_in_window
        }
    }

    /// Whether a saturating run had no failure: every session set up and no error. Its backlog
    /// is still in flight when it stops, so losses are not judged.
    pub fn is_clean_saturated(&self) -> bool {
        self.setup_failures == 0 && self.errors.is_empty() && self.delivered > 0
    }

    /// Whether the run had no failure: every session set up, no error, everything drained and
    /// nothing lost or unacked.
    pub fn is_clean(&self) -> bool {
        self.setup_failures == 0
            && self.errors.is_empty()
            && self.drained
            && self.lost == 0
            && self.unacked == 0
            && self.delivered > 0
    }

    pub fn summary(&self) -> Summary {
        let latencies = self.latencies();
        let window = self.window_s.max(f64::MIN_POSITIVE);
        let in_per_s = self.messages_in() as f64 / window;
        let cpu_us_per_msg = self.server.as_ref().and_then(|server| {
            let messages = in_per_s * server.window_s;
            (messages > 0.0).then(|| server.cpu_us as f64 / messages)
        });
        let server_cores = self
            .server
            .as_ref()
            .map(|server| server.cpu_us as f64 / (server.window_s.max(f64::MIN_POSITIVE) * 1e6));
        Summary {
            server_cores,
            in_per_s,
            delivered_per_s: self.delivered_in_window as f64 / window,
            p50_us: latencies.scheduled.quantile(0.5),
            p99_us: latencies.scheduled.quantile(0.99),
            p999_us: latencies.scheduled.quantile(0.999),
            max_us: latencies.scheduled.max(),
            written_p50_us: latencies.written.quantile(0.5),
            written_p99_us: latencies.written.quantile(0.99),
            written_p999_us: latencies.written.quantile(0.999),
            cpu_us_per_msg,
            store_commands_per_msg: self.store.and_then(|store| store.per_message()),
            generator_cores: self.generator_cpu_us as f64 / (window * 1e6),
        }
    }

    /// Adds up reports of processes that ran side by side against one server.
    pub fn merge(reports: &[Report]) -> Report {
        let mut total = Report::default();
        let mut latencies = LatencyPair::default();
        for report in reports {
            total.add_counts(report);
            let theirs = report.latencies();
            latencies.scheduled.add(&theirs.scheduled);
            latencies.written.add(&theirs.written);
        }
        // Processes share one window; the server was watched by the first that watched it.
        total.window_s = reports.iter().map(|r| r.window_s).fold(0.0, f64::max);
        total.server = reports.iter().find_map(|r| r.server.clone());
        total.store = reports.iter().find_map(|r| r.store);
        total.generator_cpu_us = reports.iter().map(|r| r.generator_cpu_us).sum();
        total.set_latencies(&latencies);
        total
    }

    fn add_counts(&mut self, other: &Report) {
        if self.target.is_empty() {
            self.target = other.target.clone();
            self.drained = true;
        }
        self.drained &= other.drained;
        self.processes += other.processes.max(1);
        self.sessions += other.sessions;
        self.setup_failures += other.setup_failures;
        self.couriers_expected += other.couriers_expected;
        self.couriers_joined += other.couriers_joined;
        self.offered_rate += other.offered_rate;
        self.sent_in_window += other.sent_in_window;
        self.acked_in_window += other.acked_in_window;
        self.delivered_in_window += other.delivered_in_window;
        self.forwarded_in_window += other.forwarded_in_window;
        self.sent += other.sent;
        self.acked += other.acked;
        self.delivered += other.delivered;
        self.unacked += other.unacked;
        self.lost += other.lost;
        self.late_sends += other.late_sends;
        for (name, count) in &other.errors {
            *self.errors.entry(name.clone()).or_default() += count;
        }
        for (kind, count) in &other.other_frames {
            *self.other_frames.entry(kind.clone()).or_default() += count;
        }
    }

    /// A human-readable block of the report's figures.
    pub fn render(&self) -> String {
        let s = self.summary();
        let cpu = match (s.cpu_us_per_msg, s.server_cores) {
            (Some(cpu), Some(cores)) => format!("{cpu:.2} µs/msg, {cores:.2} cores busy"),
            _ => "not watched".to_string(),
        };
        let errors = listing(&self.errors);
        let other = listing(&self.other_frames);
        let store = match (self.store, s.store_commands_per_msg) {
            (Some(store), Some(per_message)) => format!(
                "\nstore commands {per_message:.2} per message ({} commands, {} messages stored)",
                store.commands, store.messages
            ),
            _ => String::new(),
        };
        format!(
            "target {target}: {processes} process(es), {sessions} sessions, {failures} setup failures, couriers {joined}/{expected}\n\
             offered {offered:.0} msg/s over {window:.1} s window\n\
             in {in_rate:.0} msg/s, delivered {delivered:.0} msg/s (late sends {late})\n\
             latency from schedule p50 {p50} µs, p99 {p99} µs, p99.9 {p999} µs, max {max} µs\n\
             latency from write    p50 {wp50} µs, p99 {wp99} µs, p99.9 {wp999} µs\n\
             totals sent {sent}, acked {acked}, delivered {delivered_total}; unacked {unacked}; acked but never delivered {lost}{drained}\n\
             errors {errors}; other frames {other}; server cpu {cpu}; generator {generator:.2} cores busy{store}",
            target = self.target,
            generator = s.generator_cores,
            processes = self.processes,
            sessions = self.sessions,
            failures = self.setup_failures,
            joined = self.couriers_joined,
            expected = self.couriers_expected,
            offered = self.offered_rate,
            window = self.window_s,
            in_rate = s.in_per_s,
            delivered = s.delivered_per_s,
            late = self.late_sends,
            p50 = s.p50_us,
            p99 = s.p99_us,
            p999 = s.p999_us,
            max = s.max_us,
            wp50 = s.written_p50_us,
            wp99 = s.written_p99_us,
            wp999 = s.written_p999_us,
            sent = self.sent,
            acked = self.acked,
            delivered_total = self.delivered,
            unacked = self.unacked,
            lost = self.lost,
            drained = if self.drained {
                ""
            } else {
                " (not drained: the run stopped with messages in flight)"
            },
        )
    }
}

/// `name=count name=count`, or `none`.
fn listing(counts: &BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "none".to_string();
    }
    let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(target: &str, delivered_in_window: u64, latency_us: u64) -> Report {
        let mut pair = LatencyPair::default();
        pair.scheduled.record_ns(latency_us * 1_000);
        pair.written.record_ns(latency_us * 1_000);
        let mut report = Report {
            target: target.into(),
            processes: 1,
            window_s: 10.0,
            drained: true,
            sent_in_window: delivered_in_window,
            acked_in_window: delivered_in_window,
            delivered_in_window,
            delivered: delivered_in_window,
            ..Report::default()
        };
        report.set_latencies(&pair);
        report
    }

    #[test]
    fn the_relay_took_in_what_it_forwarded_not_what_was_written() {
        let mut relay = report("relay", 1_000, 100);
        // Written, but much of it still in the relay's socket buffers when the window ended.
        relay.sent_in_window = 5_000;
        relay.forwarded_in_window = 900;
        assert_eq!(relay.messages_in(), 900);
        let merged = Report::merge(&[relay.clone(), relay.clone()]);
        assert_eq!(merged.messages_in(), 1_800);
        // A report from before the count existed.
        relay.forwarded_in_window = 0;
        assert_eq!(relay.messages_in(), 5_000);
        // The hub's intake is what it acknowledged.
        let mut hub = report("hub", 1_000, 100);
        hub.forwarded_in_window = 7;
        assert_eq!(hub.messages_in(), 1_000);
    }

    #[test]
    fn merged_reports_add_counts_and_histograms() {
        let merged = Report::merge(&[report("hub", 1_000, 100), report("hub", 3_000, 300)]);
        assert_eq!(merged.processes, 2);
        assert_eq!(merged.delivered_in_window, 4_000);
        let summary = merged.summary();
        assert!((summary.in_per_s - 400.0).abs() < 1e-9);
        assert_eq!(merged.latencies().scheduled.count(), 2);
        assert!(summary.p99_us >= 299 && summary.p99_us <= 301);
    }

    #[test]
    fn generator_cpu_adds_up_over_processes() {
        let mut one = report("hub", 1_000, 100);
        let mut two = report("hub", 1_000, 100);
        one.generator_cpu_us = 3_000_000;
        two.generator_cpu_us = 2_000_000;
        let merged = Report::merge(&[one, two]);
        // 5 s of CPU over the 10 s window.
        assert!((merged.summary().generator_cores - 0.5).abs() < 1e-9);
    }

    #[test]
    fn a_report_survives_json() {
        let original = report("relay", 10, 50);
        let text = serde_json::to_string(&original).expect("serialise");
        let back: Report = serde_json::from_str(&text).expect("parse");
        assert_eq!(back.summary(), original.summary());
    }

    #[test]
    fn cpu_per_message_uses_the_watched_window() {
        let mut report = report("hub", 100_000, 10);
        report.server = Some(ServerUsage {
            cpu_us: 500_000,
            window_s: 10.0,
            ..ServerUsage::default()
        });
        // 10,000 msg/s over a 10 s watched window is 100,000 messages for 0.5 s of CPU.
        assert_eq!(report.summary().cpu_us_per_msg, Some(5.0));
    }

    #[test]
    fn a_clean_run_has_no_failure_of_any_kind() {
        let clean = report("hub", 10, 50);
        assert!(clean.is_clean());
        let lost = Report {
            lost: 1,
            ..clean.clone()
        };
        assert!(!lost.is_clean());
        let mut errored = clean;
        errored.errors.insert("error:internal".into(), 1);
        assert!(!errored.is_clean());
    }
}
