//! A Lua script sent as `EVALSHA`, and one call of it.
//!
//! Like `redis::Script`, but the commands are built here so that the connection can send and
//! count them itself: `EVALSHA`, and on `NOSCRIPT` (after a Redis restart or `SCRIPT FLUSH`)
//! `SCRIPT LOAD` and the `EVALSHA` again.
//!
//! A script can also be made batched ([`Lua::batched`]): one `EVALSHA` then runs the script
//! once for each of many calls, in order, and answers with one reply per call (see `batch`).

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

    /// `body` made to run once per call of a batch, each call with its own `KEYS` and `ARGV`.
    ///
    /// ARGV: 1 the number of calls n; then for each call its number of keys and of arguments
    /// (2n numbers); then every call's arguments, call after call. KEYS: every call's keys,
    /// call after call. Replies: one per call, in order: `{1, reply}` (`{1}` when the call
    /// returned nothing), or `{0, error}` when the call raised one (not an error reply, which
    /// the client would take for the whole batch's). A call's error does not undo
    /// what that call wrote before it, and the calls after it still run, as separate scripts
    /// would; it is reported to that call alone.
    ///
    /// The body may call `notify(json)` with a `Notification`'s JSON: the batch's
    /// notifications go out in order as one `PUBLISH` of a JSON array on `notify::CHANNEL`
    /// after the last call (one message for the subscribers to read instead of one or more
    /// per call). A failed publish is dropped, not the batch's error: a wake-up is only a
    /// wake-up (see `notify`).
    pub fn batched(body: &str) -> Lua {
        Lua::new(format!(
            "local notes = {{}}\nlocal function notify(note) notes[#notes + 1] = note end\n\
             local function one(KEYS, ARGV)\n{body}\nend\n{}\n\
             if notes[1] then\n\
             pcall(redis.call, 'PUBLISH', '{}', '[' .. table.concat(notes, ',') .. ']')\n\
             end\nreturn replies\n",
            r#"
local n = tonumber(ARGV[1])
local replies = {}
local key_at, arg_at = 0, 1 + 2 * n
for call = 1, n do
  local key_count, arg_count = tonumber(ARGV[2 * call]), tonumber(ARGV[2 * call + 1])
  local keys, args = {}, {}
  for i = 1, key_count do keys[i] = KEYS[key_at + i] end
  for i = 1, arg_count do args[i] = ARGV[arg_at + i] end
  key_at, arg_at = key_at + key_count, arg_at + arg_count
  local ok, reply = pcall(one, keys, args)
  if ok then
    replies[call] = {1, reply}
  elseif type(reply) == 'table' and reply.err then
    replies[call] = {0, reply.err}
  else
    replies[call] = {0, 'ERR ' .. tostring(reply)}
  end
end"#,
            super::notify::CHANNEL
        ))
    }

    /// One `EVALSHA` of a batched script ([`Lua::batched`]) for `calls`, in order; their keys
    /// and arguments move into it.
    pub fn invoke_batch<'a>(&'a self, calls: &mut [Invocation<'_>]) -> Invocation<'a> {
        let mut batch = self.prepare_invoke();
        batch.arg(calls.len());
        for call in calls.iter() {
            batch.arg(call.keys.len()).arg(call.args.len());
        }
        for call in calls {
            batch.keys.append(&mut call.keys);
            batch.args.append(&mut call.args);
        }
        batch
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
