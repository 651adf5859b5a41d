//! Routing state: conversion rates per shop agent. (Routing configs, buyer profiles and routing
//! decisions are plain JSON strings; see `keys`.)

use super::RedisStore;
use super::codec;
use super::keys;
use crate::protocol::ids::{ShopId, UserId};
use crate::store::StoreError;

impl RedisStore {
    /// Stored as the shortest decimal that reads back as the same `f32`.
    pub(super) async fn store_conversion_rate(
        &self,
        shop: &ShopId,
        agent: &UserId,
        rate: f32,
    ) -> Result<(), StoreError> {
        let key = keys::shop_conversion(shop);
        let mut set = redis::cmd("HSET");
        set.arg(&key).arg(agent.as_str()).arg(rate.to_string());
        self.connection.query(&key, &set).await?;
        Ok(())
    }

    /// Sorted by agent, as the memory store does.
    pub(super) async fn shop_conversion_rates(
        &self,
        shop: &ShopId,
    ) -> Result<Vec<(UserId, f32)>, StoreError> {
        let key = keys::shop_conversion(shop);
        let reply = self
            .connection
            .query(&key, redis::cmd("HGETALL").arg(&key))
            .await?;
        let mut rates = codec::pairs(&key, reply)?
            .into_iter()
            .map(|(agent, rate)| {
                let rate = String::from_utf8_lossy(&rate).into_owned();
                Ok((codec::parse(&key, &agent)?, codec::parse(&key, &rate)?))
            })
            .collect::<Result<Vec<(UserId, f32)>, StoreError>>()?;
        rates.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(rates)
    }
}
