//! What only the Redis store has: several nodes on one Redis, outages, corrupt data, and the
//! number of commands each call sends.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;

use logistics_bridge::protocol::ids::SessionId;
use logistics_bridge::store::{
    Appended, Committed, Effects, MessageCommit, RedisStore, SessionRecord, Store, StoreError,
    WaitingChange,
};

use super::fixtures::{RETAINED, at, client_id, order_id, session, taken_by, text, user};
use super::redis_store;
use crate::support::redis::RedisServer;

/// Longest an outage may take to surface as `Unavailable`.
const FAIL_FAST: Duration = Duration::from_secs(3);

async fn node(server: &RedisServer, retained: usize) -> Arc<dyn Store> {
    let store = RedisStore::connect(&server.url(), retained)
        .await
        .expect("connect");
    Arc::new(store)
}

async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(server.url()).expect("url");
    client
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection")
}

/// Appends until Redis takes it (after a restart), for at most 10 s.
async fn append_once_back(store: &Arc<dyn Store>, session: SessionId, id: &str) -> Appended {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match store
            .append(session, text(Some(id), "after the outage"))
            .await
        {
            Ok(appended) => return appended,
            Err(StoreError::Unavailable(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("the store did not recover: {error}"),
        }
    }
}

#[tokio::test]
async fn concurrent_appends_from_two_nodes_have_no_gap_or_duplicate() {
    let server = RedisServer::start();
    let nodes = [node(&server, 1000).await, node(&server, 1000).await];
    let session = SessionId::new();
    let (tasks, per_task) = (16, 25);
    let mut handles = Vec::new();
    for task in 0..tasks {
        let store = Arc::clone(&nodes[task % 2]);
        handles.push(tokio::spawn(async move {
            let mut appended = Vec::new();
            for index in 0..per_task {
                let id = format!("t{task}-{index}");
                let message = text(Some(&id), &id);
                match store.append(session, message).await.expect("append") {
                    Appended::New(stored) => appended.push(stored),
                    Appended::Duplicate(stored) => panic!("not a duplicate: {stored:?}"),
                }
            }
            appended
        }));
    }
    let mut stored = Vec::new();
    for handle in handles {
        stored.extend(handle.await.expect("task"));
    }
    let total = (tasks * per_task) as u64;
    let seqs: BTreeSet<u64> = stored.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=total).collect::<BTreeSet<u64>>());
    stored.sort_by_key(|m| m.seq);
    let history = nodes[1]
        .messages_after(session, 0, usize::MAX)
        .await
        .expect("history");
    assert_eq!(history.messages, stored);
    assert_eq!((history.oldest_seq, history.last_seq), (1, total));
}

#[tokio::test]
async fn concurrent_duplicates_are_stored_once() {
    let server = RedisServer::start();
    let nodes = [node(&server, 10).await, node(&server, 10).await];
    let session = SessionId::new();
    let mut handles = Vec::new();
    for task in 0..16 {
        let store = Arc::clone(&nodes[task % 2]);
        handles.push(tokio::spawn(async move {
            let message = text(Some("same"), &format!("from task {task}"));
            store.append(session, message).await.expect("append")
        }));
    }
    let mut new = Vec::new();
    let mut duplicates = Vec::new();
    for handle in handles {
        match handle.await.expect("task") {
            Appended::New(stored) => new.push(stored),
            Appended::Duplicate(stored) => duplicates.push(stored),
        }
    }
    assert_eq!(new.len(), 1, "exactly one is new");
    assert!(duplicates.iter().all(|d| d == &new[0]), "{duplicates:?}");
    let history = nodes[0]
        .messages_after(session, 0, 10)
        .await
        .expect("history");
    assert_eq!(history.messages, new);
}

#[tokio::test]
async fn an_outage_is_unavailable_and_the_store_recovers_by_itself() {
    let mut server = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let store = redis_store(&server).await;
    let session = SessionId::new();
    let first = store.append(session, text(Some("c1"), "before")).await;
    assert!(matches!(first.expect("append"), Appended::New(m) if m.seq == 1));

    server.kill();
    let started = Instant::now();
    let during = store.append(session, text(Some("c2"), "during")).await;
    assert!(
        matches!(during, Err(StoreError::Unavailable(_))),
        "{during:?}"
    );
    let read = store.session(session).await;
    assert!(matches!(read, Err(StoreError::Unavailable(_))), "{read:?}");
    assert!(started.elapsed() < 2 * FAIL_FAST, "{:?}", started.elapsed());

    server.restart();
    let after = append_once_back(&store, session, "c2").await;
    assert!(
        matches!(&after, Appended::New(m) if m.seq == 2),
        "{after:?}"
    );
    let again = store.append(session, text(Some("c1"), "resent")).await;
    assert!(matches!(again.expect("append"), Appended::Duplicate(m) if m.seq == 1));
}

