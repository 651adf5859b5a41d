//! Mainland phone numbers: mobiles and landlines, in the spellings buyers type.
//!
//! Rules (a match must not touch a digit or an ASCII letter on either side, so order numbers,
//! waybills and prices stay whole):
//! - Mobile: `1[3-9]` and nine more digits, optionally split 3-4-4 by one space or dash each,
//!   optionally after `+86`, `0086` or `86` (in brackets or not, with or without a separator).
//!   Shown as `138****5678`, with `+86 ` in front when a prefix was there.
//! - Landline: an area code (`010`, `02x`, or `0` and three digits from `03xx` to `09xx`), in
//!   brackets or followed by an optional space or dash, then a local number of 7 or 8 digits
//!   not starting with 0, optionally split once after its 3rd or 4th digit. Shown as `0571-****1234`.
//! - Not masked: service numbers (`400…`, `95311`), numbers without an area code, and
//!   landlines written with `+86`.
//!
//! Digits may be ASCII or full-width; the replacement uses ASCII.

use super::{Span, digit, is_number_char};

/// Every phone number in `chars`, left to right.
pub(super) fn find(chars: &[char]) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        match phone_at(chars, index) {
            Some(span) => {
                index = span.end;
                spans.push(span);
            }
            None => index += 1,
        }
    }
    spans
}

fn phone_at(chars: &[char], start: usize) -> Option<Span> {
    let before = start.checked_sub(1).and_then(|i| chars.get(i));
    if before.is_some_and(|&c| is_number_char(c) || c == '+') {
        return None;
    }
    mobile_at(chars, start).or_else(|| landline_at(chars, start))
}

fn mobile_at(chars: &[char], start: usize) -> Option<Span> {
    if let Some(after_prefix) = country_prefix(chars, start)
        && let Some(span) = mobile_digits_at(chars, start, after_prefix, "+86 ")
    {
        return Some(span);
    }
    mobile_digits_at(chars, start, start, "")
}

/// The index after a `+86`, `0086` or `86` prefix (with brackets and one separator) at `start`.
fn country_prefix(chars: &[char], start: usize) -> Option<usize> {
    let mut index = start;
    let bracketed = is_char(chars, index, &['(', '（']);
    index += usize::from(bracketed);
    index += usize::from(is_char(chars, index, &['+', '＋']));
    if digits_equal(chars, index, "0086") {
        index += 4;
    } else if digits_equal(chars, index, "86") {
        index += 2;
    } else {
        return None;
    }
    if bracketed {
        index += usize::from(is_char(chars, index, &[')', '）']));
    }
    Some(index + usize::from(chars.get(index).is_some_and(|&c| is_separator(c))))
}

fn mobile_digits_at(chars: &[char], start: usize, from: usize, prefix: &str) -> Option<Span> {
    let (digits, end) = read_groups(chars, from, &[3, 4, 4])?;
    let bytes = digits.as_bytes();
    let is_mobile = bytes[0] == b'1' && (b'3'..=b'9').contains(&bytes[1]);
    if !is_mobile || !ends_clean(chars, end) {
        return None;
    }
    let replacement = format!("{prefix}{}****{}", &digits[..3], &digits[7..]);
    Some(Span::new(start, end, replacement))
}

fn landline_at(chars: &[char], start: usize) -> Option<Span> {
    let bracketed = is_char(chars, start, &['(', '（']);
    let mut index = start + usize::from(bracketed);
    let area = area_code(chars, index)?;
    index += area.len();
    if bracketed {
        if !is_char(chars, index, &[')', '）']) {
            return None;
        }
        index += 1;
    }
    index += usize::from(chars.get(index).is_some_and(|&c| is_separator(c)));
    let (local, end) = local_number(chars, index)?;
    let last_four = &local[local.len() - 4..];
    ends_clean(chars, end).then(|| Span::new(start, end, format!("{area}-****{last_four}")))
}

/// `010`, `02x`, or `0[3-9]xx`.
fn area_code(chars: &[char], start: usize) -> Option<String> {
    let (digits, _) =
        read_groups(chars, start, &[4]).or_else(|| read_groups(chars, start, &[3]))?;
    match digits.as_bytes() {
        [b'0', b'1', b'0', ..] => Some("010".into()),
        [b'0', b'2', _, ..] => Some(digits[..3].into()),
        [b'0', b'3'..=b'9', _, _] => Some(digits),
        _ => None,
    }
}

/// 7 or 8 digits not starting with 0, with at most one separator after the 3rd or 4th digit.
fn local_number(chars: &[char], start: usize) -> Option<(String, usize)> {
    let mut digits = String::new();
    let mut index = start;
    let mut separated = false;
    while let Some(&c) = chars.get(index) {
        if let Some(d) = digit(c) {
            digits.push(d);
        } else if is_separator(c) && !separated && matches!(digits.len(), 3 | 4) {
            separated = true;
        } else {
            break;
        }
        index += 1;
    }
    if separated && digit(chars[index - 1]).is_none() {
        return None;
    }
    let starts_well = digits.starts_with(|c: char| ('1'..='9').contains(&c));
    (starts_well && matches!(digits.len(), 7 | 8)).then_some((digits, index))
}

/// Reads digit groups of the given sizes; one separator may stand between two groups.
fn read_groups(chars: &[char], start: usize, sizes: &[usize]) -> Option<(String, usize)> {
    let mut digits = String::new();
    let mut index = start;
    for (number, size) in sizes.iter().enumerate() {
        let separated = chars.get(index).is_some_and(|&c| is_separator(c));
        if number > 0 && separated {
            index += 1;
        }
        for _ in 0..*size {
            digits.push(digit(*chars.get(index)?)?);
            index += 1;
        }
    }
    Some((digits, index))
}

fn ends_clean(chars: &[char], end: usize) -> bool {
    !chars.get(end).is_some_and(|&c| is_number_char(c))
}

fn digits_equal(chars: &[char], start: usize, expected: &str) -> bool {
    expected
        .chars()
        .enumerate()
        .all(|(offset, e)| chars.get(start + offset).and_then(|&c| digit(c)) == Some(e))
}

fn is_char(chars: &[char], index: usize, options: &[char]) -> bool {
    chars.get(index).is_some_and(|c| options.contains(c))
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '\u{3000}' | '－')
}
