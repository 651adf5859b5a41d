//! The two names routing configuration is written in: [`GroupId`] (a shop's agent group) and
//! [`Tag`] (a crowd, an item or an intent a group is bound to).
//!
//! Both are identifiers, not display names: like the marketplace ids in `protocol::ids`, they are
//! 1 to 64 ASCII letters, digits, `-`, `_`, `.` or `:`, checked at deserialisation, so a value of
//! either type is always well formed. Labels shown to people live elsewhere.

use crate::protocol::ids::external_id;

// Same rule as the marketplace ids, so a tag can carry an item id or a crowd id unchanged.
external_id!(
    /// A group of a shop's agents, named by the shop (`"pre-sale"`, `"after-sale"`).
    GroupId
);
external_id!(
    /// A crowd, item or intent a buyer carries and a group can be bound to (`"vip"`, `"sku-42"`).
    Tag
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ids::IdError;

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