#[tokio::test]
async fn a_store_made_while_redis_is_down_serves_once_it_is_up() {
    let mut server = RedisServer::start();
    server.kill();
    let started = Instant::now();
    let store = redis_store(&server).await;
    let session = SessionId::new();
    let during = store.append(session, text(Some("c1"), "too early")).await;
    assert!(
        matches!(during, Err(StoreError::Unavailable(_))),
        "{during:?}"
    );
    assert!(started.elapsed() < 2 * FAIL_FAST, "{:?}", started.elapsed());
    server.restart();
    let after = append_once_back(&store, session, "c1").await;
    assert!(
        matches!(&after, Appended::New(m) if m.seq == 1),
        "{after:?}"
    );
}

#[tokio::test]
async fn corrupt_data_is_reported_with_its_key() {
    let server = RedisServer::start();
    let store = redis_store(&server).await;
    let mut raw = raw(&server).await;
    let id = SessionId::new();
    let tag = format!("lb:{{s:{id}}}");
    // (key, how it is spoiled: SET to a value, or a list where a string belongs)
    let spoil: [(String, Option<&str>); 4] = [
        (format!("{tag}:session"), Some("{not json")),
        (format!("{tag}:controls"), Some("{}")),
        (format!("{tag}:decision"), None),
        (format!("{tag}:log"), Some("a string, not a stream")),
    ];
    for (key, value) in &spoil {
        let mut command = redis::cmd(if value.is_some() { "SET" } else { "RPUSH" });
        command.arg(key).arg(value.unwrap_or("x"));
        let _: redis::Value = command.query_async(&mut raw).await.expect("spoil");
    }
    let corrupt_at = |result: Result<(), StoreError>, key: &str| match result {
        Err(StoreError::Corrupt { key: got, .. }) => assert_eq!(got, key),
        other => panic!("expected Corrupt at {key}, got {other:?}"),
    };
    corrupt_at(store.session(id).await.map(drop), &spoil[0].0);
    corrupt_at(store.controls(id).await.map(drop), &spoil[1].0);
    corrupt_at(store.decision(id).await.map(drop), &spoil[2].0);
    let append = store.append(id, text(None, "x")).await.map(drop);
    corrupt_at(append, &spoil[3].0);

    // A stream entry whose message does not decode.
    let other = SessionId::new();
    let log = format!("lb:{{s:{other}}}:log");
    let mut entry = redis::cmd("XADD");
    entry
        .arg(&log)
        .arg("0-1")
        .arg("m")
        .arg("{\"seq\": \"nope\"}");
    let _: redis::Value = entry.query_async(&mut raw).await.expect("xadd");
    let history = store.messages_after(other, 0, 10).await.map(drop);
    corrupt_at(history, &log);
}

#[tokio::test]
async fn a_corrupt_session_is_replaced_and_reported_on_put() {
    let server = RedisServer::start();
    let store = redis_store(&server).await;
    let record = session("s1", "b1", 0);
    let key = format!("lb:{{s:{}}}:session", record.id);
    let mut set = redis::cmd("SET");
    set.arg(&key).arg("garbage");
    let _: redis::Value = set.query_async(&mut raw(&server).await).await.expect("set");
    let put = store.put_session(&record).await;
    assert!(matches!(put, Err(StoreError::Corrupt { .. })), "{put:?}");
    let read = store.session(record.id).await.expect("readable again");
    assert_eq!(read, Some(record.clone()));
    let open = store.open_session(&user("b1"), &record.shop).await;
    assert_eq!(open.expect("open"), Some(record.id));
}

/// The commands clients send, as `MONITOR` shows them (commands run by scripts are left out).
struct Monitor {
    lines: Lines<BufReader<TcpStream>>,
    marker: redis::aio::MultiplexedConnection,
}

impl Monitor {
    async fn start(server: &RedisServer) -> Monitor {
        // Connected first, so that its handshake is not in the log.
        let marker = raw(server).await;
        let mut stream = TcpStream::connect(("127.0.0.1", server.port()))
            .await
            .expect("connect");
        stream.write_all(b"MONITOR\r\n").await.expect("monitor");
        let mut lines = BufReader::new(stream).lines();
        let ok = lines.next_line().await.expect("read");
        assert_eq!(ok.as_deref(), Some("+OK"));
        Monitor { lines, marker }
    }

