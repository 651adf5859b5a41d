//! English (and pinyin) street addresses.
//!
//! The scanner reads ASCII words and finds address tokens:
//! - floor (strong): `5/F`;
//! - unit (strong): `Room`, `Rm`, `Flat`, `Apt`, `Unit`, `Suite`, `Building`, `Block`, `Floor`,
//!   `Tower` and a number or a single capital (`Room 1203`, `Flat B`, `Apt. #3`);
//! - street (strong with a house number): 1 to 4 capitalised words and a street word (`Road`,
//!   `Rd`, `Street`, `St`, `Avenue`, `Ave`, `Lane`, `Boulevard`, `Drive`, `Alley`, `Highway`,
//!   `Lu`, `Hutong`), after a number (`No. 12 Nanjing West Road`, `88 Jianguo Rd`) or before one
//!   (`Nanjing Road No. 12`); without a number it is weak;
//! - area (weak): capitalised words and `District`, `County`, `Town`, `Village`, `Community`,
//!   `Garden(s)`, `Estate`.
//!
//! Tokens separated by spaces or commas form a run; a run with a strong token is masked whole,
//! so `Room 1203, Building 5, No. 88 Jianguo Road, Chaoyang District, Beijing` keeps `Beijing`.
//! Street names must be capitalised, so `3 days on the road` is no address.

use super::{ADDRESS_HIDDEN_EN, Span};

const UNIT_WORDS: &[&str] = &[
    "room",
    "rm",
    "flat",
    "apt",
    "apartment",
    "unit",
    "suite",
    "building",
    "bldg",
    "block",
    "blk",
    "floor",
    "tower",
];
const STREET_WORDS: &[&str] = &[
    "road",
    "rd",
    "street",
    "st",
    "avenue",
    "ave",
    "lane",
    "ln",
    "boulevard",
    "blvd",
    "drive",
    "alley",
    "highway",
    "lu",
    "hutong",
];
const AREA_WORDS: &[&str] = &[
    "district",
    "county",
    "town",
    "village",
    "community",
    "garden",
    "gardens",
    "estate",
];
/// The most capitalised words before a street or area word.
const MAX_NAME_WORDS: usize = 4;
/// The longest house or room number.
const MAX_NUMBER: usize = 6;

/// One ASCII word: letters, digits and inner dashes.
#[derive(Debug, Clone, Copy)]
struct Word {
    start: usize,
    end: usize,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    start: usize,
    end: usize,
    is_strong: bool,
}

/// Every masked English address in `chars`, avoiding `claimed` chars.
pub(super) fn find(chars: &[char], claimed: &[bool]) -> Vec<Span> {
    let words = words(chars, claimed);
    let tokens = tokens(chars, &words);
    let mut spans: Vec<Span> = Vec::new();
    let mut runs: Vec<(usize, usize, bool)> = Vec::new();
    for token in tokens {
        match runs.last_mut() {
            Some(run) if is_run_gap(&chars[run.1..token.start]) => {
                run.1 = token.end;
                run.2 |= token.is_strong;
            }
            _ => runs.push((token.start, token.end, token.is_strong)),
        }
    }
    for (start, end, is_strong) in runs {
        if is_strong {
            spans.push(Span::new(start, end, ADDRESS_HIDDEN_EN));
        }
    }
    spans
}

fn words(chars: &[char], claimed: &[bool]) -> Vec<Word> {
    let is_word_char = |i: usize| chars[i].is_ascii_alphanumeric() && !claimed[i];
    let mut words = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        if !is_word_char(index) {
            index += 1;
            continue;
        }
        let start = index;
        while index < chars.len() && (is_word_char(index) || is_inner(chars, index)) {
            index += 1;
        }
        words.push(Word { start, end: index });
    }
    words
}

/// A dash or apostrophe between word characters (`12-14`, `Queen's`).
fn is_inner(chars: &[char], index: usize) -> bool {
    let is_alphanumeric = |i: usize| chars.get(i).is_some_and(char::is_ascii_alphanumeric);
    matches!(chars[index], '-' | '\'')
        && index > 0
        && is_alphanumeric(index - 1)
        && is_alphanumeric(index + 1)
}

fn tokens(chars: &[char], words: &[Word]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < words.len() {
        let found = floor_at(chars, words, index)
            .or_else(|| unit_at(chars, words, index))
            .or_else(|| number_first_street_at(chars, words, index))
            .or_else(|| named_at(chars, words, index));
        match found {
            Some((token, next)) => {
                tokens.push(token);
                index = next;
            }
            None => index += 1,
        }
    }
    tokens
}

/// `Room 1203`: returns the token and the index of the word after it.
fn unit_at(chars: &[char], words: &[Word], index: usize) -> Option<(Token, usize)> {
    let number = words.get(index + 1)?;
    let is_unit = is_one_of(chars, &words[index], UNIT_WORDS);
    let is_tight = is_tight_gap(&chars[words[index].end..number.start]);
    let is_label = is_number(chars, number) || is_capital_letter(chars, number);
    (is_unit && is_tight && is_label).then(|| (token(&words[index], number, true), index + 2))
}

