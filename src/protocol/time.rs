//! Times on the wire, written as chrono writes them (RFC 3339 in UTC with `Z`, and a fraction of
//! 0, 3, 6 or 9 digits, whichever is the shortest exact one), but without going through
//! `core::fmt`: every delivered message frame carries one, and chrono's `Display` was a few
//! per cent of the hub's CPU per message. Years outside 0..=9999 and leap seconds are left to
//! chrono.

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};

/// The longest time written here: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
const LONGEST: usize = 30;

/// Appends `at` to `out` as a JSON string (quoted): the same bytes as chrono's `Serialize`.
pub fn write_json(at: &DateTime<Utc>, out: &mut Vec<u8>) {
    let mut buffer = [0u8; LONGEST];
    out.push(b'"');
    match write(at, &mut buffer) {
        Some(text) => out.extend_from_slice(text.as_bytes()),
        // chrono writes digits, '-', ':', '.', 'T', '+' and 'Z' only: nothing to escape.
        None => out.extend_from_slice(at.to_rfc3339_opts(SecondsFormat::AutoSi, true).as_bytes()),
    }
    out.push(b'"');
}

/// Writes `at` into `buffer`; `None` when chrono must (a year outside 0..=9999, a leap second).
fn write<'a>(at: &DateTime<Utc>, buffer: &'a mut [u8; LONGEST]) -> Option<&'a str> {
    let year = u32::try_from(at.year()).ok().filter(|year| *year <= 9999)?;
    let nanos = at.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    let mut text = Writer { buffer, length: 0 };
    text.number(year, 4);
    text.byte(b'-');
    text.number(at.month(), 2);
    text.byte(b'-');
    text.number(at.day(), 2);
    text.byte(b'T');
    text.number(at.hour(), 2);
    text.byte(b':');
    text.number(at.minute(), 2);
    text.byte(b':');
    text.number(at.second(), 2);
    let (fraction, digits) = match nanos {
        0 => (0, 0),
        n if n % 1_000_000 == 0 => (n / 1_000_000, 3),
        n if n % 1_000 == 0 => (n / 1_000, 6),
        n => (n, 9),
    };
    if digits > 0 {
        text.byte(b'.');
        text.number(fraction, digits);
    }
    text.byte(b'Z');
    let Writer { buffer, length } = text;
    std::str::from_utf8(&buffer[..length]).ok()
}

struct Writer<'a> {
    buffer: &'a mut [u8; LONGEST],
    length: usize,
}

impl Writer<'_> {
    fn byte(&mut self, byte: u8) {
        self.buffer[self.length] = byte;
        self.length += 1;
    }

    /// `value`'s last `digits` decimal digits, zero-padded. Written from the last digit back, so
    /// that every division is by the constant 10 (a multiply): dividing by `10^place` was most
    /// of the cost of a time.
    fn number(&mut self, mut value: u32, digits: usize) {
        let end = self.length + digits;
        for at in (self.length..end).rev() {
            self.buffer[at] = b'0' + (value % 10) as u8;
            value /= 10;
        }
        self.length = end;
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeDelta};

    use super::*;

    fn agree(at: DateTime<Utc>) {
        let chrono = serde_json::to_string(&at).expect("chrono");
        let mut json = Vec::new();
        write_json(&at, &mut json);
        assert_eq!(String::from_utf8(json).expect("utf-8"), chrono, "{at:?}");
    }

    #[test]
    fn writes_what_chrono_writes() {
        let base = NaiveDate::from_ymd_opt(2026, 11, 22)
            .and_then(|d| d.and_hms_nano_opt(9, 5, 7, 0))
            .expect("valid")
            .and_utc();
        for nanos in [
            0,
            1,
            7_000,
            120_000_000,
            123_000,
            123_456_789,
            999_999_999,
            100,
        ] {
            agree(base + TimeDelta::nanoseconds(nanos));
        }
        let edges = [
            DateTime::<Utc>::UNIX_EPOCH,
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
            "0000-01-01T00:00:00.5Z".parse().expect("time"),
            "9999-12-31T23:59:59.999999Z".parse().expect("time"),
            "2016-12-31T23:59:60.25Z".parse().expect("leap second"),
        ];
        for at in edges {
            agree(at);
        }
        // A spread of times over two centuries, with every fraction length.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..10_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let seconds = (state >> 33) as i64 % 6_000_000_000;
            let nanos = match state % 4 {
                0 => 0,
                1 => (state >> 7) % 1_000 * 1_000_000,
                2 => (state >> 7) % 1_000_000 * 1_000,
                _ => (state >> 7) % 1_000_000_000,
            };
            let at = DateTime::<Utc>::UNIX_EPOCH
                + TimeDelta::seconds(seconds)
                + TimeDelta::nanoseconds(nanos as i64);
            agree(at);
        }
    }
}