    /// Names of the commands sent since the last call.
    async fn commands(&mut self) -> Vec<String> {
        let mut echo = redis::cmd("ECHO");
        echo.arg("lb-monitor-marker");
        let _: redis::Value = echo.query_async(&mut self.marker).await.expect("echo");
        let mut names = Vec::new();
        loop {
            let next = tokio::time::timeout(Duration::from_secs(5), self.lines.next_line());
            let line = next
                .await
                .expect("monitor line")
                .expect("read")
                .expect("open");
            if line.contains("lb-monitor-marker") {
                return names;
            }
            if line.contains(" lua]") {
                continue;
            }
            let name = line.split('"').nth(1).unwrap_or_default();
            names.push(name.to_ascii_lowercase());
        }
    }
}

#[tokio::test]
async fn commands_per_call() {
    let server = RedisServer::start();
    let store = redis_store(&server).await;
    let id = SessionId::new();
    // Load the scripts first: the first call after a Redis start also sends SCRIPT LOAD.
    store
        .append(id, text(Some("warm"), "x"))
        .await
        .expect("append");
    store
        .message_by_client_id(id, &client_id("warm"))
        .await
        .expect("lookup");
    let mut monitor = Monitor::start(&server).await;
    let agent = user("a1");

    store
        .append(id, text(Some("c1"), "x"))
        .await
        .expect("append");
    assert_eq!(monitor.commands().await, ["evalsha"], "append");
    store
        .append(id, text(Some("c1"), "x"))
        .await
        .expect("append");
    assert_eq!(monitor.commands().await, ["evalsha"], "duplicate append");
    store
        .messages_after(id, 0, RETAINED)
        .await
        .expect("history");
    assert_eq!(
        monitor.commands().await,
        ["hmget", "xrange"],
        "messages_after"
    );
    store
        .message_by_client_id(id, &client_id("c1"))
        .await
        .expect("lookup");
    assert_eq!(
        monitor.commands().await,
        ["evalsha"],
        "message_by_client_id"
    );
    store.set_waiting(id, Some(&agent)).await.expect("wait");
    assert_eq!(
        monitor.commands().await,
        ["set", "sadd"],
        "set_waiting, first"
    );
    store.set_waiting(id, Some(&agent)).await.expect("wait");
    assert_eq!(
        monitor.commands().await,
        ["set", "sadd"],
        "set_waiting, same agent"
    );
    store.waiting_count(&agent).await.expect("count");
    assert_eq!(monitor.commands().await, ["scard"], "waiting_count");
}

#[tokio::test]
async fn keys_follow_the_documented_layout() {
    let server = RedisServer::start();
    let store = redis_store(&server).await;
    let record = session("s1", "b1", 0);
    let id = record.id;
    store.put_session(&record).await.expect("put");
    store
        .append(id, text(Some("c1"), "x"))
        .await
        .expect("append");
    store
        .set_waiting(id, Some(&user("a1")))
        .await
        .expect("wait");
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut raw(&server).await)
        .await
        .expect("keys");
    keys.sort();
    let mut expected = vec![
        format!("lb:{{s:{id}}}:dedupe"),
        format!("lb:{{s:{id}}}:log"),
        format!("lb:{{s:{id}}}:meta"),
        format!("lb:{{s:{id}}}:session"),
        format!("lb:{{s:{id}}}:waiting_on"),
        "lb:{shop:s1}:open".to_string(),
        "lb:{shop:s1}:pool".to_string(),
        "lb:{user:a1}:waiting".to_string(),
        "lb:{user:b1}:open".to_string(),
    ];
    expected.sort();
    assert_eq!(keys, expected);
    let ids: Vec<redis::Value> = redis::cmd("XRANGE")
        .arg(format!("lb:{{s:{id}}}:log"))
        .arg("-")
        .arg("+")
        .query_async(&mut raw(&server).await)
        .await
        .expect("xrange");
    assert_eq!(ids.len(), 1);
    let entry = format!("{:?}", ids[0]);
    assert!(entry.contains("0-1"), "the entry id is 0-<seq>: {entry}");
}

/// Every call of a chat message's path, as the hub makes it.
async fn message_path(store: &Arc<dyn Store>, record: &SessionRecord, version: u64, id: &str) {
    store.session_state(record.id).await.expect("state");
    let o1 = order_id("o1");
    let facts = store.eligibility_facts(Some(&o1), &record.shop).await;
    facts.expect("facts");
    let commit = MessageCommit {
        session: record.id,
        version,
        shop: record.shop.clone(),
        buyer: record.buyer.clone(),
        messages: vec![text(Some(id), "x")],
        origin: uuid::Uuid::new_v4(),
        effects: Effects {
            waiting: WaitingChange::On(user("a1")),
            contact: Some((user("a1"), at(1))),
            ..Effects::default()
        },
    };
    store.commit_message(&commit).await.expect("commit");
}

