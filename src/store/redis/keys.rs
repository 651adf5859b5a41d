//! The Redis key layout.
//!
//! Every key starts with `lb:` and carries a hash tag (`{...}`), so that every script and every
//! multi-key command touches one Redis Cluster slot:
//!
//! | key | type | what |
//! |---|---|---|
//! | `lb:{s:<session>}:session` | string | the `SessionRecord` (JSON) |
//! | `lb:{s:<session>}:log` | stream | messages; entry id `0-<seq>`, fields `m` (JSON), `c` (`client_msg_id`) |
//! | `lb:{s:<session>}:meta` | hash | `last` (newest seq assigned), `oldest` (oldest seq retained) |
//! | `lb:{s:<session>}:dedupe` | hash | `client_msg_id` → seq, for retained messages only |
//! | `lb:{s:<session>}:decision` | string | the latest eligibility `Decision` (JSON) |
//! | `lb:{s:<session>}:controls` | string | `SessionControls` (JSON) |
//! | `lb:{s:<session>}:waiting_on` | string | the agent the session's buyer waits on |
//! | `lb:{s:<session>}:routing` | string | the latest `RoutingDecision` (JSON) |
//! | `lb:{shop:<shop>}:settings` | string | `ShopLogistics` (JSON) |
//! | `lb:{shop:<shop>}:open` | hash | buyer → the buyer's open session with the shop |
//! | `lb:{shop:<shop>}:pool` | sorted set | open sessions no agent took; member `<opened_at>\|<session>`, score 0 |
//! | `lb:{shop:<shop>}:presence` | hash | agent → presence status (JSON) |
//! | `lb:{shop:<shop>}:responses` | list | settled `ResponseRecord`s (JSON), oldest first |
//! | `lb:{shop:<shop>}:logistics` | list | `LogisticsRecord`s (JSON), oldest first |
//! | `lb:{shop:<shop>}:routing` | string | `RoutingConfig` (JSON) |
//! | `lb:{shop:<shop>}:conversion` | hash | agent → conversion rate (decimal) |
//! | `lb:{shop:<shop>}:account` | string | `ShopAccount` (JSON) |
//! | `lb:{shop:<shop>}:rated` | set | sessions whose buyer rated the shop |
//! | `lb:{shop:<shop>}:ratings` | list | `ShopRating`s (JSON), oldest first |
//! | `lb:{invite:<invite>}:splice` | string | the `Splice` (JSON) |
//! | `lb:{s:<session>}:splices` | list | the session's invite ids, oldest first |
//! | `lb:{carrier:<CODE>}:desk` | hash | courier → presence status (JSON) |
//! | `lb:{carrier:<CODE>}:idle` | hash | courier → when it became free (`<seconds>:<nanos>`) |
//! | `lb:{carrier:<CODE>}:queue` | list | accepted invites waiting for a courier, oldest first |
//! | `lb:{carrier:<CODE>}:evaluations` | list | `EvaluationEntry`s (JSON), oldest first |
//! | `lb:{user:<user>}:open` | set | open sessions the user is a member of |
//! | `lb:{user:<user>}:claims` | hash | a courier's claimed places (`store::claims`): session → deadline (ms since the epoch) |
//! | `lb:{user:<user>}:waiting` | set | sessions whose buyer waits on this agent |
//! | `lb:{user:<user>}:nodes` | set | hub nodes holding a connection of this agent or courier |
//! | `lb:{nodes}:deadlines` | sorted set | hub node → when it is dead unless it beats (ms since the epoch) |
//! | `lb:{node:<node>}:held` | set | agents and couriers the node holds (`a\|<user>\|<shop>`, `c\|<user>\|<CARRIER>`) |
//! | `lb:{node:<node>}:claimed` | string | set when another node claimed this one as dead |
//! | `lb:{order:<order>}:order` | hash | `order` (JSON), `updated_at` (sortable time) |
//! | `lb:{pair:<shop>\|<buyer>}:recent` | hash | agent → latest contact (`codec::sortable_time`), the 16 most recent agents |
//! | `lb:{pair:<shop>\|<buyer>}:marketing` | string | `MarketingTally` (JSON) |
//! | `lb:{pair:<shop>\|<buyer>}:profile` | string | `BuyerProfile` (JSON) |
//!
//! A chat message's commit (`commit::COMMIT`) is the one script that writes under several tags
//! (the session's, the agents' waiting sets, the shop's responses, the pair's records): it
//! needs a standalone Redis (or one Cluster node holding every slot). So do the scripts of
//! `nodes`, which write a staff member's presence when their node is gone. Everything else is
//! cluster-safe.
//!
//! External ids are validated to `[A-Za-z0-9._:-]{1,64}`, so they can hold neither a brace (which
//! would break the hash tag) nor `|` (which separates the parts of pair keys and pool members).

