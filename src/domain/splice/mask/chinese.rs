//! Chinese street addresses.
//!
//! The scanner finds address tokens, left to right:
//! - named: a name of 2 to 6 Chinese characters and a marker: city level (`省`, `市`, `自治区`…,
//!   kept), district level (`区`, `县`, `镇`, `乡`, `街道`), road (`路`, `街`, `大道`, `巷`,
//!   `胡同`) or residential place (`小区`, `花园`, `公寓`, `大厦`, `新村`, `家园`, `社区`, `村`…);
//!   a name never holds a particle, pronoun or delivery verb (`在`, `我`, `放`, `送`…), so
//!   `放在小区门口` and `在路上` are no tokens;
//! - numbered: up to 6 digits (any width, or Chinese numerals, or 1-2 letters as in `A座`) and a
//!   marker such as `号`, `号楼`, `弄`, `栋`, `幢`, `单元`, `室`, `楼`, `层`; not after `月`, so
//!   the date `11月22号` is no token.
//!
//! Tokens separated only by spaces, dashes or `#` form a run. A run is masked when it has two
//! tokens or more, or a residential place; city-level tokens are never masked and end a run. A
//! masked run also takes a later run in the same clause when only a short name-like stretch lies
//! between (`建国路88号SOHO现代城A座`), and a trailing room number (`2单元301`).

use super::{ADDRESS_HIDDEN_ZH, Span, digit, is_number_char};

/// The longest name before a marker, in characters.
const MAX_NAME: usize = 6;
/// The longest stretch a masked run bridges to reach a later run.
const MAX_BRIDGE: usize = 8;
/// The longest number before a numbered marker.
const MAX_NUMBER: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    City,
    District,
    Road,
    Place,
    Number,
}

const NAMED_MARKERS: &[(&str, Level)] = &[
    ("特别行政区", Level::City),
    ("自治区", Level::City),
    ("自治州", Level::City),
    ("省", Level::City),
    ("市", Level::City),
    ("街道", Level::District),
    ("新区", Level::District),
    ("区", Level::District),
    ("县", Level::District),
    ("镇", Level::District),
    ("乡", Level::District),
    ("大道", Level::Road),
    ("大街", Level::Road),
    ("胡同", Level::Road),
    ("路", Level::Road),
    ("街", Level::Road),
    ("巷", Level::Road),
    ("小区", Level::Place),
    ("花园", Level::Place),
    ("公寓", Level::Place),
    ("大厦", Level::Place),
    ("新村", Level::Place),
    ("家园", Level::Place),
    ("社区", Level::Place),
    ("公馆", Level::Place),
    ("村", Level::Place),
    ("苑", Level::Place),
];

const NUMBER_MARKERS: &[&str] = &[
    "号楼", "号院", "单元", "号", "弄", "栋", "幢", "座", "室", "楼", "层", "户", "组", "期",
];

/// Characters that never belong to a place name: particles, pronouns, delivery verbs.
const NOT_IN_NAMES: &str = "的了在到放送是我你他她它们这那哪就都也还又说要没不有和与或跟给把被从往去来让请帮吗呢吧啊呀哦个条些址住寄收取拿派件递快";

const CHINESE_NUMERALS: &str = "零〇一二三四五六七八九十百两";

#[derive(Debug, Clone, Copy)]
struct Token {
    start: usize,
    end: usize,
    level: Level,
}

/// A run of adjacent tokens.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: usize,
    end: usize,
    tokens: usize,
    has_place: bool,
    is_city: bool,
}

impl Run {
    fn is_masked(&self) -> bool {
        !self.is_city && (self.tokens >= 2 || self.has_place)
    }
}

/// Every masked Chinese address in `chars`, avoiding `claimed` chars.
pub(super) fn find(chars: &[char], claimed: &[bool]) -> Vec<Span> {
    let runs = runs(chars, &tokens(chars, claimed));
    let mut spans = Vec::new();
    let mut index = 0;
    while index < runs.len() {
        if !runs[index].is_masked() {
            index += 1;
            continue;
        }
        let (end, next) = bridge(chars, claimed, &runs, index);
        let end = tail(chars, claimed, end);
        spans.push(Span::new(runs[index].start, end, ADDRESS_HIDDEN_ZH));
        index = next;
    }
    spans
}

fn tokens(chars: &[char], claimed: &[bool]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        let token = match claimed[index] {
            true => None,
            false => {
                number_token(chars, claimed, index).or_else(|| named_token(chars, claimed, index))
            }
        };
        match token {
            Some(token) => {
                index = token.end;
                tokens.push(token);
            }
            None => index += 1,
        }
    }
    tokens
}

