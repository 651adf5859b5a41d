//! The `logistics-bridge` binary: serve the hub, mint tokens, classify texts, check cases,
//! write schemas. Arguments, config and tracing live here; everything else is in the library.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use logistics_bridge::config::{Config, DEVELOPMENT_SECRET};
use logistics_bridge::domain::intent::Classifier;
use logistics_bridge::domain::order::Carrier;
use logistics_bridge::protocol::Role;
use logistics_bridge::protocol::ids::{ShopId, UserId};
use logistics_bridge::transport::auth::{Authenticator, Claims, expiry_in};
use logistics_bridge::{Parts, run};

/// mimalloc rather than the system allocator: the hub allocates small, short-lived buffers on
/// every message, and idle connections are measured in resident bytes; mimalloc is faster at
/// the first and returns freed pages sooner for the second (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(version, about = "Customer-service chat hub with courier splice")]
struct Args {
    /// The configuration file.
    #[arg(long, global = true, default_value = "config.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the hub.
    Serve,
    /// Mint a token signed with the configured secret.
    Token {
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        sub: UserId,
        /// The agent's shop.
        #[arg(long)]
        shop: Option<ShopId>,
        /// The courier's carrier code (ZTO, STO, YUNDA, YTO, ...).
        #[arg(long, value_parser = parse_carrier)]
        carrier: Option<Carrier>,
        /// How long the token lives, e.g. 24h, 30m.
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        ttl: Duration,
    },
    /// Classify buyer texts: one per line on stdin, one JSON object per line on stdout.
    Classify,
    /// Decide one eligibility case given as JSON and print the decision.
    Check {
        /// The case file (see schemas/cli/check-case.json).
        case: PathBuf,
    },
    /// Write the JSON Schemas of every wire message into a folder.
    Schemas {
        #[arg(long, default_value = "schemas")]
        out: PathBuf,
    },
}

fn parse_role(value: &str) -> Result<Role, String> {
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|_| format!("{value:?} is not one of buyer, agent, courier, admin"))
}

fn parse_carrier(value: &str) -> Result<Carrier, String> {
    Carrier::from_code(value).ok_or_else(|| format!("{value:?} is not a known carrier code"))
}

fn load_config(path: &PathBuf) -> anyhow::Result<Config> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
    };
    let env: HashMap<String, String> = std::env::vars().collect();
    Config::parse(&text, &env).with_context(|| format!("in {}", path.display()))
}

fn main() -> std::process::ExitCode {
    match run_command(Args::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_command(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Serve => serve(load_config(&args.config)?),
        Command::Token {
            role,
            sub,
            shop,
            carrier,
            ttl,
        } => {
            let config = load_config(&args.config)?;
            let auth = Authenticator::new(&config.auth.secret, config.auth.leeway);
            let claims = Claims {
                sub,
                role,
                shop,
                carrier,
                exp: expiry_in(ttl),
            };
            println!("{}", auth.mint(&claims)?);
            Ok(())
        }
        Command::Classify => {
            let classifier = Classifier::builtin();
            let stdin = std::io::stdin().lock();
            let stdout = std::io::BufWriter::new(std::io::stdout().lock());
            logistics_bridge::cli::classify::run(stdin, stdout, &classifier)?;
            Ok(())
        }
        Command::Check { case } => {
            let config = load_config(&args.config)?;
            let text = std::fs::read_to_string(&case)
                .with_context(|| format!("reading {}", case.display()))?;
            let decision = logistics_bridge::cli::check::run(
                &text,
                &config.logistics.eligibility,
                &Classifier::builtin(),
            )
            .with_context(|| format!("in {}", case.display()))?;
            println!("{decision}");
            Ok(())
        }
        Command::Schemas { out } => {
            let written = logistics_bridge::protocol::schema::write_all(&out)?;
            eprintln!("wrote {written} schemas to {}", out.display());
            Ok(())
        }
    }
}

fn serve(config: Config) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,logistics_bridge=info".into()),
        )
        .init();
    if config.auth.secret == DEVELOPMENT_SECRET {
        tracing::warn!("auth.secret is the shipped development secret; set LB_AUTH__SECRET");
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.server.bind)
            .await
            .with_context(|| format!("binding {}", config.server.bind))?;
        tracing::info!(address = %listener.local_addr()?, "serving");
        let parts = Parts::from_config(&config).await?;
        run(listener, config, parts, shutdown_signal()).await?;
        tracing::info!("stopped");
        Ok(())
    })
}

async fn shutdown_signal() {
    logistics_bridge::stop_signal().await;
    tracing::info!("shutdown signal received; draining");
}