use crate::domain::order::Carrier;
use crate::protocol::ids::{InviteId, OrderId, SessionId, ShopId, UserId};

/// The keys of one session; all share the session's hash tag.
#[derive(Debug, Clone)]
pub struct SessionKeys {
    pub record: String,
    pub log: String,
    pub meta: String,
    pub dedupe: String,
    pub decision: String,
    pub controls: String,
    pub waiting_on: String,
    pub routing: String,
    pub splices: String,
}

impl SessionKeys {
    pub fn new(session: SessionId) -> Self {
        // Built on every command of a session: the id is encoded once, the keys are appended
        // (nine `format!`s were 4% of the hub's CPU with Redis under load).
        let mut buffer = uuid::Uuid::encode_buffer();
        let id = session.0.hyphenated().encode_lower(&mut buffer);
        let key = |name: &str| {
            let mut key = String::with_capacity(8 + id.len() + name.len());
            key.push_str("lb:{s:");
            key.push_str(id);
            key.push_str("}:");
            key.push_str(name);
            key
        };
        SessionKeys {
            record: key("session"),
            log: key("log"),
            meta: key("meta"),
            dedupe: key("dedupe"),
            decision: key("decision"),
            controls: key("controls"),
            waiting_on: key("waiting_on"),
            routing: key("routing"),
            splices: key("splices"),
        }
    }
}

fn shop_key(shop: &ShopId, name: &str) -> String {
    format!("lb:{{shop:{shop}}}:{name}")
}

pub fn shop_settings(shop: &ShopId) -> String {
    shop_key(shop, "settings")
}

pub fn shop_open(shop: &ShopId) -> String {
    shop_key(shop, "open")
}

pub fn shop_pool(shop: &ShopId) -> String {
    shop_key(shop, "pool")
}

pub fn shop_presence(shop: &ShopId) -> String {
    shop_key(shop, "presence")
}

pub fn shop_responses(shop: &ShopId) -> String {
    shop_key(shop, "responses")
}

pub fn shop_logistics(shop: &ShopId) -> String {
    shop_key(shop, "logistics")
}

pub fn shop_routing(shop: &ShopId) -> String {
    shop_key(shop, "routing")
}

pub fn shop_conversion(shop: &ShopId) -> String {
    shop_key(shop, "conversion")
}

pub fn shop_account(shop: &ShopId) -> String {
    shop_key(shop, "account")
}

pub fn shop_rated(shop: &ShopId) -> String {
    shop_key(shop, "rated")
}

pub fn shop_ratings(shop: &ShopId) -> String {
    shop_key(shop, "ratings")
}

pub fn splice(invite: InviteId) -> String {
    format!("lb:{{invite:{invite}}}:splice")
}

fn carrier_key(carrier: Carrier, name: &str) -> String {
    format!("lb:{{carrier:{}}}:{name}", carrier.code())
}

pub fn courier_desk(carrier: Carrier) -> String {
    carrier_key(carrier, "desk")
}

pub fn courier_idle(carrier: Carrier) -> String {
    carrier_key(carrier, "idle")
}

pub fn courier_queue(carrier: Carrier) -> String {
    carrier_key(carrier, "queue")
}

pub fn evaluations(carrier: Carrier) -> String {
    carrier_key(carrier, "evaluations")
}

pub fn user_open(user: &UserId) -> String {
    format!("lb:{{user:{user}}}:open")
}

/// A courier's claimed places (`store::claims`): session → deadline in ms.
pub fn user_claims(user: &UserId) -> String {
    format!("lb:{{user:{user}}}:claims")
}

/// Built in Lua too (`nodes::BEAT`), from the user id.
pub fn user_nodes(user: &UserId) -> String {
    format!("lb:{{user:{user}}}:nodes")
}

pub const NODE_DEADLINES: &str = "lb:{nodes}:deadlines";

