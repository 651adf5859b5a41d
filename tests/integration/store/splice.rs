//! Conformance cases of the logistics splice's state.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use logistics_bridge::domain::intent::Intent;
use logistics_bridge::domain::order::{Carrier, OrderStatus};
use logistics_bridge::domain::splice::{EvaluationEntry, InviteFacts, Splice, SpliceState};
use logistics_bridge::protocol::client::PresenceStatus;
use logistics_bridge::protocol::ids::{InviteId, SessionId};
use logistics_bridge::protocol::server::SenderRole;
use logistics_bridge::store::{CourierRecord, ShopAccount, ShopRating, Store, StoreError};

use super::fixtures::{at, member, order_id, session, shop, taken_by, user};

fn splice(session: SessionId, carrier: Carrier) -> Splice {
    let facts = InviteFacts {
        invite_id: InviteId::new(),
        session_id: session,
        shop: shop("s1"),
        buyer: user("b1"),
        order_id: order_id("o1"),
        carrier,
        waybill: "ZT1".to_string(),
        order_status: OrderStatus::Shipped,
        intent: Intent::NotReceived,
    };
    Splice::invite(facts, at(0), TimeDelta::minutes(10))
}

pub async fn shop_accounts_round_trip(store: Arc<dyn Store>) {
    let s1 = shop("s1");
    assert_eq!(store.shop_account(&s1).await.expect("read"), None);
    let account = ShopAccount {
        sub_account_quota: 10,
        sub_accounts_in_use: 3,
    };
    store.put_shop_account(&s1, &account).await.expect("put");
    assert_eq!(store.shop_account(&s1).await.expect("read"), Some(account));
}

pub async fn splices_by_invite_and_by_session(store: Arc<dyn Store>) {
    let id = SessionId::new();
    let first = splice(id, Carrier::Zto);
    let mut second = splice(id, Carrier::Yto);
    let elsewhere = splice(SessionId::new(), Carrier::Zto);
    for record in [&first, &second, &elsewhere] {
        store.put_splice(record).await.expect("put");
    }
    // An update keeps the splice's place.
    let mut updated = first.clone();
    updated.state = SpliceState::Declined;
    store.put_splice(&updated).await.expect("put");
    second.courier = Some(user("k1"));
    store.put_splice(&second).await.expect("put");
    let read = store.splice(first.invite_id).await.expect("read");
    assert_eq!(read, Some(updated.clone()));
    let of_session = store.splices_of(id).await.expect("read");
    assert_eq!(of_session, vec![updated, second]);
    assert_eq!(store.splice(InviteId::new()).await.expect("read"), None);
    let none = store.splices_of(SessionId::new()).await.expect("read");
    assert_eq!(none, Vec::new());
}

pub async fn courier_desks(store: Arc<dyn Store>) {
    let zto = Carrier::Zto;
    assert_eq!(store.couriers(zto).await.expect("read"), Vec::new());
    let available = PresenceStatus::Available;
    store
        .set_courier_presence(zto, &user("k2"), available)
        .await
        .expect("set");
    store
        .courier_freed(zto, &user("k1"), at(3))
        .await
        .expect("freed");
    store
        .set_courier_presence(Carrier::Yto, &user("k9"), available)
        .await
        .expect("set");
    let mut joined = taken_by(session("s1", "b1", 0), "a1");
    joined.members.push(member("k2", SenderRole::Courier, 2));
    store.put_session(&joined).await.expect("put");
    let record = |courier: &str, status, active_sessions, idle_since| CourierRecord {
        courier: user(courier),
        status,
        active_sessions,
        idle_since,
    };
    let never = DateTime::<Utc>::MIN_UTC;
    let offline = PresenceStatus::Offline;
    let desk = store.couriers(zto).await.expect("read");
    let expected = vec![
        record("k1", offline, 0, at(3)),
        record("k2", available, 1, never),
    ];
    assert_eq!(desk, expected);
    // A presence change keeps the idle time; freeing keeps the presence.
    store
        .set_courier_presence(zto, &user("k1"), available)
        .await
        .expect("set");
    store
        .courier_freed(zto, &user("k2"), at(7))
        .await
        .expect("freed");
    let desk = store.couriers(zto).await.expect("read");
    let expected = vec![
        record("k1", available, 0, at(3)),
        record("k2", available, 1, at(7)),
    ];
    assert_eq!(desk, expected);
}

pub async fn couriers_are_claimed_up_to_their_limit(store: Arc<dyn Store>) {
    let (k1, zto) = (user("k1"), Carrier::Zto);
    let sessions = [SessionId::new(), SessionId::new(), SessionId::new()];
    let claim = |courier, session, max, now: i64| {
        let store = Arc::clone(&store);
        // Each claim lasts 30 minutes.
        async move {
            store
                .claim_courier(&courier, session, max, at(now), at(now + 30))
                .await
                .expect("claim")
        }
    };
    assert!(claim(k1.clone(), sessions[0], 2, 0).await);
    assert!(
        claim(k1.clone(), sessions[0], 2, 1).await,
        "a place held already"
    );
    assert!(claim(k1.clone(), sessions[1], 2, 1).await);
    assert!(!claim(k1.clone(), sessions[2], 2, 2).await, "full");
    // A claim is not a membership: the desk counts the sessions the courier is a member of.
    store
        .set_courier_presence(zto, &k1, PresenceStatus::Available)
        .await
        .expect("set");
    let desk = store.couriers(zto).await.expect("read");
    assert_eq!(desk[0].active_sessions, 0);
    store
        .release_courier(&k1, sessions[1])
        .await
        .expect("release");
    assert!(
        claim(k1.clone(), sessions[2], 2, 2).await,
        "a place given back"
    );
    // Nobody gives sessions[0]'s claim back (its join never saved): it expires. sessions[0]
    // was claimed again at 1, so it lasts until 31.
    assert!(!claim(k1.clone(), SessionId::new(), 2, 30).await);
    assert!(
        claim(k1.clone(), SessionId::new(), 2, 31).await,
        "an expired claim's place"
    );
    // Claims of one last place at the same moment: exactly one wins.
    let k2 = user("k2");
    let racing = (0..16).map(|_| tokio::spawn(claim(k2.clone(), SessionId::new(), 1, 0)));
    let mut won = 0;
    for claim in racing.collect::<Vec<_>>() {
        won += usize::from(claim.await.expect("claim task"));
    }
    assert_eq!(won, 1);
}

