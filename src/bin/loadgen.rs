//! `loadgen`: open-loop load against the hub or the bare relay (issue 8).
//!
//! `run` sends at a fixed rate and reports throughput, latency, errors and lost messages;
//! `idle` holds idle authenticated connections for memory measurements; `merge` adds up the
//! reports of several processes; `compare` turns hub and relay reports into the ratios of the
//! issue. `scripts/bench` drives all four; see BENCHMARKS.md.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use logistics_bridge::config::DEVELOPMENT_SECRET;
use logistics_bridge::load::Target;
use logistics_bridge::load::compare::{Comparison, IdleMemory};
use logistics_bridge::load::generator::{self, RunConfig};
use logistics_bridge::load::idle::{self, IdleConfig};
use logistics_bridge::load::scrape::MetricsUrl;
use logistics_bridge::load::stats::Report;

/// The same allocator as the servers: the generator shares their machine.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    version,
    about = "Open-loop load generator for the hub and the bare relay"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Send messages at a fixed rate and report.
    Run(RunArgs),
    /// Hold idle authenticated connections until SIGINT/SIGTERM or --hold.
    Idle(IdleArgs),
    /// Add up reports of processes that ran side by side.
    Merge {
        files: Vec<PathBuf>,
        /// Write the merged report here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Exit 1 unless the merged run had no error, loss or setup failure.
        #[arg(long)]
        require_clean: bool,
    },
    /// Print the hub-against-relay table from reports of one bench run.
    Compare(CompareArgs),
}

#[derive(Args)]
struct Common {
    #[arg(long, default_value = "hub", value_parser = parse_target)]
    target: Target,
    /// ws://IP:PORT/PATH of the server (loopback only in practice).
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    url: String,
    /// The hub's auth.secret, to mint tokens.
    #[arg(long, env = "LB_AUTH__SECRET", default_value = DEVELOPMENT_SECRET, hide_env_values = true)]
    secret: String,
    /// Makes names unique per process: users {prefix}b{i}, shops {prefix}s{i}, ...
    #[arg(long, default_value = "p0")]
    prefix: String,
    /// Source addresses to connect from, round robin (e.g. 127.0.0.2,127.0.0.3).
    #[arg(long, value_delimiter = ',')]
    bind_ips: Vec<IpAddr>,
    /// Connection setups in flight at once.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// tungstenite read buffer per client connection, bytes.
    #[arg(long, default_value_t = 8192)]
    read_buffer: usize,
    /// Runtime worker threads; 1 runs everything on the main thread.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    common: Common,
    /// Sessions (buyer + agent, plus a courier in --courier-share of them).
    #[arg(long, default_value_t = 100)]
    sessions: usize,
    #[arg(long, default_value_t = 0.0)]
    courier_share: f64,
    /// Messages per second sent by this process, over all members.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// The longest wait after sending stops for acks and deliveries to come in.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    drain: Duration,
    /// Bytes of text per message.
    #[arg(long, default_value_t = 64)]
    payload_bytes: usize,
    /// How long a courier session waits for the hub's invite card.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    splice_timeout: Duration,
    /// The pacer's shortest sleep: messages that fall due within one tick are sent together,
    /// up to a tick late (and charged for it: latency counts from the schedule). 0 wakes each
    /// sender exactly when due. Saturating runs use 1ms: a wake-up every few microseconds cost
    /// the generator a sixth of its core, taken from the server it shares the machine with.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    tick: Duration,
    /// Each socket's kernel send buffer (SO_SNDBUF), bytes; 0 leaves it to the kernel's
    /// autotuning. Against a server slower than the offered rate, autotuned buffers grow to
    /// megabytes that the generator spends its CPU filling with messages the server will not
    /// read within the run; capped, the sender waits and sends late instead.
    #[arg(long, default_value_t = 65536)]
    send_buffer: u32,
    /// Bytes of frames a sender gathers before writing them; 0 writes each frame on its own.
    /// A sender behind its schedule writes what fell due in one batch: gathered, the batch is
    /// one write(2) at its flush instead of one per message.
    #[arg(long, default_value_t = 65536)]
    write_buffer: usize,
    /// Start sending at this Unix time in milliseconds (to start several processes together).
    #[arg(long)]
    start_at_ms: Option<u64>,
    /// Read this server process's CPU time and memory over the measured window; repeat it to
    /// add up several (the hub and its Redis).
    #[arg(long)]
    watch_pid: Vec<u32>,
    /// The hub's metrics (http://IP:PORT/metrics; the hub serves them on its WebSocket
    /// address): its store commands and stored messages are read at the window's start and
    /// end, for "store commands per message".
    #[arg(long, value_parser = MetricsUrl::parse)]
    metrics_url: Option<MetricsUrl>,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Exit 1 unless the run had no error, loss or setup failure.
    #[arg(long)]
    require_clean: bool,
}

#[derive(Args)]
struct IdleArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Hold at most this long.
    #[arg(long, default_value = "120s", value_parser = humantime::parse_duration)]
    hold: Duration,
    /// Write `ready CONNECTED FAILED` here once every connection is up.
    #[arg(long)]
    ready_file: Option<PathBuf>,
}

