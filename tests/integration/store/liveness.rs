//! Nodes answering for staff presence: hold, release, beat (`store::liveness`).

use std::sync::Arc;

use chrono::TimeDelta;
use uuid::Uuid;

use logistics_bridge::domain::order::Carrier;
use logistics_bridge::protocol::client::PresenceStatus;
use logistics_bridge::store::{Beat, Post, Staff, Store};

use super::fixtures::{at, shop, user};

fn agent(id: &str) -> Staff {
    Staff {
        user: user(id),
        post: Post::Shop(shop("s1")),
    }
}

fn courier(id: &str) -> Staff {
    Staff {
        user: user(id),
        post: Post::Carrier(Carrier::Zto),
    }
}

async fn agent_status(store: &Arc<dyn Store>, id: &str) -> PresenceStatus {
    let agents = store.agents(&shop("s1")).await.expect("agents");
    let record = agents.into_iter().find(|a| a.agent == user(id));
    record.expect("the agent is listed").status
}

async fn courier_status(store: &Arc<dyn Store>, id: &str) -> PresenceStatus {
    let desk = store.couriers(Carrier::Zto).await.expect("desk");
    let record = desk.into_iter().find(|c| c.courier == user(id));
    record.expect("the courier is on the desk").status
}

pub async fn staff_stay_online_while_a_live_node_holds_them(store: Arc<dyn Store>) {
    let (one, two) = (Uuid::new_v4(), Uuid::new_v4());
    let now = at(0);
    let until = at(1);
    let a1 = agent("a1");
    store
        .set_presence(&shop("s1"), &a1.user, PresenceStatus::Online)
        .await
        .expect("set");
    store.hold(one, &a1, until).await.expect("hold");
    store.hold(two, &a1, until).await.expect("hold");
    assert!(store.is_held(&a1.user, now).await.expect("read"));

    assert!(!store.release(one, &a1, now).await.expect("release"));
    assert_eq!(agent_status(&store, "a1").await, PresenceStatus::Online);
    assert!(store.is_held(&a1.user, now).await.expect("read"));

    assert!(store.release(two, &a1, now).await.expect("release"));
    assert_eq!(agent_status(&store, "a1").await, PresenceStatus::Offline);
    assert!(!store.is_held(&a1.user, now).await.expect("read"));

    // A node whose deadline passed holds nobody.
    store.hold(one, &a1, until).await.expect("hold");
    assert!(!store.is_held(&a1.user, at(2)).await.expect("read"));
}

pub async fn a_beat_takes_a_dead_nodes_staff_offline_once(store: Arc<dyn Store>) {
    let (dead, live, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let now = at(10);
    let later = now + TimeDelta::seconds(15);
    let k1 = courier("k1");
    let a2 = agent("a2");
    store
        .set_courier_presence(Carrier::Zto, &k1.user, PresenceStatus::Available)
        .await
        .expect("set");
    store
        .set_presence(&shop("s1"), &a2.user, PresenceStatus::Online)
        .await
        .expect("set");
    store.hold(dead, &k1, at(9)).await.expect("hold");
    store.hold(dead, &a2, at(9)).await.expect("hold");
    store.hold(other, &a2, later).await.expect("hold");

    let beat = store.beat(live, now, later).await.expect("beat");
    let expected = Beat {
        rejoined: false,
        offline: vec![k1.clone()],
    };
    assert_eq!(beat, expected, "only the courier had no other live node");
    assert_eq!(courier_status(&store, "k1").await, PresenceStatus::Offline);
    assert_eq!(agent_status(&store, "a2").await, PresenceStatus::Online);
    assert!(!store.is_held(&k1.user, now).await.expect("read"));

    // Claimed once: the next beat finds nothing more.
    let again = store.beat(other, now, later).await.expect("beat");
    assert_eq!(again, Beat::default());
    // The dead node was only slow: its next beat says so, once.
    assert!(store.beat(dead, now, later).await.expect("beat").rejoined);
    assert!(!store.beat(dead, now, later).await.expect("beat").rejoined);
}
