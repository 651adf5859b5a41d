//! A Lua script sent as `EVALSHA`, and one call of it.
//!
//! Like `redis::Script`, but the commands are built here so that the connection can send and
//! count them itself: `EVALSHA`, and on `NOSCRIPT` (after a Redis restart or `SCRIPT FLUSH`)
//! `SCRIPT LOAD` and the `EVALSHA` again.

use redis::{Cmd, ToRedisArgs};

/// A script's source and its SHA-1 (as Redis names it).
pub struct Lua {
    source: String,
    hash: String,
}

impl Lua {
    pub fn new(source: impl Into<String>) -> Lua {
        let source = source.into();
        let hash = redis::Script::new(&source).get_hash().to_string();
        Lua { source, hash }
    }

    pub fn prepare_invoke(&self) -> Invocation<'_> {
        Invocation {
            script: self,
            keys: Vec::new(),
            args: Vec::new(),
        }
    }
}

/// One call: the script's keys and arguments.
pub struct Invocation<'a> {
    script: &'a Lua,
    keys: Vec<Vec<u8>>,
    args: Vec<Vec<u8>>,
}

impl Invocation<'_> {
    /// Adds `KEYS[n]`.
    pub fn key<T: ToRedisArgs>(&mut self, key: T) -> &mut Self {
        key.write_redis_args(&mut self.keys);
        self
    }

    /// Adds `ARGV[n]`.
    pub fn arg<T: ToRedisArgs>(&mut self, arg: T) -> &mut Self {
        arg.write_redis_args(&mut self.args);
        self
    }

    pub fn evalsha(&self) -> Cmd {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(&self.script.hash).arg(self.keys.len());
        for item in self.keys.iter().chain(&self.args) {
            cmd.arg(item.as_slice());
        }
        cmd
    }

    pub fn load(&self) -> Cmd {
        let mut cmd = redis::cmd("SCRIPT");
        cmd.arg("LOAD").arg(&self.script.source);
        cmd
    }
}
