//! The `[logistics]` and `[controls]` sections: raw file form and validation into the domain's
//! rule types.

use std::time::Duration;

use chrono::{NaiveTime, TimeDelta};
use chrono_tz::Tz;
use serde::Deserialize;

use super::{ConfigError, duration, in_range, invalid};
use crate::domain::controls::ControlRules;
use crate::domain::controls::marketing::{
    DEFAULT_ITEM_LINK_PATTERNS, DEFAULT_KEYWORDS, MarketingRules, MarketingWords,
};
use crate::domain::eligibility::EligibilityRules;
use crate::domain::order::Carrier;
use crate::domain::splice::{InvitePolicy, SpliceRules};

/// The validated `[logistics]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticsConfig {
    pub eligibility: EligibilityRules,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawLogistics {
    time_zone: String,
    service_start: String,
    service_end: String,
    order_card_window: String,
    carriers: Vec<String>,
    rollout_percent: u64,
}

impl Default for RawLogistics {
    fn default() -> Self {
        RawLogistics {
            time_zone: "Asia/Shanghai".into(),
            service_start: "09:00".into(),
            service_end: "21:00".into(),
            order_card_window: "24h".into(),
            carriers: ["ZTO", "STO", "YUNDA", "YTO"].map(String::from).to_vec(),
            rollout_percent: 100,
        }
    }
}

pub(super) fn time_zone(key: &str, value: &str) -> Result<Tz, ConfigError> {
    value
        .parse()
        .map_err(|_| invalid(key, format!("{value:?} is not an IANA time zone")))
}

fn local_time(key: &str, value: &str) -> Result<NaiveTime, ConfigError> {
    NaiveTime::parse_from_str(value, "%H:%M").map_err(|_| {
        invalid(
            key,
            format!("{value:?} is not a time of day like \"09:00\""),
        )
    })
}

pub(super) fn time_delta(key: &str, value: &str) -> Result<TimeDelta, ConfigError> {
    let parsed: Duration = duration(key, value)?;
    TimeDelta::from_std(parsed).map_err(|_| invalid(key, "is too long"))
}

impl RawLogistics {
    pub(super) fn validate(self) -> Result<LogisticsConfig, ConfigError> {
        let mut carriers = Vec::new();
        for code in &self.carriers {
            let carrier = Carrier::from_code(code).ok_or_else(|| {
                invalid(
                    "logistics.carriers",
                    format!("{code:?} is not a known carrier code"),
                )
            })?;
            carriers.push(carrier);
        }
        let eligibility = EligibilityRules {
            time_zone: time_zone("logistics.time_zone", &self.time_zone)?,
            service_start: local_time("logistics.service_start", &self.service_start)?,
            service_end: local_time("logistics.service_end", &self.service_end)?,
            order_card_window: time_delta("logistics.order_card_window", &self.order_card_window)?,
            carriers,
            rollout_percent: in_range("logistics.rollout_percent", self.rollout_percent, 0, 100)?
                as u8,
        };
        Ok(LogisticsConfig { eligibility })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawControls {
    consecutive_limit: u64,
    response_window: String,
    marketing_daily_limit: u64,
    marketing_keywords: Vec<String>,
    marketing_link_patterns: Vec<String>,
    time_zone: String,
}

impl Default for RawControls {
    fn default() -> Self {
        RawControls {
            consecutive_limit: 5,
            response_window: "3m".into(),
            marketing_daily_limit: 1,
            marketing_keywords: DEFAULT_KEYWORDS.iter().map(|k| k.to_string()).collect(),
            marketing_link_patterns: DEFAULT_ITEM_LINK_PATTERNS
                .iter()
                .map(|p| p.to_string())
                .collect(),
            time_zone: "Asia/Shanghai".into(),
        }
    }
}

impl RawControls {
    pub(super) fn validate(self) -> Result<ControlRules, ConfigError> {
        let window = time_delta("controls.response_window", &self.response_window)?;
        if window <= TimeDelta::zero() {
            return Err(invalid("controls.response_window", "must be above zero"));
        }
        Ok(ControlRules {
            consecutive_limit: in_range(
                "controls.consecutive_limit",
                self.consecutive_limit,
                1,
                1000,
            )? as u32,
            response_window: window,
            marketing: MarketingRules {
                words: MarketingWords::new(&self.marketing_keywords, &self.marketing_link_patterns),
                daily_limit: in_range(
                    "controls.marketing_daily_limit",
                    self.marketing_daily_limit,
                    0,
                    1000,
                )? as u32,
                time_zone: time_zone("controls.time_zone", &self.time_zone)?,
            },
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawSplice {
    invite_ttl: String,
    invite_cooldown: String,
    max_courier_sessions: u64,
    queue_timeout: String,
    courier_idle_timeout: String,
    courier_return_timeout: String,
    context_messages: u64,
}

impl Default for RawSplice {
    fn default() -> Self {
        RawSplice {
            invite_ttl: "10m".into(),
            invite_cooldown: "30m".into(),
            max_courier_sessions: 3,
            queue_timeout: "2m".into(),
            courier_idle_timeout: "15m".into(),
            courier_return_timeout: "60s".into(),
            context_messages: 20,
        }
    }
}

fn positive_delta(key: &str, value: &str) -> Result<TimeDelta, ConfigError> {
    let delta = time_delta(key, value)?;
    if delta <= TimeDelta::zero() {
        return Err(invalid(key, "must be above zero"));
    }
    Ok(delta)
}

impl RawSplice {
    pub(super) fn validate(self) -> Result<SpliceRules, ConfigError> {
        Ok(SpliceRules {
            invite: InvitePolicy {
                ttl: positive_delta("splice.invite_ttl", &self.invite_ttl)?,
                cooldown: time_delta("splice.invite_cooldown", &self.invite_cooldown)?,
            },
            max_courier_sessions: in_range(
                "splice.max_courier_sessions",
                self.max_courier_sessions,
                1,
                1000,
            )? as u32,
            queue_timeout: positive_delta("splice.queue_timeout", &self.queue_timeout)?,
            courier_idle_timeout: positive_delta(
                "splice.courier_idle_timeout",
                &self.courier_idle_timeout,
            )?,
            courier_return_timeout: positive_delta(
                "splice.courier_return_timeout",
                &self.courier_return_timeout,
            )?,
            context_messages: in_range("splice.context_messages", self.context_messages, 0, 200)?
                as usize,
        })
    }
}
