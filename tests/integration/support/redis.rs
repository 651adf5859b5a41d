//! A real redis-server for tests: its own process on a free port, stopped on drop.
//!
//! Tests never skip for want of Redis: without `redis-server` on PATH, `start` panics and says
//! to run `scripts/install-redis` (which `scripts/test` does first).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a fresh server may take to answer PING.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct RedisServer {
    port: u16,
    /// A directory of its own, for append-only files; removed on drop.
    dir: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
}

impl RedisServer {
    /// An in-memory server: no snapshots, no append-only file.
    pub fn start() -> RedisServer {
        RedisServer::start_with(&["--save", "", "--appendonly", "no"])
    }

    /// A server with extra arguments, for example
    /// `["--appendonly", "yes", "--appendfsync", "always"]`; its `--dir` is a fresh temporary
    /// directory that `restart` keeps.
    pub fn start_with(args: &[&str]) -> RedisServer {
        let mut server = RedisServer {
            port: free_port(),
            dir: fresh_dir(),
            args: args.iter().map(|arg| arg.to_string()).collect(),
            child: None,
        };
        server.spawn();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// SIGKILL: no shutdown, no final save.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the server if it runs, then starts it again on the same port and directory.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn spawn(&mut self) {
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = match command.spawn() {
            Ok(child) => child,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!(
                "redis-server is not on PATH; run scripts/install-redis (tests need a real Redis)"
            ),
            Err(error) => panic!("starting redis-server: {error}"),
        };
        self.child = Some(child);
        self.wait_until_ready();
    }

    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        let pid = self.child.as_ref().map_or(0, Child::id);
        while !self.is_ready(pid) {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("redis-server on port {} exited: {status}", self.port);
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not get ready within {READY_TIMEOUT:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether our own child (not some other server that took the port) answers, with its data
    /// loaded (an append-only file is read after the port opens).
    fn is_ready(&self, pid: u32) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        if stream.write_all(b"INFO server persistence\r\n").is_err() {
            return false;
        }
        let wanted = [format!("process_id:{pid}\r\n"), "loading:0\r\n".to_string()];
        let mut reply = String::new();
        let mut chunk = [0_u8; 4096];
        while let Ok(read) = stream.read(&mut chunk) {
            if read == 0 || reply.len() > 1 << 16 {
                break;
            }
            reply.push_str(&String::from_utf8_lossy(&chunk[..read]));
            if wanted.iter().all(|line| reply.contains(line.as_str())) {
                return true;
            }
        }
        false
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port nobody listens on right now, and never handed out before in this process (so a
/// restarted server keeps its port to itself). Another process could still take it before
/// redis-server binds it; `spawn` then fails loudly rather than testing the wrong server.
fn free_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = listener.local_addr().expect("local address").port();
        if handed_out.insert(port) {
            return port;
        }
    }
}

fn fresh_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "lb-redis-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let dir = std::env::temp_dir().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a directory for redis-server");
    dir
}
