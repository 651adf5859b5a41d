//! Conformance cases of session message logs: seq, dedupe, retention, paging.

use std::sync::Arc;

use logistics_bridge::protocol::ids::SessionId;
use logistics_bridge::store::{Appended, History, Store, StoredMessage};

use super::fixtures::{RETAINED, client_id, text};

async fn append_new(store: &Arc<dyn Store>, session: SessionId, id: Option<&str>) -> StoredMessage {
    let message = text(id, &format!("text {id:?}"));
    match store.append(session, message).await.expect("append") {
        Appended::New(stored) => stored,
        Appended::Duplicate(stored) => panic!("expected a new message, got {stored:?}"),
    }
}

async fn seqs_after(store: &Arc<dyn Store>, session: SessionId, after: u64) -> Vec<u64> {
    let history = store
        .messages_after(session, after, usize::MAX)
        .await
        .expect("history");
    history.messages.iter().map(|m| m.seq).collect()
}

pub async fn append_assigns_seq_from_one(store: Arc<dyn Store>) {
    let session = SessionId::new();
    let message = text(Some("c1"), "你好,我的快递还没到");
    let expected = message.clone();
    let Appended::New(first) = store.append(session, message).await.expect("append") else {
        panic!("the first message is new");
    };
    assert_eq!(first.seq, 1);
    assert_eq!(first.msg_id, expected.msg_id);
    assert_eq!(first.client_msg_id, expected.client_msg_id);
    assert_eq!(first.sender, expected.sender);
    assert_eq!(first.body, expected.body);
    assert_eq!(first.sent_at, expected.sent_at);
    let second = append_new(&store, session, None).await;
    let third = append_new(&store, session, Some("c3")).await;
    assert_eq!((second.seq, third.seq), (2, 3));
    // Another session counts from one.
    assert_eq!(append_new(&store, SessionId::new(), None).await.seq, 1);
    let history = store.messages_after(session, 0, 10).await.expect("history");
    assert_eq!(history.messages, vec![first, second, third]);
}

pub async fn append_dedupes_client_msg_id(store: Arc<dyn Store>) {
    let session = SessionId::new();
    let original = append_new(&store, session, Some("c1")).await;
    append_new(&store, session, None).await;
    let again = store
        .append(session, text(Some("c1"), "a different text"))
        .await
        .expect("append");
    assert_eq!(again, Appended::Duplicate(original.clone()));
    // Messages without a client id are never duplicates; other sessions have their own ids.
    assert_eq!(append_new(&store, session, None).await.seq, 3);
    assert_eq!(
        append_new(&store, SessionId::new(), Some("c1")).await.seq,
        1
    );
    assert_eq!(seqs_after(&store, session, 0).await, vec![1, 2, 3]);
    let found = store
        .message_by_client_id(session, &client_id("c1"))
        .await
        .expect("lookup");
    assert_eq!(found, Some(original));
    let unknown = store
        .message_by_client_id(session, &client_id("nope"))
        .await
        .expect("lookup");
    assert_eq!(unknown, None);
}

pub async fn retention_drops_the_oldest_and_their_client_ids(store: Arc<dyn Store>) {
    let session = SessionId::new();
    let total = RETAINED as u64 + 3;
    for index in 1..=total {
        append_new(&store, session, Some(&format!("c{index}"))).await;
    }
    let history = store
        .messages_after(session, 0, usize::MAX)
        .await
        .expect("history");
    let kept: Vec<u64> = (total - RETAINED as u64 + 1..=total).collect();
    assert_eq!(
        history.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        kept
    );
    assert_eq!((history.oldest_seq, history.last_seq), (kept[0], total));
    // A trimmed message's client id is forgotten: the lookup misses, a resend is new.
    let trimmed = store
        .message_by_client_id(session, &client_id("c1"))
        .await
        .expect("lookup");
    assert_eq!(trimmed, None);
    let retained = store
        .message_by_client_id(session, &client_id(&format!("c{total}")))
        .await
        .expect("lookup");
    assert_eq!(retained.map(|m| m.seq), Some(total));
    assert_eq!(append_new(&store, session, Some("c1")).await.seq, total + 1);
    let again = store
        .append(session, text(Some(&format!("c{total}")), "again"))
        .await
        .expect("append");
    assert!(matches!(again, Appended::Duplicate(m) if m.seq == total));
}

pub async fn messages_after_pages_and_reports_bounds(store: Arc<dyn Store>) {
    let session = SessionId::new();
    let empty = store.messages_after(session, 0, 10).await.expect("history");
    let nothing = History {
        messages: Vec::new(),
        oldest_seq: 1,
        last_seq: 0,
    };
    assert_eq!(empty, nothing);
    for _ in 0..4 {
        append_new(&store, session, None).await;
    }
    // (after, limit, seqs)
    let cases: [(u64, usize, &[u64]); 7] = [
        (0, 2, &[1, 2]),
        (2, 2, &[3, 4]),
        (3, 10, &[4]),
        (4, 10, &[]),
        (9, 10, &[]),
        (0, 0, &[]),
        (u64::MAX, 10, &[]),
    ];
    for (after, limit, seqs) in cases {
        let page = store
            .messages_after(session, after, limit)
            .await
            .expect("history");
        let got: Vec<u64> = page.messages.iter().map(|m| m.seq).collect();
        assert_eq!(got, seqs, "after {after}, limit {limit}");
        assert_eq!((page.oldest_seq, page.last_seq), (1, 4), "after {after}");
    }
}

pub async fn asking_before_the_oldest_starts_at_the_oldest(store: Arc<dyn Store>) {
    let session = SessionId::new();
    let total = 2 * RETAINED as u64;
    for _ in 0..total {
        append_new(&store, session, None).await;
    }
    let oldest = total - RETAINED as u64 + 1;
    // Asking from before the oldest retained returns from the oldest; the caller sees the gap.
    let page = store.messages_after(session, 1, 2).await.expect("history");
    let got: Vec<u64> = page.messages.iter().map(|m| m.seq).collect();
    assert_eq!(got, vec![oldest, oldest + 1]);
    assert_eq!((page.oldest_seq, page.last_seq), (oldest, total));
}
