//! Text normalisation for the intent matcher.
//!
//! Owns the one canonical form that both lexicon phrases and buyer texts are reduced to before
//! matching: full-width ASCII folded to half-width, Traditional characters mapped to Simplified
//! (only those listed in the lexicon's table), ASCII lower-cased, curly apostrophes straightened,
//! runs of white space collapsed to one space, and every other non-alphanumeric character
//! (punctuation, emoji, symbols) turned into the clause break `|`. It does not split words or
//! know any phrase.

/// The character every clause break (punctuation, emoji, symbol, line break) becomes.
pub(crate) const CLAUSE_BREAK: char = '|';

/// Maps Traditional characters to Simplified ones, and folds everything else as described above.
#[derive(Debug, Default)]
pub(crate) struct Normaliser {
    traditional: crate::FastMap<char, char>,
    /// Whether the table maps any ASCII character; when not (the built-in table maps CJK
    /// only), ASCII skips the lookup, which most chat text is made of.
    maps_ascii: bool,
}

impl Normaliser {
    pub(crate) fn new(traditional: crate::FastMap<char, char>) -> Normaliser {
        let maps_ascii = traditional.keys().any(char::is_ascii);
        Normaliser {
            traditional,
            maps_ascii,
        }
    }

    /// The normalised characters of `text`, with no leading or trailing space or break.
    pub(crate) fn normalise(&self, text: &str) -> Vec<char> {
        let mut output: Vec<char> = Vec::with_capacity(text.len());
        for raw in text.chars() {
            let folded = self.fold(raw);
            let class = classify(folded);
            match class {
                CharClass::Word => output.push(folded),
                CharClass::Space => push_separator(&mut output, ' '),
                CharClass::Break => push_separator(&mut output, CLAUSE_BREAK),
            }
        }
        while matches!(output.last(), Some(&' ' | &CLAUSE_BREAK)) {
            output.pop();
        }
        output
    }

    fn fold(&self, raw: char) -> char {
        let half_width = fold_width(raw);
        let simplified = if half_width.is_ascii() && !self.maps_ascii {
            half_width
        } else {
            self.traditional
                .get(&half_width)
                .copied()
                .unwrap_or(half_width)
        };
        match simplified {
            '\u{2018}' | '\u{2019}' | '`' => '\'',
            other => other.to_ascii_lowercase(),
        }
    }
}

/// Full-width ASCII variants (U+FF01..U+FF5E) and the ideographic space become plain ASCII.
fn fold_width(raw: char) -> char {
    match raw {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(raw as u32 - 0xFEE0).unwrap_or(raw),
        other => other,
    }
}

enum CharClass {
    Word,
    Space,
    Break,
}

fn classify(folded: char) -> CharClass {
    if folded.is_alphanumeric() || folded == '\'' {
        CharClass::Word
    } else if folded.is_whitespace() && folded != '\n' && folded != '\r' {
        CharClass::Space
    } else {
        CharClass::Break
    }
}

/// Pushes a separator, collapsing runs; a break wins over a space next to it.
fn push_separator(output: &mut Vec<char>, separator: char) {
    match output.last() {
        None => {}
        Some(&CLAUSE_BREAK) => {}
        Some(&' ') if separator == CLAUSE_BREAK => {
            output.pop();
            output.push(CLAUSE_BREAK);
        }
        Some(&' ') => {}
        Some(_) => output.push(separator),
    }
}

/// True for characters that form English-like words, where phrase matches need word boundaries.
pub(crate) fn is_ascii_word(character: char) -> bool {
    character.is_ascii_alphanumeric() || character == '\''
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normaliser() -> Normaliser {
        Normaliser::new([('貨', '货'), ('沒', '没')].into_iter().collect())
    }

    /// ASCII skips the table only when the table maps no ASCII character.
    #[test]
    fn a_table_that_maps_ascii_is_still_applied() {
        let normaliser = Normaliser::new([('x', 'y')].into_iter().collect());
        let output: String = normaliser.normalise("Xx 貨").into_iter().collect();
        assert_eq!(output, "xy 貨");
    }

    #[test]
    fn normalises_width_case_script_and_separators() {
        let cases: &[(&str, &str)] = &[
            ("", ""),
            ("  hello  World ", "hello world"),
            ("ＨＥＬＬＯ　ｗｏｒｌｄ", "hello world"),
            ("沒收到貨", "没收到货"),
            ("没收到，怎么办？？", "没收到|怎么办"),
            ("还没到😭😭货呢", "还没到|货呢"),
            ("didn’t get it", "didn't get it"),
            ("a , b", "a|b"),
            ("line\nbreak", "line|break"),
            ("１２３号", "123号"),
        ];
        let normaliser = normaliser();
        for (input, expected) in cases {
            let output: String = normaliser.normalise(input).into_iter().collect();
            assert_eq!(&output, expected, "input {input:?}");
        }
    }
}
