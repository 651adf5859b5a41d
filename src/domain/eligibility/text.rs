//! Writing the reasons of the checks that run on every buyer text without `core::fmt`: a
//! decision's reasons are written each time, and `format!` was a few per cent of the hub's CPU
//! per message. Only the pieces those reasons need: two-digit fields and plain numbers.

use chrono::{NaiveTime, TimeDelta, Timelike};

use crate::protocol::digits;

/// Appends `value`'s decimal digits.
pub(super) fn push_number(out: &mut String, value: u64) {
    out.push_str(digits::decimal(value, &mut digits::Buffer::default()));
}

/// Appends `value` as at least two digits (`{:02}`).
pub(super) fn push_two(out: &mut String, value: u32) {
    if value < 10 {
        out.push('0');
    }
    push_number(out, u64::from(value));
}

/// Appends `HH:MM`.
pub(super) fn push_hm(out: &mut String, time: NaiveTime) {
    push_two(out, time.hour());
    out.push(':');
    push_two(out, time.minute());
}

/// `H:MM:SS`, hours unbounded; a negative duration as `format!` writes it.
pub(super) fn duration(duration: TimeDelta) -> String {
    let seconds = duration.num_seconds();
    let Ok(unsigned) = u64::try_from(seconds) else {
        let (hours, minutes) = (seconds / 3600, seconds % 3600 / 60);
        return format!("{hours}:{minutes:02}:{:02}", seconds % 60);
    };
    let mut out = String::with_capacity(8);
    push_number(&mut out, unsigned / 3600);
    out.push(':');
    push_two(&mut out, (unsigned % 3600 / 60) as u32);
    out.push(':');
    push_two(&mut out, (unsigned % 60) as u32);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_fields_read_as_format_writes_them() {
        for value in [0u64, 7, 10, 99, 100, 12_345, u64::MAX] {
            let mut out = String::new();
            push_number(&mut out, value);
            assert_eq!(out, value.to_string());
        }
        for value in [0u32, 5, 9, 10, 59, 123] {
            let mut out = String::new();
            push_two(&mut out, value);
            assert_eq!(out, format!("{value:02}"));
        }
        for seconds in [0i64, 59, 61, 3_600, 86_399, 86_400 * 400 + 5, -1, -3_661] {
            let (hours, minutes) = (seconds / 3600, seconds % 3600 / 60);
            let expected = format!("{hours}:{minutes:02}:{:02}", seconds % 60);
            assert_eq!(duration(TimeDelta::seconds(seconds)), expected, "{seconds}");
        }
    }
}