#[tokio::test]
async fn the_counter_counts_what_redis_receives() {
    let server = RedisServer::start();
    let store = redis_store(&server).await;
    let counter = store.command_counter().expect("the redis store counts");
    let record = taken_by(session("s1", "b1", 0), "a1");
    let version = store.put_session(&record).await.expect("put");
    message_path(&store, &record, version, "warm").await;
    let mut monitor = Monitor::start(&server).await;

    let before = counter.load(Ordering::Relaxed);
    message_path(&store, &record, version, "c1").await;
    let sent = counter.load(Ordering::Relaxed) - before;
    let seen = monitor.commands().await;
    assert_eq!(
        seen,
        ["evalsha", "evalsha", "evalsha"],
        "state, facts, commit"
    );
    assert_eq!(sent, 3);

    // After a SCRIPT FLUSH each script is loaded again: three commands for the first call.
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut raw(&server).await)
        .await
        .expect("flush");
    monitor.commands().await;
    let before = counter.load(Ordering::Relaxed);
    store.session_state(record.id).await.expect("state");
    assert_eq!(monitor.commands().await, ["evalsha", "script", "evalsha"]);
    assert_eq!(counter.load(Ordering::Relaxed) - before, 3);
}

/// A commit of message `c1` for each of `count` fresh sessions (shops `s{i}`, buyers `b{i}`,
/// taken by `a1`), all with `effects`.
async fn commits_of_fresh_sessions(
    store: &Arc<dyn Store>,
    count: usize,
    effects: Effects,
) -> Vec<MessageCommit> {
    let mut commits = Vec::new();
    for i in 0..count {
        let record = taken_by(session(&format!("s{i}"), &format!("b{i}"), 0), "a1");
        let version = store.put_session(&record).await.expect("put");
        commits.push(MessageCommit {
            session: record.id,
            version,
            shop: record.shop.clone(),
            buyer: record.buyer.clone(),
            messages: vec![text(Some("c1"), "x")],
            origin: uuid::Uuid::new_v4(),
            effects: effects.clone(),
        });
    }
    commits
}

/// Issue 8 (group commit): commits of many sessions at once go out in one `EVALSHA`, each is
/// answered as if it had gone alone, and one whose script fails fails alone.
#[tokio::test]
async fn concurrent_commits_share_one_batch_and_fail_alone() {
    let server = RedisServer::start();
    let store = redis_store(&server).await;
    let counter = store.command_counter().expect("the redis store counts");
    let waiting = Effects {
        waiting: WaitingChange::On(user("a1")),
        ..Effects::default()
    };
    let commits = commits_of_fresh_sessions(&store, 40, waiting).await;
    // One session's meta hash is a string: its commit's first read of it raises WRONGTYPE.
    let broken = commits[7].session;
    let _: () = redis::cmd("SET")
        .arg(format!("lb:{{s:{broken}}}:meta"))
        .arg("not a hash")
        .query_async(&mut raw(&server).await)
        .await
        .expect("set");

    let before = counter.load(Ordering::Relaxed);
    let results =
        futures_util::future::join_all(commits.iter().map(|c| store.commit_message(c))).await;
    let sent = counter.load(Ordering::Relaxed) - before;

    for (commit, result) in commits.iter().zip(&results) {
        if commit.session == broken {
            assert!(
                matches!(result, Err(StoreError::Corrupt { .. })),
                "{result:?}"
            );
        } else {
            let Ok(Committed::New { stored, .. }) = result else {
                panic!("a healthy commit beside the broken one: {result:?}");
            };
            assert_eq!(stored[0].seq, 1);
        }
    }
    // One EVALSHA for the 40, plus a SCRIPT LOAD and the EVALSHA again on first use.
    assert!(sent <= 3, "{sent} commands for 40 concurrent commits");
    // Each healthy session's waiting set took its buyer once.
    let waiting = store.waiting_count(&user("a1")).await.expect("count");
    assert_eq!(waiting, 39);
}

/// Group commit keeps every call's bound: commits queued behind batches that wait on a Redis
/// that does not answer fail with `Unavailable` in about `OPERATION_TIMEOUT`, not one timeout
/// per batch ahead of them (1,000 commits are eight batches, two in flight at a time).
#[tokio::test]
async fn commits_queued_behind_a_silent_redis_fail_within_the_bound() {
    let server = RedisServer::start();
    let store = redis_store(&server).await;
    let commits = commits_of_fresh_sessions(&store, 1000, Effects::default()).await;
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(6000)
        .query_async(&mut raw(&server).await)
        .await
        .expect("pause");

    let started = Instant::now();
    let results =
        futures_util::future::join_all(commits.iter().map(|c| store.commit_message(c))).await;
    let took = started.elapsed();

    for result in &results {
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{result:?}"
        );
    }
    assert!(took < FAIL_FAST, "the last commit failed after {took:?}");
}
