//! Masking the buyer's personal details in the courier's context card: phone numbers and street
//! addresses.
//!
//! Owns `mask_personal`, a pure text-to-text function built from small char-level scanners (no
//! regex): `phone` (mobiles and landlines), `chinese` (Chinese street addresses) and `english`
//! (English street addresses). It does not pick which messages go on the card, and it does not
//! mask names, ids or anything the courier needs to find the parcel (order numbers, waybills).
//!
//! Decisions:
//! - Mobiles keep their first 3 and last 4 digits (`138****5678`), landlines their area code and
//!   last 4 (`0571-****1234`): enough for the courier to tell numbers apart, as on a waybill.
//! - Addresses keep province and city (`浙江省杭州市`) and replace the rest, from the district or
//!   road on, with `[地址已隐藏]` or `[address hidden]`. Precision before recall: a district,
//!   road or building number on its own is not masked, so complaint texts such as `放在小区门口`
//!   or `送到3号楼` stay readable.
//! - Phones are found first; address scanners never reach into a phone.

mod chinese;
mod english;
mod phone;

#[cfg(test)]
mod tests;

/// The Chinese address replacement.
pub const ADDRESS_HIDDEN_ZH: &str = "[地址已隐藏]";
/// The English address replacement.
pub const ADDRESS_HIDDEN_EN: &str = "[address hidden]";

/// Masks the phone numbers and street addresses in `text`; everything else is kept as is.
pub fn mask_personal(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut spans = phone::find(&chars);
    let claimed = claimed_by(&spans, chars.len());
    spans.extend(chinese::find(&chars, &claimed));
    spans.extend(english::find(&chars, &claimed));
    render(&chars, spans)
}

/// A range of chars `[start, end)` and what replaces it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
    replacement: String,
}

impl Span {
    fn new(start: usize, end: usize, replacement: impl Into<String>) -> Span {
        Span {
            start,
            end,
            replacement: replacement.into(),
        }
    }
}

/// Which chars the spans cover.
fn claimed_by(spans: &[Span], length: usize) -> Vec<bool> {
    let mut claimed = vec![false; length];
    for span in spans {
        claimed[span.start..span.end].fill(true);
    }
    claimed
}

/// Writes `chars` with the spans replaced; of overlapping spans the earlier (then longer) wins.
fn render(chars: &[char], mut spans: Vec<Span>) -> String {
    spans.sort_by_key(|span| (span.start, usize::MAX - span.end));
    let mut out = String::with_capacity(chars.len());
    let mut index = 0;
    for span in spans.iter().filter(|span| span.start < span.end) {
        if span.start < index {
            continue;
        }
        out.extend(&chars[index..span.start]);
        out.push_str(&span.replacement);
        index = span.end;
    }
    out.extend(&chars[index..]);
    out
}

/// The ASCII digit of an ASCII or full-width digit.
fn digit(c: char) -> Option<char> {
    match c {
        '0'..='9' => Some(c),
        '０'..='９' => char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')),
        _ => None,
    }
}

/// A char that continues a number or a code: a digit (any width) or an ASCII letter.
fn is_number_char(c: char) -> bool {
    digit(c).is_some() || c.is_ascii_alphabetic()
}
