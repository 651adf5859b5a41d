//! The `[console]` section: the browser console served at `/console` (issue 9).
//!
//! Owns only the switch for development mode. The console page itself and its routes live in
//! `transport::console`.

use serde::Deserialize;

use super::ConfigError;

/// The validated `[console]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// When on, `POST /console/demo` seeds a demo shop and order and hands out tokens for it,
    /// admin included, to anyone who can reach the hub. Off by default; never on in production.
    pub dev_mode: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawConsole {
    dev_mode: bool,
}

impl RawConsole {
    pub(super) fn validate(self) -> Result<ConsoleConfig, ConfigError> {
        Ok(ConsoleConfig {
            dev_mode: self.dev_mode,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::config::Config;

    #[test]
    fn dev_mode_is_off_unless_switched_on() {
        let off = Config::parse("", &HashMap::new()).expect("valid");
        assert!(!off.console.dev_mode);
        let on = Config::parse("[console]\ndev_mode = true", &HashMap::new()).expect("valid");
        assert!(on.console.dev_mode);
        let env = HashMap::from([("LB_CONSOLE__DEV_MODE".to_string(), "true".to_string())]);
        assert!(Config::parse("", &env).expect("valid").console.dev_mode);
    }

    #[test]
    fn a_bad_value_names_the_key() {
        let error = Config::parse("[console]\ndev_mode = \"yes\"", &HashMap::new())
            .expect_err("a string is not a boolean");
        assert!(error.to_string().contains("dev_mode"), "{error}");
        let error =
            Config::parse("[console]\ndevmode = true", &HashMap::new()).expect_err("unknown key");
        assert!(error.to_string().contains("devmode"), "{error}");
    }
}
