//! The logistics splice's state: shop accounts, splices by invite and by session, courier
//! desks and queues per carrier, evaluations and shop ratings.

use chrono::{DateTime, Utc};
use redis::Value;

use super::RedisStore;
use super::codec;
use super::keys::{self, SessionKeys};
use super::scripts;
use crate::domain::order::Carrier;
use crate::domain::splice::{EvaluationEntry, Splice};
use crate::protocol::client::PresenceStatus;
use crate::protocol::ids::{InviteId, SessionId, ShopId, UserId};
use crate::store::{CourierRecord, ShopRating, StoreError};

impl RedisStore {
    /// One round trip: the record, and its invite id appended to the session's list unless
    /// there already (so a put that failed half-way heals on the next one).
    pub(super) async fn store_splice(&self, splice: &Splice) -> Result<(), StoreError> {
        let key = keys::splice(splice.invite_id);
        let list = SessionKeys::new(splice.session_id).splices;
        let mut pipe = redis::pipe();
        pipe.set(&key, codec::encode(&key, splice)?).ignore();
        pipe.cmd("EVAL")
            .arg(scripts::RPUSH_UNIQUE)
            .arg(1)
            .arg(&list)
            .arg(splice.invite_id.to_string())
            .ignore();
        self.connection.pipeline(&key, &pipe).await?;
        Ok(())
    }

    pub(super) async fn load_splice(&self, invite: InviteId) -> Result<Option<Splice>, StoreError> {
        self.get_json(&keys::splice(invite)).await
    }

    /// Two round trips: the session's invite ids, then their splices.
    pub(super) async fn session_splices(
        &self,
        session: SessionId,
    ) -> Result<Vec<Splice>, StoreError> {
        let list = SessionKeys::new(session).splices;
        let reply = self
            .connection
            .query(&list, redis::cmd("LRANGE").arg(&list).arg(0).arg(-1))
            .await?;
        let invites: Vec<InviteId> = codec::parsed_items(&list, reply)?;
        let keys: Vec<String> = invites.into_iter().map(keys::splice).collect();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for key in &keys {
            pipe.get(key);
        }
        let replies = self.connection.pipeline(&list, &pipe).await?;
        let mut splices = Vec::with_capacity(keys.len());
        for (key, reply) in keys.iter().zip(replies) {
            splices.extend(codec::json::<Splice>(key, reply)?);
        }
        Ok(splices)
    }

    /// A courier seen for the first time is idle since `DateTime::MIN_UTC`, as in memory.
    pub(super) async fn store_courier_presence(
        &self,
        carrier: Carrier,
        courier: &UserId,
        status: PresenceStatus,
    ) -> Result<(), StoreError> {
        let desk = keys::courier_desk(carrier);
        let never = codec::exact_time(DateTime::<Utc>::MIN_UTC);
        let mut pipe = redis::pipe();
        pipe.hset(&desk, courier.as_str(), codec::encode(&desk, &status)?)
            .ignore()
            .hset_nx(keys::courier_idle(carrier), courier.as_str(), never)
            .ignore();
        self.connection.pipeline(&desk, &pipe).await?;
        Ok(())
    }

    /// A courier seen for the first time is offline, as in memory.
    pub(super) async fn store_courier_freed(
        &self,
        carrier: Carrier,
        courier: &UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let desk = keys::courier_desk(carrier);
        let offline = codec::encode(&desk, &PresenceStatus::Offline)?;
        let mut pipe = redis::pipe();
        pipe.hset(
            keys::courier_idle(carrier),
            courier.as_str(),
            codec::exact_time(at),
        )
        .ignore()
        .hset_nx(&desk, courier.as_str(), offline)
        .ignore();
        self.connection.pipeline(&desk, &pipe).await?;
        Ok(())
    }

    /// Two round trips: the desk, then every courier's open-session count.
    pub(super) async fn carrier_couriers(
        &self,
        carrier: Carrier,
    ) -> Result<Vec<CourierRecord>, StoreError> {
        let (desk, idle) = (keys::courier_desk(carrier), keys::courier_idle(carrier));
        let mut pipe = redis::pipe();
        pipe.hgetall(&desk).hgetall(&idle);
        let mut replies = self.connection.pipeline(&desk, &pipe).await?.into_iter();
        let statuses = codec::pairs(&desk, replies.next().unwrap_or(Value::Nil))?;
        let idle_since = codec::pairs(&idle, replies.next().unwrap_or(Value::Nil))?;
        let mut couriers = Vec::with_capacity(statuses.len());
        for (courier, status) in statuses {
            let since = match idle_since.iter().find(|(c, _)| *c == courier) {
                Some((_, since)) => {
                    codec::parse_exact_time(&idle, &String::from_utf8_lossy(since))?
                }
                None => DateTime::<Utc>::MIN_UTC,
            };
            let courier: UserId = codec::parse(&desk, &courier)?;
            let status: PresenceStatus = codec::decode(&desk, &status)?;
            couriers.push((courier, status, since));
        }
        couriers.sort_by(|a, b| a.0.cmp(&b.0));
        let ids: Vec<UserId> = couriers.iter().map(|c| c.0.clone()).collect();
        let loads = self.open_session_counts(&desk, &ids).await?;
        let records = couriers.into_iter().zip(loads);
        Ok(records
            .map(
                |((courier, status, idle_since), active_sessions)| CourierRecord {
                    courier,
                    status,
                    active_sessions,
                    idle_since,
                },
            )
            .collect())
    }

