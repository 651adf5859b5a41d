//! The two names routing configuration is written in: [`GroupId`] (a shop's agent group) and
//! [`Tag`] (a crowd, an item or an intent a group is bound to).
//!
//! Both are identifiers, not display names: like the marketplace ids in `protocol::ids`, they are
//! 1 to 64 ASCII letters, digits, `-`, `_`, `.` or `:`, checked at deserialisation, so a value of
//! either type is always well formed. Labels shown to people live elsewhere.

use std::fmt;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::protocol::ids::{IdError, MAX_EXTERNAL_ID_LEN};

/// Same rule as the marketplace ids, so a tag can carry an item id or a crowd id unchanged.
fn validate_name(value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty);
    }
    if value.len() > MAX_EXTERNAL_ID_LEN {
        return Err(IdError::TooLong);
    }
    let is_allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    if !value.chars().all(is_allowed) {
        return Err(IdError::BadCharacter);
    }
    Ok(())
}

macro_rules! routing_name {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Arc<str>);

        impl $name {
            /// Validates and wraps `value`.
            pub fn new(value: &str) -> Result<Self, IdError> {
                validate_name(value)?;
                Ok(Self(Arc::from(value)))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::new(&value)
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> String {
                name.0.to_string()
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(value: &str) -> Result<Self, IdError> {
                Self::new(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), &*self.0)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_EXTERNAL_ID_LEN,
                    "pattern": "^[A-Za-z0-9._:-]+$"
                })
            }
        }
    };
}

routing_name!(
    /// A group of a shop's agents, named by the shop (`"pre-sale"`, `"after-sale"`).
    GroupId
);
routing_name!(
    /// A crowd, item or intent a buyer carries and a group can be bound to (`"vip"`, `"sku-42"`).
    Tag
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        let cases: &[(&str, Result<(), IdError>)] = &[
            ("g", Ok(())),
            ("after-sale:vip_1.a", Ok(())),
            ("", Err(IdError::Empty)),
            (&"x".repeat(64), Ok(())),
            (&"x".repeat(65), Err(IdError::TooLong)),
            ("pre sale", Err(IdError::BadCharacter)),
            ("售后", Err(IdError::BadCharacter)),
        ];
        for (input, expected) in cases {
            assert_eq!(Tag::new(input).map(|_| ()), *expected, "tag {input:?}");
            assert_eq!(
                GroupId::new(input).map(|_| ()),
                *expected,
                "group {input:?}"
            );
        }
    }

    #[test]
    fn names_are_validated_in_json() {
        assert!(serde_json::from_str::<GroupId>("\"a b\"").is_err());
        let tag: Tag = serde_json::from_str("\"vip\"").expect("valid tag");
        assert_eq!(serde_json::to_string(&tag).expect("serialise"), "\"vip\"");
    }
}