fn number_token(chars: &[char], claimed: &[bool], start: usize) -> Option<Token> {
    let before = start.checked_sub(1).map(|i| chars[i]);
    if before.is_some_and(|c| is_numeral(c) || c == '月') {
        return None;
    }
    let end = number_end(chars, claimed, start);
    let number = &chars[start..end];
    let has_digit = number
        .iter()
        .any(|&c| is_numeral(c) && !c.is_ascii_alphabetic());
    if number.is_empty() || number.len() > MAX_NUMBER || (!has_digit && number.len() > 2) {
        return None;
    }
    let marker_at = end + usize::from(chars.get(end) == Some(&' '));
    let marker = NUMBER_MARKERS
        .iter()
        .find(|marker| starts_with(chars, claimed, marker_at, marker))?;
    let end = marker_at + marker.chars().count();
    Some(Token {
        start,
        end,
        level: Level::Number,
    })
}

/// The end of the number at `start`: numerals, with single dashes between them.
fn number_end(chars: &[char], claimed: &[bool], start: usize) -> usize {
    let mut index = start;
    while index < chars.len() && !claimed[index] {
        let c = chars[index];
        let is_inner_dash =
            c == '-' && index > start && chars.get(index + 1).is_some_and(|&n| is_numeral(n));
        if !is_numeral(c) && !is_inner_dash {
            break;
        }
        index += 1;
    }
    index
}

fn named_token(chars: &[char], claimed: &[bool], start: usize) -> Option<Token> {
    for length in 0..=MAX_NAME {
        let index = start + length;
        if let Some((marker, level)) = named_marker_at(chars, claimed, index) {
            let end = index + marker.chars().count();
            return (length >= 2).then_some(Token { start, end, level });
        }
        if *claimed.get(index)? || !is_name_char(chars[index]) {
            return None;
        }
    }
    None
}

/// The longest named marker at `index`.
fn named_marker_at(
    chars: &[char],
    claimed: &[bool],
    index: usize,
) -> Option<(&'static str, Level)> {
    NAMED_MARKERS
        .iter()
        .filter(|(marker, _)| starts_with(chars, claimed, index, marker))
        .max_by_key(|(marker, _)| marker.chars().count())
        .copied()
}

/// Groups tokens separated only by spaces, dashes or `#`; city-level tokens stand alone.
fn runs(chars: &[char], tokens: &[Token]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for token in tokens {
        let is_city = token.level == Level::City;
        if let Some(run) = runs.last_mut()
            && !run.is_city
            && !is_city
            && chars[run.end..token.start].iter().all(|&c| is_joiner(c))
        {
            run.end = token.end;
            run.tokens += 1;
            run.has_place |= token.level == Level::Place;
            continue;
        }
        let has_place = token.level == Level::Place;
        let (start, end) = (token.start, token.end);
        runs.push(Run {
            start,
            end,
            tokens: 1,
            has_place,
            is_city,
        });
    }
    runs
}

/// How far the masked run at `first` reaches over short name-like stretches; returns its end
/// and the index of the first run it did not take.
fn bridge(chars: &[char], claimed: &[bool], runs: &[Run], first: usize) -> (usize, usize) {
    let mut end = runs[first].end;
    let mut next = first + 1;
    while let Some(run) = runs.get(next).filter(|run| !run.is_city) {
        let gap = run.start - end;
        let is_name_like = (end..run.start).all(|i| !claimed[i] && is_bridge_char(chars[i]));
        if gap > MAX_BRIDGE || !is_name_like {
            break;
        }
        end = run.end;
        next += 1;
    }
    (end, next)
}

/// Takes a room number right after the run (`2单元301`, `5号 1203`) when it holds a digit.
fn tail(chars: &[char], claimed: &[bool], end: usize) -> usize {
    let start = end + usize::from(chars.get(end).is_some_and(|&c| is_joiner(c)));
    let mut index = start;
    while index < chars.len()
        && !claimed[index]
        && (is_number_char(chars[index]) || chars[index] == '-')
    {
        index += 1;
    }
    let has_digit = chars[start..index].iter().any(|&c| digit(c).is_some());
    if has_digit { index } else { end }
}

fn starts_with(chars: &[char], claimed: &[bool], index: usize, marker: &str) -> bool {
    marker.chars().enumerate().all(|(offset, m)| {
        let at = index + offset;
        chars.get(at) == Some(&m) && !claimed[at]
    })
}

fn is_han(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c) || c == '〇'
}

fn is_name_char(c: char) -> bool {
    is_han(c) && !NOT_IN_NAMES.contains(c)
}

fn is_numeral(c: char) -> bool {
    is_number_char(c) || CHINESE_NUMERALS.contains(c)
}

fn is_joiner(c: char) -> bool {
    matches!(c, ' ' | '\u{3000}' | '-' | '#' | '－' | '＃')
}

fn is_bridge_char(c: char) -> bool {
    is_name_char(c) || c.is_ascii_alphanumeric() || is_joiner(c)
}
