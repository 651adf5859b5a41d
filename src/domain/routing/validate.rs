//! `RoutingConfig::validate`: the consistency checks serde cannot express. Each error names the
//! offending field by its JSON path (`agents[2].level`) so the admin API can point at it.

use std::collections::HashSet;

use super::config::{OfflineRule, RoutingConfig};

/// The most groups a shop may define.
pub const MAX_GROUPS: usize = 100;
/// The most agent profiles a shop may define.
pub const MAX_AGENTS: usize = 1000;
/// The most values one group may be bound to on one dimension.
pub const MAX_BINDINGS: usize = 200;
/// The longest after-sale window: 90 days.
pub const MAX_AFTER_SALE_WINDOW_HOURS: u32 = 90 * 24;

/// Why a routing configuration is refused. `field` is the JSON path of the bad value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{field}: level {level} is outside 1..=5")]
    LevelOutOfRange { field: String, level: u8 },
    #[error("{field}: group {group} is defined more than once")]
    DuplicateGroup { field: String, group: String },
    #[error("{field}: agent {agent} has more than one profile")]
    DuplicateAgent { field: String, agent: String },
    #[error("{field}: group {group} is not defined in groups")]
    UnknownGroup { field: String, group: String },
    #[error("{field}: required when offline_rule is main_account")]
    MissingMainAccount { field: String },
    #[error("{field}: {count} entries; at most {max} are allowed")]
    TooMany {
        field: String,
        count: usize,
        max: usize,
    },
    #[error("{field}: {value} is outside {min}..={max}")]
    OutOfRange {
        field: String,
        value: u32,
        min: u32,
        max: u32,
    },
}

impl ConfigError {
    /// The JSON path of the offending value.
    pub fn field(&self) -> &str {
        match self {
            ConfigError::LevelOutOfRange { field, .. }
            | ConfigError::DuplicateGroup { field, .. }
            | ConfigError::DuplicateAgent { field, .. }
            | ConfigError::UnknownGroup { field, .. }
            | ConfigError::MissingMainAccount { field }
            | ConfigError::TooMany { field, .. }
            | ConfigError::OutOfRange { field, .. } => field,
        }
    }
}

impl RoutingConfig {
    /// Checks the configuration; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_settings()?;
        self.validate_groups()?;
        self.validate_agents()
    }

    fn validate_settings(&self) -> Result<(), ConfigError> {
        if matches!(self.offline_rule, OfflineRule::MainAccount {}) && self.main_account.is_none() {
            let field = "main_account".to_string();
            return Err(ConfigError::MissingMainAccount { field });
        }
        check_range("busy_weight_divisor", self.busy_weight_divisor, 1, u32::MAX)?;
        let window = self.after_sale_window_hours;
        check_range(
            "after_sale_window_hours",
            window,
            0,
            MAX_AFTER_SALE_WINDOW_HOURS,
        )
    }

    fn validate_groups(&self) -> Result<(), ConfigError> {
        check_count("groups".to_string(), self.groups.len(), MAX_GROUPS)?;
        let mut seen = HashSet::new();
        for (index, group) in self.groups.iter().enumerate() {
            if !seen.insert(&group.id) {
                let (field, group) = (format!("groups[{index}].id"), group.id.to_string());
                return Err(ConfigError::DuplicateGroup { field, group });
            }
            let bindings = [
                ("crowds", group.crowds.len()),
                ("items", group.items.len()),
                ("intents", group.intents.len()),
                ("order_states", group.order_states.len()),
            ];
            for (name, count) in bindings {
                check_count(format!("groups[{index}].{name}"), count, MAX_BINDINGS)?;
            }
        }
        Ok(())
    }

    fn validate_agents(&self) -> Result<(), ConfigError> {
        check_count("agents".to_string(), self.agents.len(), MAX_AGENTS)?;
        let groups: HashSet<_> = self.groups.iter().map(|group| &group.id).collect();
        let mut seen = HashSet::new();
        for (index, profile) in self.agents.iter().enumerate() {
            if !seen.insert(&profile.agent) {
                let (field, agent) = (format!("agents[{index}].agent"), profile.agent.to_string());
                return Err(ConfigError::DuplicateAgent { field, agent });
            }
            if !(1..=5).contains(&profile.level) {
                let (field, level) = (format!("agents[{index}].level"), profile.level);
                return Err(ConfigError::LevelOutOfRange { field, level });
            }
            let unknown = profile
                .groups
                .iter()
                .position(|group| !groups.contains(group));
            if let Some(position) = unknown {
                let field = format!("agents[{index}].groups[{position}]");
                let group = profile.groups[position].to_string();
                return Err(ConfigError::UnknownGroup { field, group });
            }
        }
        Ok(())
    }
}