    pub(super) async fn store_claim_courier(
        &self,
        courier: &UserId,
        session: SessionId,
        max: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = keys::user_claims(courier);
        let mut invocation = scripts::CLAIM_COURIER.prepare_invoke();
        invocation
            .key(keys::user_open(courier))
            .key(&key)
            .arg(session.to_string())
            .arg(max)
            .arg(now.timestamp_millis())
            .arg(until.timestamp_millis());
        let claimed = self.connection.script(&key, &invocation).await?;
        Ok(codec::number(&key, claimed)? == 1)
    }

    pub(super) async fn store_release_courier(
        &self,
        courier: &UserId,
        session: SessionId,
    ) -> Result<(), StoreError> {
        let key = keys::user_claims(courier);
        let mut pipe = redis::pipe();
        pipe.hdel(&key, session.to_string()).ignore();
        self.connection.pipeline(&key, &pipe).await?;
        Ok(())
    }

    pub(super) async fn push_courier_request(
        &self,
        carrier: Carrier,
        invite: InviteId,
    ) -> Result<(), StoreError> {
        let key = keys::courier_queue(carrier);
        let mut push = redis::cmd("EVAL");
        push.arg(scripts::RPUSH_UNIQUE)
            .arg(1)
            .arg(&key)
            .arg(invite.to_string());
        self.connection.query(&key, &push).await?;
        Ok(())
    }

    pub(super) async fn carrier_queue(
        &self,
        carrier: Carrier,
    ) -> Result<Vec<InviteId>, StoreError> {
        let key = keys::courier_queue(carrier);
        let reply = self
            .connection
            .query(&key, redis::cmd("LRANGE").arg(&key).arg(0).arg(-1))
            .await?;
        codec::parsed_items(&key, reply)
    }

    /// `LREM`: of several nodes taking the same invite, exactly one sees `true`.
    pub(super) async fn take_courier_request(
        &self,
        carrier: Carrier,
        invite: InviteId,
    ) -> Result<bool, StoreError> {
        let key = keys::courier_queue(carrier);
        let mut remove = redis::cmd("LREM");
        remove.arg(&key).arg(0).arg(invite.to_string());
        let removed = codec::number(&key, self.connection.query(&key, &remove).await?)?;
        Ok(removed > 0)
    }

    /// Filed under the carrier of the invite's splice; an invite without one is refused as the
    /// memory store refuses it.
    pub(super) async fn push_evaluation(&self, entry: &EvaluationEntry) -> Result<(), StoreError> {
        let Some(splice) = self.load_splice(entry.invite_id).await? else {
            return Err(codec::corrupt(
                &format!("evaluation {}", entry.invite_id),
                "no splice for this invite",
            ));
        };
        let key = keys::evaluations(splice.carrier);
        let mut push = redis::cmd("RPUSH");
        push.arg(&key).arg(codec::encode(&key, entry)?);
        self.connection.query(&key, &push).await?;
        Ok(())
    }

    pub(super) async fn carrier_evaluations(
        &self,
        carrier: Carrier,
    ) -> Result<Vec<EvaluationEntry>, StoreError> {
        self.json_list(&keys::evaluations(carrier)).await
    }

    /// One `EVALSHA`: the check for an earlier rating and the write are one step.
    pub(super) async fn push_shop_rating(&self, rating: &ShopRating) -> Result<bool, StoreError> {
        let ratings = keys::shop_ratings(&rating.shop);
        let mut invocation = scripts::ADD_SHOP_RATING.prepare_invoke();
        invocation
            .key(keys::shop_rated(&rating.shop))
            .key(&ratings)
            .arg(rating.session_id.to_string())
            .arg(codec::encode(&ratings, rating)?);
        let stored = self.connection.script(&ratings, &invocation).await?;
        Ok(codec::number(&ratings, stored)? == 1)
    }

    pub(super) async fn shop_rating_list(
        &self,
        shop: &ShopId,
    ) -> Result<Vec<ShopRating>, StoreError> {
        self.json_list(&keys::shop_ratings(shop)).await
    }
}