/// Built in Lua too (`nodes::BEAT`), from the node id.
pub fn node_held(node: uuid::Uuid) -> String {
    format!("lb:{{node:{node}}}:held")
}

/// Built in Lua too (`nodes::BEAT`), from the node id.
pub fn node_claimed(node: uuid::Uuid) -> String {
    format!("lb:{{node:{node}}}:claimed")
}

pub fn user_waiting(user: &UserId) -> String {
    format!("lb:{{user:{user}}}:waiting")
}

pub fn order(order: &OrderId) -> String {
    format!("lb:{{order:{order}}}:order")
}

/// A hash rather than one JSON string (as the `contacts` key before it was), so that a commit
/// can update it inside Lua without reading it first.
pub fn contacts(shop: &ShopId, buyer: &UserId) -> String {
    format!("lb:{{pair:{shop}|{buyer}}}:recent")
}

pub fn marketing(shop: &ShopId, buyer: &UserId) -> String {
    format!("lb:{{pair:{shop}|{buyer}}}:marketing")
}

pub fn buyer_profile(shop: &ShopId, buyer: &UserId) -> String {
    format!("lb:{{pair:{shop}|{buyer}}}:profile")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash tag Redis Cluster hashes: the text between the first `{` and the next `}`.
    fn tag(key: &str) -> &str {
        let start = key.find('{').map_or(0, |i| i + 1);
        let end = key[start..].find('}').map_or(key.len(), |i| start + i);
        &key[start..end]
    }

    #[test]
    fn a_session_keys_share_one_tag() {
        let id = SessionId::new();
        let keys = SessionKeys::new(id);
        let all = [
            &keys.record,
            &keys.log,
            &keys.meta,
            &keys.dedupe,
            &keys.decision,
            &keys.controls,
            &keys.waiting_on,
            &keys.routing,
            &keys.splices,
        ];
        for key in all {
            assert_eq!(tag(key), format!("s:{id}"), "{key}");
        }
        // The names stored data already has.
        assert_eq!(keys.log, format!("lb:{{s:{id}}}:log"));
        assert_eq!(keys.waiting_on, format!("lb:{{s:{id}}}:waiting_on"));
    }

    #[test]
    fn tags_per_owner() {
        let shop = ShopId::new("s:1").expect("valid id");
        let user = UserId::new("b.1").expect("valid id");
        let order_id = OrderId::new("o-1").expect("valid id");
        // (key, tag)
        let cases = [
            (shop_open(&shop), "shop:s:1"),
            (shop_pool(&shop), "shop:s:1"),
            (shop_presence(&shop), "shop:s:1"),
            (user_open(&user), "user:b.1"),
            (user_waiting(&user), "user:b.1"),
            (order(&order_id), "order:o-1"),
            (contacts(&shop, &user), "pair:s:1|b.1"),
            (marketing(&shop, &user), "pair:s:1|b.1"),
            (buyer_profile(&shop, &user), "pair:s:1|b.1"),
            (shop_routing(&shop), "shop:s:1"),
            (shop_conversion(&shop), "shop:s:1"),
            (shop_account(&shop), "shop:s:1"),
            (shop_rated(&shop), "shop:s:1"),
            (shop_ratings(&shop), "shop:s:1"),
            (courier_desk(Carrier::Zto), "carrier:ZTO"),
            (courier_idle(Carrier::Zto), "carrier:ZTO"),
            (courier_queue(Carrier::Zto), "carrier:ZTO"),
            (evaluations(Carrier::Zto), "carrier:ZTO"),
        ];
        for (key, expected) in cases {
            assert_eq!(tag(&key), expected, "{key}");
        }
    }

    /// The node scripts build these names in Lua from ids: they must not drift.
    #[test]
    fn names_the_node_scripts_build() {
        let shop = ShopId::new("s:1").expect("valid id");
        let user = UserId::new("a.1").expect("valid id");
        let node = uuid::Uuid::nil();
        let nil = "00000000-0000-0000-0000-000000000000";
        assert_eq!(shop_presence(&shop), "lb:{shop:s:1}:presence");
        assert_eq!(courier_desk(Carrier::Yto), "lb:{carrier:YTO}:desk");
        assert_eq!(user_nodes(&user), "lb:{user:a.1}:nodes");
        assert_eq!(node_held(node), format!("lb:{{node:{nil}}}:held"));
        assert_eq!(node_claimed(node), format!("lb:{{node:{nil}}}:claimed"));
    }
}