#[derive(Args)]
struct CompareArgs {
    /// Saturation reports, hub then relay, pair after pair: HUB1 RELAY1 HUB2 RELAY2 ...
    #[arg(long, num_args = 0..)]
    throughput: Vec<PathBuf>,
    /// Fixed-rate reports, in pairs like --throughput.
    #[arg(long, num_args = 0..)]
    latency: Vec<PathBuf>,
    /// CONNECTIONS:RSS_KIB_AT_REST:RSS_KIB_LOADED of the hub.
    #[arg(long, value_parser = IdleMemory::parse)]
    idle_hub: Option<IdleMemory>,
    /// CONNECTIONS:RSS_KIB_AT_REST:RSS_KIB_LOADED of the relay.
    #[arg(long, value_parser = IdleMemory::parse)]
    idle_relay: Option<IdleMemory>,
}

fn parse_target(value: &str) -> Result<Target, String> {
    value.parse()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("loadgen: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs a command; `Ok(false)` when it ran but found a failure it was asked to check for.
fn dispatch(command: Command) -> anyhow::Result<bool> {
    match command {
        Command::Run(args) => run(args),
        Command::Idle(args) => hold_idle(args),
        Command::Merge {
            files,
            json,
            require_clean,
        } => {
            let reports = files
                .iter()
                .map(read_report)
                .collect::<anyhow::Result<Vec<_>>>()?;
            let merged = Report::merge(&reports);
            println!("{}", merged.render());
            if let Some(path) = json {
                write_report(&path, &merged)?;
            }
            Ok(!require_clean || merged.is_clean())
        }
        Command::Compare(args) => compare(args),
    }
}

fn runtime(threads: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(threads);
        builder
    };
    builder.enable_all().build().context("starting the runtime")
}

fn run(args: RunArgs) -> anyhow::Result<bool> {
    let common = args.common;
    let config = RunConfig {
        target: common.target,
        url: common.url,
        secret: common.secret,
        prefix: common.prefix,
        sessions: args.sessions,
        courier_share: args.courier_share,
        rate: args.rate,
        warmup: args.warmup,
        duration: args.duration,
        drain: args.drain,
        payload_bytes: args.payload_bytes,
        connect_concurrency: common.connect_concurrency,
        bind_ips: common.bind_ips,
        read_buffer: common.read_buffer,
        send_buffer: (args.send_buffer > 0).then_some(args.send_buffer),
        write_buffer: args.write_buffer,
        start_at: args
            .start_at_ms
            .map(|ms| UNIX_EPOCH + Duration::from_millis(ms)),
        watch_pids: args.watch_pid,
        metrics_url: args.metrics_url,
        splice_timeout: args.splice_timeout,
        tick: args.tick,
    };
    anyhow::ensure!(config.rate > 0.0, "--rate must be positive");
    let report = runtime(common.threads)?.block_on(generator::run(&config))?;
    println!("{}", report.render());
    if let Some(path) = args.json {
        write_report(&path, &report)?;
    }
    Ok(!args.require_clean || report.is_clean())
}

fn hold_idle(args: IdleArgs) -> anyhow::Result<bool> {
    let common = args.common;
    let config = IdleConfig {
        target: common.target,
        url: common.url,
        secret: common.secret,
        prefix: common.prefix,
        connections: args.connections,
        hold: args.hold,
        connect_concurrency: common.connect_concurrency,
        bind_ips: common.bind_ips,
        read_buffer: common.read_buffer,
    };
    let ready_file = args.ready_file;
    let ready = move |report: &idle::IdleReport| {
        let line = format!("ready {} {}\n", report.connected, report.failed);
        print!("{line}");
        if let Some(path) = &ready_file
            && let Err(error) = std::fs::write(path, &line)
        {
            eprintln!("loadgen: writing {}: {error}", path.display());
        }
    };
    let report = runtime(common.threads)?.block_on(idle::run(
        &config,
        ready,
        logistics_bridge::stop_signal(),
    ))?;
    println!(
        "idle: connected {}, failed {}, dropped by the server {}",
        report.connected, report.failed, report.dropped
    );
    for (error, count) in &report.errors {
        println!("  {count} × {error}");
    }
    Ok(report.failed == 0 && report.dropped == 0)
}

fn compare(args: CompareArgs) -> anyhow::Result<bool> {
    let comparison = Comparison {
        throughput: pairs(&args.throughput)?,
        latency: pairs(&args.latency)?,
        idle_hub: args.idle_hub,
        idle_relay: args.idle_relay,
    };
    println!("{}", comparison.render());
    Ok(comparison.is_clean())
}

fn pairs(files: &[PathBuf]) -> anyhow::Result<Vec<(Report, Report)>> {
    anyhow::ensure!(
        files.len().is_multiple_of(2),
        "reports come in hub/relay pairs"
    );
    files
        .chunks(2)
        .map(|pair| Ok((read_report(&pair[0])?, read_report(&pair[1])?)))
        .collect()
}

fn read_report(path: &PathBuf) -> anyhow::Result<Report> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn write_report(path: &PathBuf, report: &Report) -> anyhow::Result<()> {
    let text = serde_json::to_string(report)?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
