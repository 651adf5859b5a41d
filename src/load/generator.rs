//! One open-loop load run: set sessions up, send on schedule, drain, account, report.
//!
//! Timeline: sessions are set up (bounded concurrency); sending starts at `start_at` (so several
//! generator processes can start together) or right after setup; the first `warmup` is not
//! measured; the window of `duration` is; then sending stops, and the run waits up to `drain`
//! for every acknowledged message to reach its other members before it closes the connections
//! and checks, message by message, what never arrived.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::connect::{Connector, Endpoint};
use super::driver::{self, Framing, Joined, LoadSession, Outcome, Schedule, Shared};
use super::hub_session::{CourierPool, HubSetup, Tokens};
use super::payload::{Member, Stamp};
use super::scrape::{self, MetricsUrl};
use super::stats::{Latencies, Report, ServerUsage, StoreCommands, Tally};
use super::{LoadError, Target, procfs, relay_session};

#[derive(Debug, Clone)]
pub struct RunConfig {
    pub target: Target,
    pub url: String,
    /// The hub's `auth.secret`, to mint tokens (unused against the relay).
    pub secret: String,
    /// Makes user, shop and session names unique per process: `{prefix}b{i}`, ...
    pub prefix: String,
    pub sessions: usize,
    /// The share of sessions (0.0 to 1.0) that also get a courier.
    pub courier_share: f64,
    /// Messages per second this process sends, over all members of all sessions.
    pub rate: f64,
    pub warmup: Duration,
    pub duration: Duration,
    pub drain: Duration,
    pub payload_bytes: usize,
    pub connect_concurrency: usize,
    pub bind_ips: Vec<IpAddr>,
    pub read_buffer: usize,
    /// Each socket's `SO_SNDBUF` (see `Connector::with_send_buffer`); `None`: autotuned.
    pub send_buffer: Option<u32>,
    /// Bytes of frames each sender gathers before writing (see `Connector::with_write_buffer`).
    pub write_buffer: usize,
    pub start_at: Option<SystemTime>,
    /// Server processes (the hub, and its Redis) whose CPU time and memory are read, summed,
    /// over the window.
    pub watch_pids: Vec<u32>,
    /// The hub's `/metrics`, read at the window's start and end for the store's commands.
    pub metrics_url: Option<MetricsUrl>,
    pub splice_timeout: Duration,
    /// The pacer's shortest sleep (see `Schedule::tick`).
    pub tick: Duration,
}

/// Whether session `index` has a courier: spreads `share` evenly over the sessions.
pub fn has_courier(index: usize, share: f64) -> bool {
    let share = share.clamp(0.0, 1.0);
    ((index + 1) as f64 * share).floor() > (index as f64 * share).floor()
}

/// Runs the load and returns this process's report.
pub async fn run(config: &RunConfig) -> Result<Report, LoadError> {
    let endpoint = Endpoint::parse(&config.url)?;
    let connector = Connector::new(endpoint, config.bind_ips.clone(), config.read_buffer);
    let connector = connector
        .with_send_buffer(config.send_buffer)
        .with_write_buffer(config.write_buffer);
    let connector = Arc::new(connector);
    let tally = Tally::default();
    let mut report = Report {
        target: config.target.name().to_string(),
        processes: 1,
        offered_rate: config.rate,
        window_s: config.duration.as_secs_f64(),
        ..Report::default()
    };
    let sessions = set_up(config, &connector, &tally, &mut report).await;
    report.sessions = sessions.len() as u64;
    let senders: usize = sessions.iter().map(|s| s.members.len()).sum();
    let schedule = schedule(config, senders);
    let shared = Arc::new(Shared {
        schedule,
        tally,
        latencies: Latencies::default(),
        stop: CancellationToken::new(),
        wakeups: (0..senders).map(|_| Notify::new()).collect(),
    });
    let watch = (!config.watch_pids.is_empty())
        .then(|| tokio::spawn(watch_server(config.watch_pids.clone(), schedule)));
    let itself = tokio::spawn(watch_server(vec![std::process::id()], schedule));
    let scraping = config
        .metrics_url
        .clone()
        .map(|url| tokio::spawn(watch_store(url, Arc::clone(&shared))));
    let mut running = JoinSet::new();
    let mut first_sender = 0;
    for session in sessions {
        let count = session.members.len();
        running.spawn(driver::run(session, first_sender, Arc::clone(&shared)));
        first_sender += count;
    }
    let pacer = Arc::clone(&shared);
    std::thread::Builder::new()
        .name("pacer".into())
        .spawn(move || driver::pace(&pacer))?;
    tokio::time::sleep_until(schedule.end).await;
    report.drained = drain(&shared.tally, senders as u64, config.drain).await;
    shared.stop.cancel();
    let mut outcome = Outcome::default();
    while let Some(result) = running.join_next().await {
        if let Ok(session) = result {
            outcome.sent += session.sent;
            outcome.unacked += session.unacked;
            outcome.lost += session.lost;
        }
    }
    if let Some(watch) = watch {
        report.server = watch.await.ok().flatten();
    }
    let itself = itself.await.ok().flatten();
    report.generator_cpu_us = itself.map_or(0, |usage| usage.cpu_us);
    if let Some(scraping) = scraping {
        report.store = scraping.await.ok().flatten();
    }
    fill(&mut report, &shared, outcome);
    Ok(report)
}

