//! Identifier newtypes.
//!
//! Ids the hub mints itself (sessions, messages, invites) are newtypes over `Uuid`. Ids that come
//! from the marketplace (users, shops, orders) or from a client (`client_msg_id`) are opaque
//! strings there, so they are newtypes over a validated string: 1 to 64 characters of ASCII
//! letters, digits, `-`, `_`, `.` or `:`. Validation happens at deserialisation, so a value of
//! one of these types is always well formed and no raw string is passed around as an id.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The longest external id accepted.
pub const MAX_EXTERNAL_ID_LEN: usize = 64;

/// Why a string is not a valid external id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("id is empty")]
    Empty,
    #[error("id is longer than {MAX_EXTERNAL_ID_LEN} characters")]
    TooLong,
    #[error("id has a character other than ASCII letters, digits, '-', '_', '.', ':'")]
    BadCharacter,
}

/// Checks the external-id rule: 1 to 64 ASCII letters, digits, `-`, `_`, `.` or `:`.
pub fn validate_external(value: &str) -> Result<(), IdError> {
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

/// Reads an id from a JSON string (through the id's validating `FromStr`), borrowed where the
/// input allows: one allocation (the id's own) instead of an owned `String` first.
pub struct IdVisitor<T>(pub std::marker::PhantomData<T>);

impl<T: std::str::FromStr<Err = IdError>> serde::de::Visitor<'_> for IdVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string id")
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<T, E> {
        value.parse().map_err(E::custom)
    }
}

/// Declares a validated string id newtype (see the module docs). Used here and for routing's
/// group and tag names, which follow the same rule.
macro_rules! external_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(::std::sync::Arc<str>);

        // By hand rather than `#[serde(try_from = "String", into = "String")]`: that copied
        // every id into a `String` to write it, and read each into one before its `Arc`
        // (about 2% of the hub's CPU at saturation in allocations alone).
        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str($crate::protocol::ids::IdVisitor(::std::marker::PhantomData))
            }
        }

        impl $name {
            /// Validates and wraps `value`.
            pub fn new(value: &str) -> Result<Self, $crate::protocol::ids::IdError> {
                $crate::protocol::ids::validate_external(value)?;
                Ok(Self(::std::sync::Arc::from(value)))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::protocol::ids::IdError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(&value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.to_string()
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::protocol::ids::IdError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::new(value)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}({:?})", stringify!($name), &*self.0)
            }
        }

        impl ::schemars::JsonSchema for $name {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                ::schemars::json_schema!({
                    "type": "string",
                    "minLength": 1,
                    "maxLength": $crate::protocol::ids::MAX_EXTERNAL_ID_LEN,
                    "pattern": "^[A-Za-z0-9._:-]+$"
                })
            }
        }
    };
}
pub(crate) use external_id;

macro_rules! minted_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(value: &str) -> Result<Self, uuid::Error> {
                Uuid::parse_str(value).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    };
}

external_id!(
    /// A marketplace user: buyer, shop agent, courier agent or integration (the token's `sub`).
    UserId
);
external_id!(
    /// A shop on the marketplace.
    ShopId
);
external_id!(
    /// An order on the marketplace.
    OrderId
);
external_id!(
    /// The client's own id for a message it sends; repeating it makes the send idempotent.
    ClientMsgId
);
external_id!(
    /// An id a client puts on a request so that the reply (or error) can name it.
    RequestId
);
minted_id!(
    /// A conversation between a buyer and a shop (and, when spliced, a courier).
    SessionId
);
minted_id!(
    /// One stored chat message.
    MessageId
);
minted_id!(
    /// One logistics invite card.
    InviteId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_are_validated() {
        let cases: &[(&str, Result<(), IdError>)] = &[
            ("b1", Ok(())),
            ("shop:42.a_b-c", Ok(())),
            ("", Err(IdError::Empty)),
            (&"x".repeat(64), Ok(())),
            (&"x".repeat(65), Err(IdError::TooLong)),
            ("a b", Err(IdError::BadCharacter)),
            ("买家", Err(IdError::BadCharacter)),
        ];
        for (input, expected) in cases {
            assert_eq!(UserId::new(input).map(|_| ()), *expected, "input {input:?}");
        }
    }

    #[test]
    fn external_ids_reject_bad_json() {
        let error = serde_json::from_str::<OrderId>("\"a/b\"").err();
        assert!(error.is_some());
        let id: OrderId = serde_json::from_str("\"o-1\"").expect("valid id");
        assert_eq!(id.as_str(), "o-1");
    }

    #[test]
    fn external_ids_read_and_write_as_plain_strings() {
        // Borrowed from the input, and owned (an escape forces serde_json to unescape first).
        for (json, expected) in [(r#""b-1""#, "b-1"), (r#""b\u002d1""#, "b-1")] {
            let id: UserId = serde_json::from_str(json).expect("valid id");
            assert_eq!(id.as_str(), expected);
            assert_eq!(serde_json::to_string(&id).expect("serialises"), r#""b-1""#);
        }
        let too_long = format!("\"{}\"", "x".repeat(MAX_EXTERNAL_ID_LEN + 1));
        let error = serde_json::from_str::<UserId>(&too_long).expect_err("too long");
        assert!(
            error.to_string().starts_with(&IdError::TooLong.to_string()),
            "{error}"
        );
        let error = serde_json::from_str::<UserId>("7").expect_err("not a string");
        assert!(
            error.to_string().contains("expected a string id"),
            "{error}"
        );
    }
}