/// `5/F`, the Hong Kong way of writing a floor.
fn floor_at(chars: &[char], words: &[Word], index: usize) -> Option<(Token, usize)> {
    let floor = words.get(index + 1)?;
    let is_slash = chars[words[index].end..floor.start] == ['/'];
    let is_f = chars[floor.start..floor.end] == ['F'];
    let is_floor = is_number(chars, &words[index]) && is_slash && is_f;
    is_floor.then(|| (token(&words[index], floor, true), index + 2))
}

/// `No. 12 Nanjing West Road`, `88 Jianguo Rd`.
fn number_first_street_at(chars: &[char], words: &[Word], index: usize) -> Option<(Token, usize)> {
    let has_no = is_one_of(chars, &words[index], &["no"]);
    let number_index = index + usize::from(has_no);
    let number = words.get(number_index)?;
    let name = words.get(number_index + 1)?;
    let is_spaced = |from: usize, to: usize| is_tight_gap(&chars[from..to]);
    let is_no_tight = !has_no || is_spaced(words[index].end, number.start);
    if !is_number(chars, number) || !is_no_tight || !is_spaced(number.end, name.start) {
        return None;
    }
    let street_index = name_then(chars, words, number_index + 1, STREET_WORDS)?;
    Some((
        token(&words[index], &words[street_index], true),
        street_index + 1,
    ))
}

/// `Nanjing Road` (weak), `Nanjing Road No. 12` (strong), `Chaoyang District` (weak).
fn named_at(chars: &[char], words: &[Word], index: usize) -> Option<(Token, usize)> {
    if let Some(street) = name_then(chars, words, index, STREET_WORDS) {
        let number = number_after(chars, words, street + 1);
        let last = number.unwrap_or(street);
        return Some((
            token(&words[index], &words[last], number.is_some()),
            last + 1,
        ));
    }
    let area = name_then(chars, words, index, AREA_WORDS)?;
    Some((token(&words[index], &words[area], false), area + 1))
}

/// The index of the `kinds` word that ends 1 to 4 capitalised words starting at `index`.
fn name_then(chars: &[char], words: &[Word], index: usize, kinds: &[&str]) -> Option<usize> {
    for offset in 1..=MAX_NAME_WORDS {
        let candidate = words.get(index + offset)?;
        let previous = &words[index + offset - 1];
        if !is_capitalised(chars, previous) || !is_tight_gap(&chars[previous.end..candidate.start])
        {
            return None;
        }
        if is_one_of(chars, candidate, kinds) && is_capitalised(chars, candidate) {
            return Some(index + offset);
        }
    }
    None
}

/// The index of a house number (after an optional `No.`) right after a street word.
fn number_after(chars: &[char], words: &[Word], index: usize) -> Option<usize> {
    let first = words.get(index)?;
    let previous_end = words.get(index.checked_sub(1)?)?.end;
    if !is_tight_gap(&chars[previous_end..first.start]) {
        return None;
    }
    if is_number(chars, first) {
        return Some(index);
    }
    let number = words.get(index + 1)?;
    let is_no = is_one_of(chars, first, &["no"]) && is_tight_gap(&chars[first.end..number.start]);
    (is_no && is_number(chars, number)).then_some(index + 1)
}

fn token(first: &Word, last: &Word, is_strong: bool) -> Token {
    Token {
        start: first.start,
        end: last.end,
        is_strong,
    }
}

fn text(chars: &[char], word: &Word) -> String {
    chars[word.start..word.end].iter().collect()
}

fn is_one_of(chars: &[char], word: &Word, options: &[&str]) -> bool {
    let lower = text(chars, word).to_ascii_lowercase();
    options.contains(&lower.as_str())
}

/// A house or room number: starts with a digit, at most 6 characters (`12`, `12A`, `12-14`).
fn is_number(chars: &[char], word: &Word) -> bool {
    let length = word.end - word.start;
    chars[word.start].is_ascii_digit() && length <= MAX_NUMBER
}

fn is_capital_letter(chars: &[char], word: &Word) -> bool {
    word.end - word.start == 1 && chars[word.start].is_ascii_uppercase()
}

fn is_capitalised(chars: &[char], word: &Word) -> bool {
    let rest = &chars[word.start + 1..word.end];
    let is_letter = |c: &char| c.is_ascii_alphabetic() || *c == '\'';
    chars[word.start].is_ascii_uppercase() && rest.iter().all(is_letter)
}

/// Between the words of one token: spaces, `.` and `#`, at most 3 characters.
fn is_tight_gap(gap: &[char]) -> bool {
    gap.len() <= 3 && gap.iter().all(|c| matches!(c, ' ' | '.' | '#'))
}

/// Between the tokens of one run: spaces, commas and `.`, at most 3 characters.
fn is_run_gap(gap: &[char]) -> bool {
    gap.len() <= 3 && gap.iter().all(|c| matches!(c, ' ' | ',' | '.' | '，'))
}