/// Sets every session up, at most `connect_concurrency` at a time; failures are counted. On the
/// hub, couriers connect first as a pool, and each joins the session the hub gives it.
async fn set_up(
    config: &RunConfig,
    connector: &Arc<Connector>,
    tally: &Tally,
    report: &mut Report,
) -> Vec<LoadSession> {
    let tokens = Arc::new(Tokens::new(&config.secret));
    let couriers = (0..config.sessions)
        .filter(|&index| has_courier(index, config.courier_share))
        .count();
    report.couriers_expected = couriers as u64;
    let pool = match (config.target, couriers) {
        (Target::Hub, 1..) => {
            let setup = hub_setup(config, connector, &tokens);
            match CourierPool::connect(&setup, couriers).await {
                Ok(pool) => Some(pool),
                Err(error) => {
                    tally.error(format!("courier setup: {error}"));
                    None
                }
            }
        }
        _ => None,
    };
    let (mut sessions, accepted) = open_sessions(config, connector, &tokens, tally, report).await;
    if let Some(pool) = pool {
        let mut joined = pool.collect(accepted, config.splice_timeout).await;
        for session in &mut sessions {
            let Framing::Hub { session_id } = &session.framing else {
                continue;
            };
            let courier = session_id.parse().ok().and_then(|id| joined.remove(&id));
            if let Some(socket) = courier {
                session.members.push(Joined {
                    member: Member::Courier,
                    socket,
                });
            }
        }
    }
    report.couriers_joined = sessions.iter().filter(|s| s.members.len() > 2).count() as u64;
    sessions
}

fn hub_setup<'a>(
    config: &'a RunConfig,
    connector: &'a Connector,
    tokens: &'a Tokens,
) -> HubSetup<'a> {
    HubSetup {
        connector,
        tokens,
        prefix: &config.prefix,
        splice_timeout: config.splice_timeout,
    }
}

/// Opens every session; returns them and how many courier invites were accepted.
async fn open_sessions(
    config: &RunConfig,
    connector: &Arc<Connector>,
    tokens: &Arc<Tokens>,
    tally: &Tally,
    report: &mut Report,
) -> (Vec<LoadSession>, usize) {
    let permits = Arc::new(Semaphore::new(config.connect_concurrency.max(1)));
    let mut setups = JoinSet::new();
    for index in 0..config.sessions {
        let with_courier = has_courier(index, config.courier_share);
        let (connector, tokens, permits) = (connector.clone(), tokens.clone(), permits.clone());
        let config = config.clone();
        setups.spawn(async move {
            let _permit = permits.acquire_owned().await;
            match config.target {
                Target::Relay => {
                    relay_session::open(&connector, &config.prefix, index, with_courier)
                        .await
                        .map(|session| (session, None))
                }
                Target::Hub => {
                    let setup = hub_setup(&config, &connector, &tokens);
                    let opened = setup.open(index, with_courier).await;
                    opened.map(|hub| (hub.session, hub.splice))
                }
            }
        });
    }
    let mut sessions = Vec::with_capacity(config.sessions);
    let mut accepted = 0;
    while let Some(result) = setups.join_next().await {
        match result {
            Ok(Ok((session, splice))) => {
                match splice {
                    Some(Ok(())) => accepted += 1,
                    Some(Err(why)) => tally.other(&format!("courier not spliced: {why}")),
                    None => {}
                }
                sessions.push(session);
            }
            Ok(Err(error)) => {
                report.setup_failures += 1;
                tally.error(format!("setup: {error}"));
            }
            Err(error) => {
                report.setup_failures += 1;
                tally.error(format!("setup task: {error}"));
            }
        }
    }
    (sessions, accepted)
}

fn schedule(config: &RunConfig, senders: usize) -> Schedule {
    let now = Instant::now();
    let start = match config.start_at {
        Some(at) => match at.duration_since(SystemTime::now()) {
            Ok(wait) => now + wait,
            Err(_) => {
                eprintln!("loadgen: setup ended after --start-at; starting now");
                now
            }
        },
        None => now + Duration::from_millis(100),
    };
    let window_start = start + config.warmup;
    let end = window_start + config.duration;
    let stamp = Stamp::get();
    let rate = config.rate.max(f64::MIN_POSITIVE);
    Schedule {
        start,
        window_start,
        end,
        window_start_ns: stamp.at_ns(window_start.into_std()),
        window_end_ns: stamp.at_ns(end.into_std()),
        interval: Duration::from_secs_f64(senders.max(1) as f64 / rate),
        senders: senders.max(1) as u64,
        payload_bytes: config.payload_bytes,
        tick: config.tick,
    }
}

