//! The exemption policy: what a session's participants are exempt from, in one place.
//!
//! A session is "three-party" while a carrier's courier agent is a member of it, from joining
//! until leaving. While it is, the session is exempt from the shop-side controls listed on
//! [`Exemptions`]; before the courier joins and after it leaves, the session is ordinary again.
//! [`exemptions`] is the only function that decides this. Every control takes the resulting
//! `Exemptions` and reads the one flag that concerns it, so no control knows about couriers.
//!
//! This module does not track membership: the hub knows who is in a session and passes
//! `has_courier_member` in.

/// Who sent a message or took part in a session, as the controls see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    /// The buyer who opened the session.
    Buyer,
    /// A customer-service agent of the shop.
    ShopAgent,
    /// A carrier's courier agent spliced into the session.
    Courier,
    /// The platform itself: system notices, invite cards.
    Platform,
}

/// What a session is exempt from right now. All `false` is an ordinary session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exemptions {
    /// The courier member is not recorded as a recent contact. A courier is never recorded in
    /// any session whatever this says (see `recent::should_record`); the flag is here so that
    /// the policy lists every exemption.
    pub skip_recent_contact: bool,
    /// The session is left out of service assessment and listed as a logistics session.
    pub skip_assessment: bool,
    /// Buyer messages start no response clock.
    pub skip_response_clock: bool,
    /// Buyer messages reach shop agents with `prompt: false`.
    pub skip_prompt: bool,
    /// Buyer messages do not make the buyer wait on an agent (no waiting count).
    pub skip_waiting_count: bool,
    /// Shop and courier messages neither count toward nor are refused by the consecutive limit.
    pub skip_consecutive_limit: bool,
    /// Shop and courier messages neither count toward nor are refused by the marketing control.
    pub skip_marketing_control: bool,
}

impl Exemptions {
    /// An ordinary session: every control applies.
    pub const NONE: Self = Self {
        skip_recent_contact: false,
        skip_assessment: false,
        skip_response_clock: false,
        skip_prompt: false,
        skip_waiting_count: false,
        skip_consecutive_limit: false,
        skip_marketing_control: false,
    };

    /// A three-party session while the courier is a member: exempt from every control.
    pub const COURIER_MEMBER: Self = Self {
        skip_recent_contact: true,
        skip_assessment: true,
        skip_response_clock: true,
        skip_prompt: true,
        skip_waiting_count: true,
        skip_consecutive_limit: true,
        skip_marketing_control: true,
    };

    /// Whether any control is exempted.
    pub fn is_exempt_from_any(&self) -> bool {
        *self != Self::NONE
    }
}

/// THE policy: what a session is exempt from, given whether a courier is a member right now.
///
/// Exemptions follow membership, not history: call this with the membership at the moment the
/// message is handled, so that a courier leaving mid-session makes later messages count again.
/// (Whether a session ever had a courier matters only to the service report; see `assessment`.)
pub fn exemptions(has_courier_member: bool) -> Exemptions {
    if has_courier_member {
        Exemptions::COURIER_MEMBER
    } else {
        Exemptions::NONE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_follows_membership() {
        let cases = [
            (false, Exemptions::NONE),
            (true, Exemptions::COURIER_MEMBER),
        ];
        for (has_courier_member, expected) in cases {
            let decided = exemptions(has_courier_member);
            assert_eq!(decided, expected, "courier member {has_courier_member}");
            assert_eq!(decided.is_exempt_from_any(), has_courier_member);
        }
    }

    #[test]
    fn courier_member_exempts_every_control() {
        let Exemptions {
            skip_recent_contact,
            skip_assessment,
            skip_response_clock,
            skip_prompt,
            skip_waiting_count,
            skip_consecutive_limit,
            skip_marketing_control,
        } = exemptions(true);
        let flags = [
            skip_recent_contact,
            skip_assessment,
            skip_response_clock,
            skip_prompt,
            skip_waiting_count,
            skip_consecutive_limit,
            skip_marketing_control,
        ];
        assert!(flags.iter().all(|flag| *flag));
    }

    #[test]
    fn courier_leaving_makes_the_session_ordinary_again() {
        let membership = [false, true, false];
        let decided: Vec<bool> = membership
            .iter()
            .map(|member| exemptions(*member).skip_consecutive_limit)
            .collect();
        assert_eq!(decided, vec![false, true, false]);
    }
}