fn check_count(field: String, count: usize, max: usize) -> Result<(), ConfigError> {
    if count > max {
        return Err(ConfigError::TooMany { field, count, max });
    }
    Ok(())
}

fn check_range(field: &str, value: u32, min: u32, max: u32) -> Result<(), ConfigError> {
    if value < min || value > max {
        let field = field.to_string();
        return Err(ConfigError::OutOfRange {
            field,
            value,
            min,
            max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    type Edit = Box<dyn FnOnce(&mut Value)>;

    /// A valid config with one group and one agent, changed by `edit`.
    fn config_with(edit: impl FnOnce(&mut Value)) -> RoutingConfig {
        let mut value = json!({
            "main_account": "main",
            "offline_rule": {"kind": "main_account"},
            "groups": [{"id": "g1", "items": ["a"]}, {"id": "g2"}],
            "agents": [
                {"agent": "a1", "level": 3, "groups": ["g1"]},
                {"agent": "a2", "level": 2}
            ],
        });
        edit(&mut value);
        serde_json::from_value(value).expect("config parses")
    }

    #[test]
    fn errors_name_the_field() {
        let many_groups: Vec<Value> = (0..=MAX_GROUPS)
            .map(|i| json!({"id": format!("g{i}")}))
            .collect();
        let many_items: Vec<String> = (0..=MAX_BINDINGS).map(|i| format!("i{i}")).collect();
        #[rustfmt::skip]
        let cases: Vec<(&str, Edit, Option<&str>)> = vec![
            ("valid", Box::new(|_| {}), None),
            ("level 0", Box::new(|v| v["agents"][0]["level"] = json!(0)), Some("agents[0].level")),
            ("level 1", Box::new(|v| v["agents"][0]["level"] = json!(1)), None),
            ("level 5", Box::new(|v| v["agents"][0]["level"] = json!(5)), None),
            ("level 6", Box::new(|v| v["agents"][0]["level"] = json!(6)), Some("agents[0].level")),
            ("duplicate group", Box::new(|v| v["groups"][1]["id"] = json!("g1")), Some("groups[1].id")),
            ("unknown group", Box::new(|v| v["agents"][0]["groups"] = json!(["g1", "g9"])), Some("agents[0].groups[1]")),
            ("duplicate agent", Box::new(|v| v["agents"][1] = json!({"agent": "a1", "level": 1})), Some("agents[1].agent")),
            ("no main account", Box::new(|v| v["main_account"] = Value::Null), Some("main_account")),
            ("divisor 0", Box::new(|v| v["busy_weight_divisor"] = json!(0)), Some("busy_weight_divisor")),
            ("window 90 days", Box::new(|v| v["after_sale_window_hours"] = json!(2160)), None),
            ("window too long", Box::new(|v| v["after_sale_window_hours"] = json!(2161)), Some("after_sale_window_hours")),
            ("too many groups", Box::new(move |v| v["groups"] = json!(many_groups)), Some("groups")),
            ("too many items", Box::new(move |v| v["groups"][0]["items"] = json!(many_items)), Some("groups[0].items")),
        ];
        for (name, edit, expected) in cases {
            let error = config_with(edit).validate().err();
            assert_eq!(
                error.as_ref().map(ConfigError::field),
                expected,
                "{name}: {error:?}"
            );
        }
    }

    #[test]
    fn error_messages_carry_the_field() {
        let error = config_with(|v| v["agents"][0]["level"] = json!(9)).validate();
        let message = error.err().map(|error| error.to_string());
        assert_eq!(
            message.as_deref(),
            Some("agents[0].level: level 9 is outside 1..=5")
        );
    }
}