/// Waits until everything sent was acknowledged and delivered (true), or `limit` passed.
///
/// The sums only compare once every sender is done: a late sender's last batch can be read by
/// the other members (delivered) before it is counted as sent and owed, and those extra
/// deliveries would make up for a message still in flight.
async fn drain(tally: &Tally, senders: u64, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        let done = Tally::get(&tally.senders_done) >= senders;
        let acked = Tally::get(&tally.acked) >= Tally::get(&tally.sent);
        let delivered = Tally::get(&tally.delivered) >= Tally::get(&tally.owed);
        if done && acked && delivered {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The processes' CPU time and memory over the window, summed; `None` if /proc could not be
/// read.
async fn watch_server(pids: Vec<u32>, schedule: Schedule) -> Option<ServerUsage> {
    let sample = |pids: &[u32]| -> Option<(u64, u64)> {
        pids.iter().try_fold((0, 0), |(cpu, rss), &pid| {
            Some((
                cpu + procfs::cpu_micros(pid).ok()?,
                rss + procfs::rss_kib(pid).ok()?,
            ))
        })
    };
    tokio::time::sleep_until(schedule.window_start).await;
    let started = Instant::now();
    let (cpu_start, rss_kb_start) = sample(&pids)?;
    tokio::time::sleep_until(schedule.end).await;
    let (cpu_end, rss_kb_end) = sample(&pids)?;
    Some(ServerUsage {
        cpu_us: cpu_end.saturating_sub(cpu_start),
        window_s: started.elapsed().as_secs_f64(),
        rss_kb_start,
        rss_kb_end,
    })
}

/// The hub's store commands and stored messages over the window; `None` when the hub counts
/// no commands or its metrics could not be read (counted as an error).
async fn watch_store(url: MetricsUrl, shared: Arc<Shared>) -> Option<StoreCommands> {
    tokio::time::sleep_until(shared.schedule.window_start).await;
    let start = scrape::counters(&url).await;
    tokio::time::sleep_until(shared.schedule.end).await;
    let end = scrape::counters(&url).await;
    match (start, end) {
        (Ok(start), Ok(end)) => scrape::between(start, end),
        (Err(error), _) | (_, Err(error)) => {
            shared.tally.error(format!("metrics: {error}"));
            None
        }
    }
}

fn fill(report: &mut Report, shared: &Shared, outcome: Outcome) {
    let tally = &shared.tally;
    report.sent_in_window = Tally::get(&tally.sent_in_window);
    report.acked_in_window = Tally::get(&tally.acked_in_window);
    report.delivered_in_window = Tally::get(&tally.delivered_in_window);
    report.forwarded_in_window = Tally::get(&tally.forwarded_in_window);
    report.sent = Tally::get(&tally.sent);
    report.acked = Tally::get(&tally.acked);
    report.delivered = Tally::get(&tally.delivered);
    report.unacked = outcome.unacked;
    report.lost = outcome.lost;
    report.late_sends = Tally::get(&tally.late_sends);
    report.other_frames = tally.other_frames();
    report.errors = tally.errors();
    report.set_latencies(&shared.latencies.total());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_drain_waits_for_every_sender_before_comparing_sums() {
        // One message flushed and owed but still in flight; another sender's batch already read
        // by its peer but not yet counted: the sums agree while a message is missing.
        let tally = Tally::default();
        Tally::add(&tally.sent, 1);
        Tally::add(&tally.acked, 1);
        Tally::add(&tally.owed, 1);
        Tally::add(&tally.delivered, 1);
        Tally::add(&tally.senders_done, 1);
        assert!(!drain(&tally, 2, Duration::from_millis(30)).await);
        // The second sender counts its batch; the first message arrives.
        Tally::add(&tally.sent, 1);
        Tally::add(&tally.acked, 1);
        Tally::add(&tally.owed, 1);
        Tally::add(&tally.senders_done, 1);
        assert!(!drain(&tally, 2, Duration::from_millis(30)).await);
        Tally::add(&tally.delivered, 1);
        assert!(drain(&tally, 2, Duration::from_millis(30)).await);
    }

    #[test]
    fn couriers_are_spread_by_share() {
        let count = |share| (0..100).filter(|&i| has_courier(i, share)).count();
        assert_eq!(count(0.0), 0);
        assert_eq!(count(0.1), 10);
        assert_eq!(count(0.25), 25);
        assert_eq!(count(1.0), 100);
        assert!(!has_courier(0, 0.1) && has_courier(9, 0.1));
    }
}
