//! Sends that queue behind a commit share the next one (`hub::batch`): a real chat over
//! WebSockets on Redis, with Redis held still while the sends queue.

use serde_json::Value;

use super::commands::{Chat, commands, settled, text};
use crate::support::client::TestClient;
use crate::support::redis::RedisServer;

async fn redis_command(redis: &RedisServer, args: &[&str]) {
    let client = redis::Client::open(redis.url()).expect("url");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection");
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    let _: () = command.query_async(&mut connection).await.expect("command");
}

/// Frames of `kind` until `count` have come; their `seq`s and texts.
async fn frames(client: &mut TestClient, kind: &str, count: usize) -> Vec<(u64, Value)> {
    let mut seen = Vec::new();
    while seen.len() < count {
        let frame = client.recv_until(kind).await;
        let seq = frame["seq"].as_u64().expect("seq");
        seen.push((seq, frame["body"]["text"].clone()));
    }
    seen
}

#[tokio::test]
async fn sends_queued_behind_a_commit_share_the_next() {
    let redis = RedisServer::start();
    let mut chat = Chat::start(&redis).await;
    let before = commands(&chat.server).await;

    // Redis takes no writes: the buyer's commit waits, and the agent's nine sends queue
    // behind it.
    redis_command(&redis, &["CLIENT", "PAUSE", "1000", "WRITE"]).await;
    chat.buyer.send(text(&chat.session, "b1", "还没到")).await;
    let replies = 9;
    for index in 0..replies {
        let reply = text(&chat.session, &format!("a{index}"), &format!("第{index}条"));
        chat.agent.send(reply).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    redis_command(&redis, &["CLIENT", "UNPAUSE"]).await;

    let asked = chat.buyer.recv_until("ack").await["seq"]
        .as_u64()
        .expect("seq");
    let heard = frames(&mut chat.buyer, "message", replies).await;
    let (mut acks, mut asked_heard) = (Vec::new(), None);
    while acks.len() < replies || asked_heard.is_none() {
        let frame = chat.agent.recv().await;
        match frame["type"].as_str() {
            Some("ack") => acks.push((frame["seq"].as_u64().expect("seq"), Value::Null)),
            Some("message") => asked_heard = frame["seq"].as_u64(),
            _ => {}
        }
    }
    let expected: Vec<u64> = (asked + 1..=asked + replies as u64).collect();
    let seqs = |frames: &[(u64, Value)]| frames.iter().map(|(seq, _)| *seq).collect::<Vec<_>>();
    assert_eq!(seqs(&heard), expected, "in order, no gap");
    assert_eq!(seqs(&acks), expected);
    let texts: Vec<Value> = (0..replies)
        .map(|i| Value::from(format!("第{i}条")))
        .collect();
    let heard_texts: Vec<Value> = heard.into_iter().map(|(_, text)| text).collect();
    assert_eq!(heard_texts, texts);
    assert_eq!(asked_heard, Some(asked));

    // The buyer's commit, then one for the nine (one sent alone each would be ten).
    let spent = settled(&chat.server, &mut chat.probe).await - before;
    assert!(spent <= 3, "ten messages cost {spent} commands");
    chat.server.stop().await;
}