pub async fn a_joined_courier_keeps_its_place_when_the_claim_goes(store: Arc<dyn Store>) {
    let k3 = user("k3");
    let mut joined = taken_by(session("s1", "b1", 0), "a1");
    let mut courier = member("k3", SenderRole::Courier, 2);
    courier.carrier = Some(Carrier::Zto);
    joined.members.push(courier);
    let claimed = store
        .claim_courier(&k3, joined.id, 2, at(1), at(31))
        .await
        .expect("claim");
    assert!(claimed);
    // The join saves, then gives the claim back; the second place stays free, not two.
    store.put_session(&joined).await.expect("put");
    assert!(
        !store
            .claim_courier(&k3, SessionId::new(), 1, at(2), at(32))
            .await
            .expect("claim"),
        "a member of one session, with room for one"
    );
    assert!(
        store
            .claim_courier(&k3, SessionId::new(), 2, at(2), at(32))
            .await
            .expect("claim"),
        "the saved join's claim is its membership, not a second place"
    );
    let later = SessionId::new();
    store
        .release_courier(&k3, joined.id)
        .await
        .expect("release");
    // Giving a claim back (even twice) never takes away the membership.
    store
        .release_courier(&k3, joined.id)
        .await
        .expect("release");
    assert!(
        store
            .claim_courier(&k3, joined.id, 1, at(3), at(33))
            .await
            .expect("claim"),
        "a member holds its place"
    );
    assert!(
        !store
            .claim_courier(&k3, later, 2, at(3), at(33))
            .await
            .expect("claim"),
        "a member and the claim at 2: full"
    );
}

pub async fn courier_queue_longest_waiting_first(store: Arc<dyn Store>) {
    let zto = Carrier::Zto;
    let invites = [InviteId::new(), InviteId::new(), InviteId::new()];
    for invite in [invites[0], invites[1], invites[0], invites[2]] {
        store
            .enqueue_courier_request(zto, invite)
            .await
            .expect("enqueue");
    }
    store
        .enqueue_courier_request(Carrier::Yto, InviteId::new())
        .await
        .expect("enqueue");
    assert_eq!(
        store.courier_queue(zto).await.expect("read"),
        invites.to_vec()
    );
    let taken = store.dequeue_courier_request(zto, invites[1]).await;
    assert!(taken.expect("dequeue"));
    let again = store.dequeue_courier_request(zto, invites[1]).await;
    assert!(!again.expect("dequeue"), "someone else took it");
    let never = store
        .dequeue_courier_request(Carrier::Ems, invites[0])
        .await;
    assert!(!never.expect("dequeue"));
    let left = store.courier_queue(zto).await.expect("read");
    assert_eq!(left, vec![invites[0], invites[2]]);
}

fn evaluation(splice: &Splice, score: u8) -> EvaluationEntry {
    EvaluationEntry {
        invite_id: splice.invite_id,
        session_id: splice.session_id,
        shop: splice.shop.clone(),
        courier: user("k1"),
        score,
        comment: Some("很快".to_string()),
        at: at(9),
    }
}

pub async fn evaluations_are_filed_by_the_splice_carrier(store: Arc<dyn Store>) {
    let (zto, yto) = (
        splice(SessionId::new(), Carrier::Zto),
        splice(SessionId::new(), Carrier::Yto),
    );
    store.put_splice(&zto).await.expect("put");
    store.put_splice(&yto).await.expect("put");
    let entries = [
        evaluation(&zto, 5),
        evaluation(&yto, 2),
        evaluation(&zto, 4),
    ];
    for entry in &entries {
        store.add_evaluation(entry).await.expect("add");
    }
    let filed = store.evaluations(Carrier::Zto).await.expect("read");
    assert_eq!(filed, vec![entries[0].clone(), entries[2].clone()]);
    let orphan = evaluation(&splice(SessionId::new(), Carrier::Zto), 3);
    let refused = store.add_evaluation(&orphan).await;
    assert!(
        matches!(refused, Err(StoreError::Corrupt { .. })),
        "{refused:?}"
    );
    assert_eq!(
        store.evaluations(Carrier::Ems).await.expect("read"),
        Vec::new()
    );
}

pub async fn one_shop_rating_per_session(store: Arc<dyn Store>) {
    let rating = |session_id, score| ShopRating {
        session_id,
        shop: shop("s1"),
        buyer: user("b1"),
        score,
        comment: None,
        at: at(1),
    };
    let (first, second) = (SessionId::new(), SessionId::new());
    assert!(store.add_shop_rating(&rating(first, 5)).await.expect("add"));
    assert!(!store.add_shop_rating(&rating(first, 1)).await.expect("add"));
    assert!(
        store
            .add_shop_rating(&rating(second, 3))
            .await
            .expect("add")
    );
    let ratings = store.shop_ratings(&shop("s1")).await.expect("read");
    assert_eq!(ratings, vec![rating(first, 5), rating(second, 3)]);
    assert_eq!(
        store.shop_ratings(&shop("s2")).await.expect("read"),
        Vec::new()
    );
}
