//! Configuration: `config.toml` → `RawConfig` (serde, unknown keys refused) → validated `Config`.
//!
//! Parsing is a pure function of the file's text and an environment map, so tests never touch
//! the process environment. Environment variables `LB_<SECTION>__<KEY>` override file keys
//! (`LB_AUTH__SECRET`, `LB_SERVER__BIND`); their values are read as TOML values when they parse
//! as one (numbers, booleans, arrays, quoted strings) and as plain strings otherwise.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use serde::Deserialize;

mod console;
mod rules;

use crate::domain::controls::ControlRules;
pub use console::ConsoleConfig;
pub use rules::LogisticsConfig;

/// The prefix of environment overrides.
pub const ENV_PREFIX: &str = "LB_";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("config is not valid TOML: {0}")]
    Syntax(String),
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
    #[error("environment variable {name}: expected LB_<SECTION>__<KEY>")]
    BadEnvName { name: String },
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        message: message.into(),
    }
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub server: ServerConfig,
    pub auth: AuthConfig,
    pub limits: LimitsConfig,
    pub history: HistoryConfig,
    pub store: StoreConfig,
    pub logistics: LogisticsConfig,
    pub controls: ControlRules,
    pub splice: crate::domain::splice::SpliceRules,
    pub console: ConsoleConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    pub max_message_bytes: usize,
    pub outbox_capacity: usize,
    pub ping_interval: Duration,
    pub idle_timeout: Duration,
    pub shutdown_grace: Duration,
    /// How long a node may go without beating before other nodes take its agents and
    /// couriers offline (with the Redis store; see `store::liveness`).
    pub node_timeout: Duration,
    pub allowed_origins: Vec<String>,
    pub max_bad_frames: u32,
}

