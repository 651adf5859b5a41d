//! Decimal digits without `core::fmt`, for the writers on the per-message path (the hub's
//! frames, the eligibility reasons), where `format!` was a few per cent of the CPU.

/// The longest `u64`: 20 digits.
pub type Buffer = [u8; 20];

/// `value`'s decimal digits, written into the end of `buffer`.
pub fn decimal(value: u64, buffer: &mut Buffer) -> &str {
    let mut at = buffer.len();
    let mut rest = value;
    loop {
        at -= 1;
        buffer[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buffer[at..]).unwrap_or("0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_display_writes() {
        for value in [0, 1, 9, 10, 99, 100, 4_294_967_296, u64::MAX - 1, u64::MAX] {
            assert_eq!(decimal(value, &mut Buffer::default()), value.to_string());
        }
    }
}
