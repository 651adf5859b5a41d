//! `relay`: the bare WebSocket relay the hub is measured against (issue 8).
//!
//! Forwards each text frame a client sends on `/ws?session=KEY` to the other clients of that
//! session; nothing else. Prints `listening on ADDR` once bound, runs until SIGINT/SIGTERM.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;

use logistics_bridge::load::relay::{self, RelayConfig};

/// The same allocator as the hub, so that the yardstick runs on the same stack.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(version, about = "Bare WebSocket relay: the yardstick for the hub")]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:9090")]
    bind: SocketAddr,
    /// tungstenite read buffer per connection, bytes.
    #[arg(long, default_value_t = RelayConfig::default().read_buffer)]
    read_buffer: usize,
    /// Bytes gathered before a write reaches the socket (0: every frame at once).
    #[arg(long, default_value_t = RelayConfig::default().write_buffer)]
    write_buffer: usize,
    /// Most bytes waiting to be written per connection.
    #[arg(long, default_value_t = RelayConfig::default().max_write_buffer)]
    max_write_buffer: usize,
    #[arg(long, default_value_t = RelayConfig::default().max_message_bytes)]
    max_message_bytes: usize,
    /// Frames queued per connection before it is closed as a slow reader.
    #[arg(long, default_value_t = RelayConfig::default().outbox_capacity)]
    outbox: usize,
    /// Leave Nagle's algorithm on (for measuring what TCP_NODELAY is worth).
    #[arg(long)]
    no_nodelay: bool,
    /// Runtime worker threads (default: one per core, as the hub).
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let config = RelayConfig {
        read_buffer: args.read_buffer,
        write_buffer: args.write_buffer,
        max_write_buffer: args.max_write_buffer,
        max_message_bytes: args.max_message_bytes,
        outbox_capacity: args.outbox.max(1),
        nodelay: !args.no_nodelay,
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.threads {
        builder.worker_threads(threads.max(1));
    }
    let runtime = builder
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.bind)
            .await
            .with_context(|| format!("binding {}", args.bind))?;
        println!("listening on {}", listener.local_addr()?);
        relay::serve(listener, config, logistics_bridge::stop_signal()).await?;
        Ok(())
    })
}