#[derive(Clone, PartialEq)]
pub struct AuthConfig {
    pub secret: String,
    pub leeway: Duration,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("secret", &"<redacted>")
            .field("leeway", &self.leeway)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LimitsConfig {
    pub connection_per_second: NonZeroU32,
    pub connection_burst: NonZeroU32,
    pub user_per_second: NonZeroU32,
    pub user_burst: NonZeroU32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HistoryConfig {
    pub retained_messages: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StoreConfig {
    Memory,
    Redis { url: String },
}

// ---- raw, as written in the file -------------------------------------------------------------

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    server: RawServer,
    auth: RawAuth,
    limits: RawLimits,
    history: RawHistory,
    store: RawStore,
    logistics: rules::RawLogistics,
    controls: rules::RawControls,
    splice: rules::RawSplice,
    console: console::RawConsole,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawServer {
    bind: String,
    max_message_bytes: u64,
    outbox_capacity: u64,
    ping_interval: String,
    idle_timeout: String,
    shutdown_grace: String,
    node_timeout: String,
    allowed_origins: Vec<String>,
    max_bad_frames: u32,
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            bind: "127.0.0.1:8080".into(),
            max_message_bytes: 65_536,
            outbox_capacity: 256,
            ping_interval: "20s".into(),
            idle_timeout: "60s".into(),
            shutdown_grace: "10s".into(),
            node_timeout: "15s".into(),
            allowed_origins: vec![
                "http://127.0.0.1:8080".into(),
                "http://localhost:8080".into(),
            ],
            max_bad_frames: 10,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawAuth {
    secret: String,
    leeway: String,
}

/// The shipped development secret. `serve` warns when it is in use.
pub const DEVELOPMENT_SECRET: &str = "logistics-bridge-development-secret-change-me";

impl Default for RawAuth {
    fn default() -> Self {
        RawAuth {
            secret: DEVELOPMENT_SECRET.into(),
            leeway: "5s".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawLimits {
    connection_per_second: u32,
    connection_burst: u32,
    user_per_second: u32,
    user_burst: u32,
}

impl Default for RawLimits {
    fn default() -> Self {
        RawLimits {
            connection_per_second: 20,
            connection_burst: 40,
            user_per_second: 40,
            user_burst: 80,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawHistory {
    retained_messages: u64,
}

impl Default for RawHistory {
    fn default() -> Self {
        RawHistory {
            retained_messages: 10_000,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawStore {
    kind: String,
    redis_url: String,
}

impl Default for RawStore {
    fn default() -> Self {
        RawStore {
            kind: "memory".into(),
            redis_url: "redis://127.0.0.1:6379".into(),
        }
    }
}

// ---- parsing and validation ------------------------------------------------------------------

impl Config {
    /// Parses `text` (a config.toml) with `env` applied on top.
    pub fn parse(text: &str, env: &HashMap<String, String>) -> Result<Config, ConfigError> {
        let mut table: toml::Table =
            toml::from_str(text).map_err(|error| ConfigError::Syntax(error.to_string()))?;
        apply_env(&mut table, env)?;
        let raw: RawConfig = RawConfig::deserialize(table)
            .map_err(|error| ConfigError::Syntax(error.to_string()))?;
        raw.validate()
    }

    /// The defaults, as if config.toml were empty.
    pub fn defaults() -> Config {
        RawConfig::default()
            .validate()
            .expect("the built-in defaults are valid")
    }
}

fn apply_env(table: &mut toml::Table, env: &HashMap<String, String>) -> Result<(), ConfigError> {
    let mut names: Vec<&String> = env.keys().filter(|k| k.starts_with(ENV_PREFIX)).collect();
    names.sort();
    for name in names {
        let rest = &name[ENV_PREFIX.len()..];
        let Some((section, key)) = rest.split_once("__") else {
            return Err(ConfigError::BadEnvName { name: name.clone() });
        };
        let (section, key) = (section.to_ascii_lowercase(), key.to_ascii_lowercase());
        let value = env_value(&env[name]);
        let entry = table
            .entry(section.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(section_table) = entry else {
            return Err(invalid(&section, "must be a table"));
        };
        section_table.insert(key, value);
    }
    Ok(())
}

fn env_value(raw: &str) -> toml::Value {
    let parsed = toml::from_str::<toml::Table>(&format!("value = {raw}"));
    match parsed.ok().and_then(|mut table| table.remove("value")) {
        Some(value) => value,
        None => toml::Value::String(raw.to_string()),
    }
}

fn duration(key: &str, value: &str) -> Result<Duration, ConfigError> {
    humantime::parse_duration(value)
        .map_err(|error| invalid(key, format!("{value:?} is not a duration ({error})")))
}

fn in_range(key: &str, value: u64, low: u64, high: u64) -> Result<u64, ConfigError> {
    if (low..=high).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(
            key,
            format!("must be {low} to {high}, got {value}"),
        ))
    }
}

fn positive(key: &str, value: u32) -> Result<NonZeroU32, ConfigError> {
    NonZeroU32::new(value).ok_or_else(|| invalid(key, "must be at least 1, got 0"))
}

impl RawConfig {
    fn validate(self) -> Result<Config, ConfigError> {
        Ok(Config {
            server: self.server.validate()?,
            auth: self.auth.validate()?,
            limits: self.limits.validate()?,
            history: HistoryConfig {
                retained_messages: in_range(
                    "history.retained_messages",
                    self.history.retained_messages,
                    1,
                    10_000_000,
                )? as usize,
            },
            store: self.store.validate()?,
            logistics: self.logistics.validate()?,
            controls: self.controls.validate()?,
            splice: self.splice.validate()?,
            console: self.console.validate()?,
        })
    }
}

impl RawServer {
    fn validate(self) -> Result<ServerConfig, ConfigError> {
        let bind = self.bind.parse().map_err(|_| {
            invalid(
                "server.bind",
                format!("{:?} is not an address:port", self.bind),
            )
        })?;
        let ping_interval = duration("server.ping_interval", &self.ping_interval)?;
        let idle_timeout = duration("server.idle_timeout", &self.idle_timeout)?;
        if ping_interval.is_zero() || idle_timeout <= ping_interval {
            return Err(invalid(
                "server.idle_timeout",
                "must be longer than server.ping_interval, which must be above zero",
            ));
        }
        let node_timeout = duration("server.node_timeout", &self.node_timeout)?;
        if node_timeout < Duration::from_secs(1) {
            return Err(invalid("server.node_timeout", "must be at least 1s"));
        }
        for origin in &self.allowed_origins {
            if !(origin == "*" || origin.starts_with("http://") || origin.starts_with("https://")) {
                return Err(invalid(
                    "server.allowed_origins",
                    format!("{origin:?} is not \"*\" or an http(s) origin"),
                ));
            }
        }
        let max_bytes = in_range(
            "server.max_message_bytes",
            self.max_message_bytes,
            1024,
            16 << 20,
        )?;
        Ok(ServerConfig {
            bind,
            max_message_bytes: max_bytes as usize,
            outbox_capacity: in_range("server.outbox_capacity", self.outbox_capacity, 1, 1 << 20)?
                as usize,
            ping_interval,
            idle_timeout,
            shutdown_grace: duration("server.shutdown_grace", &self.shutdown_grace)?,
            node_timeout,
            allowed_origins: self.allowed_origins,
            max_bad_frames: in_range("server.max_bad_frames", self.max_bad_frames.into(), 1, 1000)?
                as u32,
        })
    }
}

impl RawAuth {
    fn validate(self) -> Result<AuthConfig, ConfigError> {
        if self.secret.len() < 16 {
            return Err(invalid("auth.secret", "must be at least 16 bytes"));
        }
        Ok(AuthConfig {
            secret: self.secret,
            leeway: duration("auth.leeway", &self.leeway)?,
        })
    }
}

impl RawLimits {
    fn validate(self) -> Result<LimitsConfig, ConfigError> {
        Ok(LimitsConfig {
            connection_per_second: positive(
                "limits.connection_per_second",
                self.connection_per_second,
            )?,
            connection_burst: positive("limits.connection_burst", self.connection_burst)?,
            user_per_second: positive("limits.user_per_second", self.user_per_second)?,
            user_burst: positive("limits.user_burst", self.user_burst)?,
        })
    }
}

impl RawStore {
    fn validate(self) -> Result<StoreConfig, ConfigError> {
        match self.kind.as_str() {
            "memory" => Ok(StoreConfig::Memory),
            "redis" if self.redis_url.starts_with("redis://") => Ok(StoreConfig::Redis {
                url: self.redis_url,
            }),
            "redis" => Err(invalid(
                "store.redis_url",
                format!("{:?} is not a redis:// URL", self.redis_url),
            )),
            other => Err(invalid(
                "store.kind",
                format!("must be \"memory\" or \"redis\", got {other:?}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn shipped_config_file_parses_to_the_defaults() {
        let shipped = include_str!("../../config.toml");
        let parsed = Config::parse(shipped, &HashMap::new()).expect("config.toml is valid");
        assert_eq!(parsed, Config::defaults());
    }

    #[test]
    fn environment_overrides_the_file() {
        let vars = env(&[
            ("LB_SERVER__BIND", "0.0.0.0:9000"),
            ("LB_AUTH__SECRET", "a-secret-of-enough-length"),
            ("LB_LIMITS__USER_BURST", "7"),
            ("OTHER", "ignored"),
        ]);
        let config = Config::parse("", &vars).expect("valid");
        assert_eq!(config.server.bind.port(), 9000);
        assert_eq!(config.auth.secret, "a-secret-of-enough-length");
        assert_eq!(config.limits.user_burst.get(), 7);
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            ("[server]\nbind = \"nowhere\"", "server.bind"),
            (
                "[server]\nmax_message_bytes = 12",
                "server.max_message_bytes",
            ),
            ("[server]\nping_interval = \"soon\"", "server.ping_interval"),
            (
                "[server]\nidle_timeout = \"1s\"\nping_interval = \"2s\"",
                "server.idle_timeout",
            ),
            ("[auth]\nsecret = \"short\"", "auth.secret"),
            ("[limits]\nuser_burst = 0", "limits.user_burst"),
            ("[store]\nkind = \"postgres\"", "store.kind"),
            (
                "[server]\nallowed_origins = [\"ftp://x\"]",
                "server.allowed_origins",
            ),
            ("[server]\nbogus = 1", "bogus"),
            ("[bogus]\nx = 1", "bogus"),
            ("[server]\nmax_bad_frames = \"ten\"", "max_bad_frames"),
            (
                "[logistics]\ntime_zone = \"Mars/Olympus\"",
                "logistics.time_zone",
            ),
            (
                "[logistics]\nservice_start = \"9am\"",
                "logistics.service_start",
            ),
            ("[logistics]\ncarriers = [\"SF\"]", "logistics.carriers"),
            (
                "[logistics]\nrollout_percent = 101",
                "logistics.rollout_percent",
            ),
            (
                "[controls]\nconsecutive_limit = 0",
                "controls.consecutive_limit",
            ),
            (
                "[controls]\nresponse_window = \"0s\"",
                "controls.response_window",
            ),
        ];
        for (text, key) in cases {
            let error = Config::parse(text, &HashMap::new())
                .expect_err(text)
                .to_string();
            assert!(
                error.contains(key),
                "{text:?} gave {error:?}, expected it to name {key}"
            );
        }
    }

    #[test]
    fn bad_environment_names_are_refused() {
        let error = Config::parse("", &env(&[("LB_SECRET", "x")])).expect_err("refused");
        assert_eq!(
            error,
            ConfigError::BadEnvName {
                name: "LB_SECRET".into()
            }
        );
    }
}
