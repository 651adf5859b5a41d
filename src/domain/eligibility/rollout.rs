//! Whether the logistics service is on for a shop: enrollment, and the stable rollout bucket.
//!
//! Owns the rollout hash. A shop's bucket is FNV-1a 64 (offset basis `0xcbf29ce484222325`, prime
//! `0x100000001b3`) over the UTF-8 bytes of its shop id, modulo 100. The hash must never change,
//! or shops would silently move in and out of the rollout: the test vectors below pin it. It does
//! not know which carriers a shop chose (see `checks`).

use crate::domain::shop::{Enrollment, ShopLogistics};
use crate::protocol::ids::ShopId;

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a, 64-bit.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET_BASIS, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME)
    })
}

/// The shop's rollout bucket, 0 to 99.
pub fn rollout_bucket(shop_id: &ShopId) -> u8 {
    let bucket = stable_hash(shop_id.as_str().as_bytes()) % 100;
    u8::try_from(bucket).unwrap_or(99)
}

/// True when the shop's bucket falls inside the rollout: `bucket < rollout_percent`. So 0% lets
/// no shop in and 100% (or more) lets every shop in.
pub fn is_in_rollout(shop_id: &ShopId, rollout_percent: u8) -> bool {
    rollout_bucket(shop_id) < rollout_percent
}

/// Whether the logistics service is on for the shop: opted in, or enrolled by rollout and inside
/// it; never when opted out. Whether the shop chose a given carrier is a separate question.
pub fn is_service_on(shop_id: &ShopId, settings: &ShopLogistics, rollout_percent: u8) -> bool {
    match settings.enrollment {
        Enrollment::OptedIn => true,
        Enrollment::OptedOut => false,
        Enrollment::Rollout => is_in_rollout(shop_id, rollout_percent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop(id: &str) -> ShopId {
        ShopId::new(id).expect("valid shop id")
    }

    #[test]
    fn fnv1a_64_matches_published_vectors() {
        let cases: &[(&str, u64)] = &[
            ("", 0xcbf2_9ce4_8422_2325),
            ("a", 0xaf63_dc4c_8601_ec8c),
            ("foobar", 0x8594_4171_f739_67e8),
        ];
        for (input, expected) in cases {
            assert_eq!(stable_hash(input.as_bytes()), *expected, "input {input:?}");
        }
    }

    /// Pinned buckets: if one of these changes, every shop's rollout membership changes.
    const KNOWN_BUCKETS: &[(&str, u8)] = &[
        ("shop-1", 55),
        ("shop-2", 66),
        ("shop-3", 77),
        ("s1", 29),
        ("shop:42", 43),
    ];

    #[test]
    fn rollout_buckets_are_pinned() {
        for (id, expected) in KNOWN_BUCKETS {
            assert_eq!(rollout_bucket(&shop(id)), *expected, "shop {id}");
        }
    }

    #[test]
    fn service_on_by_enrollment_and_rollout() {
        let settings = |enrollment| ShopLogistics {
            enrollment,
            carriers: Vec::new(),
        };
        // "s1" is in bucket 29.
        let cases: &[(Enrollment, u8, bool)] = &[
            (Enrollment::OptedIn, 0, true),
            (Enrollment::OptedOut, 100, false),
            (Enrollment::Rollout, 0, false),
            (Enrollment::Rollout, 29, false),
            (Enrollment::Rollout, 30, true),
            (Enrollment::Rollout, 100, true),
            (Enrollment::Rollout, 255, true),
        ];
        for (enrollment, percent, expected) in cases {
            let on = is_service_on(&shop("s1"), &settings(*enrollment), *percent);
            assert_eq!(on, *expected, "{enrollment:?} at {percent}%");
        }
    }
}
