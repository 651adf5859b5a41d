//! The store conformance suite: every case is written once against `Arc<dyn Store>` and runs
//! against the memory store (`store::memory::<case>`) and against a real Redis
//! (`store::redis::<case>`, each on its own redis-server). Redis-only behaviour (concurrency
//! across nodes, outages, corrupt data, command counts) is in `redis_only` and `yield_turn`; the hub over Redis
//! in `hub`.

mod batch;
mod commands;
mod commit;
mod fixtures;
mod hub;
mod liveness;
mod log;
mod queued;
mod redis_only;
mod splice;
mod state;
mod yield_turn;

use std::sync::Arc;

use logistics_bridge::store::{MemoryStore, RedisStore, Store};

use crate::support::redis::RedisServer;
use fixtures::RETAINED;

pub fn memory_store() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new(RETAINED))
}

pub async fn redis_store(server: &RedisServer) -> Arc<dyn Store> {
    let store = RedisStore::connect(&server.url(), RETAINED)
        .await
        .expect("connect to the test redis");
    Arc::new(store)
}

/// `conformance!(module::case, ...)` makes a `memory::case` and a `redis::case` test of each.
macro_rules! conformance {
    ($($module:ident :: $case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$module::$case(super::memory_store()).await;
                }
            )*
        }

        mod redis {
            $(
                #[tokio::test]
                async fn $case() {
                    let server = crate::support::redis::RedisServer::start();
                    super::$module::$case(super::redis_store(&server).await).await;
                }
            )*
        }
    };
}

conformance!(
    state::orders_keep_the_newest,
    state::shop_settings_round_trip,
    state::sessions_round_trip,
    state::indexes_follow_status,
    state::a_new_open_session_replaces_the_closed_one,
    state::sessions_of_lists_open_sessions_sorted,
    state::waiting_sessions_oldest_first,
    state::presence_and_agent_load,
    state::decisions_keep_the_latest,
    state::controls_round_trip,
    state::service_records_add_pending_of_open_sessions,
    state::recent_contacts_most_recent_first,
    state::marketing_tallies_per_buyer,
    state::waiting_counts_follow_set_waiting,
    state::routing_state_round_trips,
    state::member_records_keep_their_fields,
    splice::shop_accounts_round_trip,
    splice::splices_by_invite_and_by_session,
    splice::courier_desks,
    splice::couriers_are_claimed_up_to_their_limit,
    splice::a_joined_courier_keeps_its_place_when_the_claim_goes,
    splice::courier_queue_longest_waiting_first,
    splice::evaluations_are_filed_by_the_splice_carrier,
    splice::one_shop_rating_per_session,
    log::append_assigns_seq_from_one,
    log::append_dedupes_client_msg_id,
    log::retention_drops_the_oldest_and_their_client_ids,
    log::messages_after_pages_and_reports_bounds,
    log::asking_before_the_oldest_starts_at_the_oldest,
    batch::several_messages_take_consecutive_seqs,
    batch::a_repeat_anywhere_in_a_batch_writes_nothing,
    batch::retention_holds_across_a_batch,
    commit::versions_follow_every_write,
    commit::a_commit_applies_every_effect,
    commit::a_duplicate_commit_writes_nothing,
    commit::a_stale_commit_writes_nothing,
    commit::eligibility_facts_in_one_read,
    liveness::staff_stay_online_while_a_live_node_holds_them,
    liveness::a_beat_takes_a_dead_nodes_staff_offline_once,
);
