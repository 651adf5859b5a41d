//! The marketing-message control: a shop may send each buyer at most `daily_limit` marketing
//! messages per calendar day (1 by default) in the configured time zone (Asia/Shanghai by
//! default; the day turns at local midnight). Beyond that a message is refused with
//! `Refusal::MarketingLimited` and stored nowhere.
//!
//! A message is marketing when its sender marked it so, or when [`MarketingRules::is_marketing`]
//! recognises it. Text is compared after folding full-width ASCII to half-width and lowering
//! case, so `ＣＯＵＰＯＮ` and `Coupon` both match `coupon`.
//!
//! - A keyword made only of ASCII letters and digits matches at the start of a word, so `sale`
//!   finds "Sale" and "sales" but not "wholesale". Any other keyword (Chinese) matches anywhere.
//! - An item-link pattern matches inside a link-like token only: a run of non-space ASCII that
//!   holds a `/`. So `detail.` finds `detail.tmall.com/item.htm?id=1` but not "in detail.".
//!
//! This module owns the recognition, the day and the decision. The hub keeps one
//! [`MarketingTally`] per (shop, buyer). Messages sent while a courier is a member are neither
//! refused nor tallied. Any item link counts, including one to the item being discussed: this
//! layer does not know which item that is.

use std::borrow::Cow;

use aho_corasick::AhoCorasick;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::Refusal;
use super::exemption::Exemptions;

/// Default keywords: coupons, vouchers, promotions, flash sales, discounts, clearance, cashback.
pub const DEFAULT_KEYWORDS: &[&str] = &[
    "优惠券",
    "领券",
    "满减",
    "促销",
    "限时",
    "秒杀",
    "折扣",
    "打折",
    "特价",
    "大促",
    "清仓",
    "返现",
    "coupon",
    "voucher",
    "promo",
    "sale",
    "discount",
    "clearance",
    "cashback",
];

/// Default item-link patterns:
/// - `item.htm?id=`: Taobao and Tmall item pages (`item.taobao.com/item.htm?id=…`);
/// - `detail.`: item detail hosts (`detail.tmall.com`, `detail.m.tmall.com`);
/// - `item.jd.com`: JD item pages;
/// - `/item/`: item paths of other storefronts (`…/item/1005….html`).
pub const DEFAULT_ITEM_LINK_PATTERNS: &[&str] =
    &["item.htm?id=", "detail.", "item.jd.com", "/item/"];

/// How marketing messages are recognised and limited.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketingRules {
    pub words: MarketingWords,
    /// Marketing messages a shop may send one buyer per day.
    pub daily_limit: u32,
    /// The zone whose calendar day the limit counts in.
    pub time_zone: Tz,
}

impl Default for MarketingRules {
    fn default() -> Self {
        Self {
            words: MarketingWords::new(DEFAULT_KEYWORDS, DEFAULT_ITEM_LINK_PATTERNS),
            daily_limit: 1,
            time_zone: chrono_tz::Asia::Shanghai,
        }
    }
}

impl MarketingRules {
    /// Whether a shop message is marketing: `marked` by its sender, or recognised from `text`.
    pub fn is_marketing(&self, text: &str, marked: bool) -> bool {
        marked || self.words.recognises(text)
    }
}

/// The keywords and item-link patterns, folded once when the rules are built: recognition runs
/// on every shop message, so it folds only the message, and finds every keyword in one pass
/// (an Aho-Corasick automaton; one substring search per keyword was 3% of the hub's CPU).
#[derive(Debug, Clone)]
pub struct MarketingWords {
    keywords: Vec<Keyword>,
    /// Finds every occurrence of every keyword; pattern `i` is `keywords[i]`.
    finder: Option<AhoCorasick>,
    item_link_patterns: Vec<String>,
}

/// Rules are equal when their words are: the automaton follows from them.
impl PartialEq for MarketingWords {
    fn eq(&self, other: &Self) -> bool {
        self.keywords == other.keywords && self.item_link_patterns == other.item_link_patterns
    }
}

impl Eq for MarketingWords {}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Keyword {
    folded: String,
    /// ASCII letters and digits only: matches at the start of a word.
    is_word: bool,
}

impl MarketingWords {
    /// Folds each keyword and pattern; blank ones are dropped.
    pub fn new(
        keywords: impl IntoIterator<Item = impl AsRef<str>>,
        item_link_patterns: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Self {
        let keywords: Vec<Keyword> = folded(keywords)
            .map(|folded| Keyword {
                is_word: folded.chars().all(|c| c.is_ascii_alphanumeric()),
                folded,
            })
            .collect();
        // Building fails only past the automaton's size limits, far beyond a keyword list;
        // without one, recognition falls back to a search per keyword.
        let finder = AhoCorasick::new(keywords.iter().map(|k| k.folded.as_str())).ok();
        let item_link_patterns = folded(item_link_patterns).collect();
        Self {
            keywords,
            finder,
            item_link_patterns,
        }
    }

    fn recognises(&self, text: &str) -> bool {
        let text = fold(text);
        self.has_keyword(&text) || self.has_item_link(&text)
    }

    fn has_keyword(&self, folded_text: &str) -> bool {
        let Some(finder) = &self.finder else {
            return self.keywords.iter().any(|k| k.is_in(folded_text));
        };
        finder.find_overlapping_iter(folded_text).any(|found| {
            let keyword = &self.keywords[found.pattern().as_usize()];
            !keyword.is_word || is_word_start(folded_text, found.start())
        })
    }

    fn has_item_link(&self, folded_text: &str) -> bool {
        let patterns = &self.item_link_patterns;
        !patterns.is_empty()
            && link_like_tokens(folded_text)
                .any(|token| patterns.iter().any(|p| token.contains(p.as_str())))
    }
}

impl Keyword {
    fn is_in(&self, text: &str) -> bool {
        if !self.is_word {
            return text.contains(&self.folded);
        }
        text.match_indices(&self.folded)
            .any(|(start, _)| is_word_start(text, start))
    }
}

/// Whether no ASCII letter or digit comes right before `start`.
fn is_word_start(text: &str, start: usize) -> bool {
    !text[..start].ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn folded(words: impl IntoIterator<Item = impl AsRef<str>>) -> impl Iterator<Item = String> {
    words
        .into_iter()
        .map(|word| fold(word.as_ref().trim()).into_owned())
        .filter(|word| !word.is_empty())
}

/// The calendar day `now` falls on in `time_zone`.
pub fn marketing_day(now: DateTime<Utc>, time_zone: Tz) -> NaiveDate {
    now.with_timezone(&time_zone).date_naive()
}

/// Whether one more marketing message may go to a buyer who got `sent_today` already.
pub fn check_marketing(
    sent_today: u32,
    rules: &MarketingRules,
    exemptions: &Exemptions,
) -> Result<(), Refusal> {
    if exemptions.skip_marketing_control || sent_today < rules.daily_limit {
        return Ok(());
    }
    Err(Refusal::MarketingLimited {
        limit: rules.daily_limit,
    })
}

/// Marketing messages one shop sent one buyer on one day; a new day starts from zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketingTally {
    day: Option<NaiveDate>,
    sent: u32,
}

impl MarketingTally {
    /// How many were sent on `day`.
    pub fn sent_on(&self, day: NaiveDate) -> u32 {
        if self.day == Some(day) { self.sent } else { 0 }
    }

    /// Counts a marketing message that was accepted on `day`, unless the session is exempt.
    pub fn record(&mut self, day: NaiveDate, exemptions: &Exemptions) {
        if exemptions.skip_marketing_control {
            return;
        }
        self.sent = self.sent_on(day).saturating_add(1);
        self.day = Some(day);
    }
}

/// Full-width ASCII (U+FF01..U+FF5E) and the ideographic space folded to ASCII, then lowercase.
/// Text with nothing to fold (lowercase ASCII, most chat text) is borrowed, not copied.
fn fold(text: &str) -> Cow<'_, str> {
    if text
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        return Cow::Borrowed(text);
    }
    let folded = text.chars().map(fold_char).flat_map(char::to_lowercase);
    Cow::Owned(folded.collect())
}

fn fold_char(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// Runs of non-space ASCII that hold a `/`: what a link looks like inside chat text.
fn link_like_tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_ascii_graphic())
        .filter(|token| token.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::controls::exemption::exemptions;
    use chrono::TimeZone;

    /// The one-pass search finds what a search per keyword finds.
    #[test]
    fn the_automaton_agrees_with_a_search_per_keyword() {
        let words = MarketingWords::new(
            ["sale", "sales", "促销", "打折", "promo", "on sale", "ale"],
            Vec::<&str>::new(),
        );
        let texts = [
            "wholesale only",
            "wholesales",
            "big sales today",
            "this is on sale",
            "打折促销",
            "promotional",
            "a promo!",
            "pale ale",
            "whale",
            "",
            "nothing here",
        ];
        for text in texts {
            let folded = fold(text);
            let one_by_one = words.keywords.iter().any(|k| k.is_in(&folded));
            assert_eq!(words.has_keyword(&folded), one_by_one, "{text:?}");
        }
        assert!(words.has_keyword("pale ale"));
        assert!(!MarketingWords::new(["sale"], Vec::<&str>::new()).has_keyword("wholesale"));
    }
    #[test]
    fn recognition_table() {
        let rules = MarketingRules::default();
        // (text, marked by sender, is marketing)
        let cases = [
            ("您好，您的包裹已经发出", false, false),
            ("您好，您的包裹已经发出", true, true),
            ("今天领券满300减50", false, true),
            ("限时秒杀，手慢无", false, true),
            ("Use this COUPON at checkout", false, true),
            ("ＣＯＵＰＯＮ inside", false, true),
            ("Summer Sale starts now", false, true),
            ("flash sales today", false, true),
            ("we sell wholesale only", false, false),
            ("I will explain in detail. Thanks", false, false),
            (
                "看看这个 https://item.taobao.com/item.htm?id=123",
                false,
                true,
            ),
            ("看看这个https://detail.tmall.com/x?id=9谢谢", false, true),
            ("https://item.jd.com/100012.html", false, true),
            ("https://shop.example.com/item/55.html", false, true),
            (
                "物流查询 https://kuaidi.example.com/track?no=ZT1",
                false,
                false,
            ),
            ("", false, false),
        ];
        for (text, marked, expected) in cases {
            assert_eq!(
                rules.is_marketing(text, marked),
                expected,
                "{text:?} {marked}"
            );
        }
    }

    #[test]
    fn configured_keywords_are_folded_and_empty_ones_ignored() {
        let rules = MarketingRules {
            words: MarketingWords::new(["", "  ", "ＢＩＧ ＤＥＡＬ"], [""]),
            ..MarketingRules::default()
        };
        assert!(rules.is_marketing("a big deal for you", false));
        assert!(!rules.is_marketing("hello https://a.example/b", false));
    }

    fn date(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, day).expect("valid date")
    }

    /// An instant given as a November 2026 wall-clock time in `zone`.
    fn wall_clock(zone: Tz, day: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
        let local = zone.with_ymd_and_hms(2026, 11, day, h, m, s);
        local.single().expect("unambiguous").with_timezone(&Utc)
    }

    #[test]
    fn day_turns_at_local_midnight() {
        let shanghai = chrono_tz::Asia::Shanghai;
        // (wall clock in zone: day, h, m, s; the marketing day in Shanghai)
        let cases = [
            (shanghai, (21, 23, 59, 59), date(21)),
            (shanghai, (22, 0, 0, 0), date(22)),
            (Tz::UTC, (21, 15, 59, 59), date(21)),
            (Tz::UTC, (21, 16, 0, 0), date(22)),
        ];
        for (zone, (day, h, m, s), expected) in cases {
            let now = wall_clock(zone, day, h, m, s);
            assert_eq!(marketing_day(now, shanghai), expected, "{now}");
        }
    }

    #[test]
    fn daily_limit_table() {
        let rules = MarketingRules::default();
        let refused = Err(Refusal::MarketingLimited { limit: 1 });
        // (sent today, courier is a member, decision)
        let cases = [
            (0, false, Ok(())),
            (1, false, refused.clone()),
            (7, false, refused),
            (0, true, Ok(())),
            (1, true, Ok(())),
            (7, true, Ok(())),
        ];
        for (sent_today, has_courier_member, expected) in cases {
            let decided = check_marketing(sent_today, &rules, &exemptions(has_courier_member));
            assert_eq!(
                decided, expected,
                "sent {sent_today} courier {has_courier_member}"
            );
        }
    }

    #[test]
    fn tally_counts_per_day_and_skips_exempt_messages() {
        let rules = MarketingRules::default();
        let shanghai = rules.time_zone;
        let before_midnight = marketing_day(wall_clock(shanghai, 21, 23, 59, 59), shanghai);
        let after_midnight = marketing_day(wall_clock(shanghai, 22, 0, 0, 0), shanghai);
        let mut tally = MarketingTally::default();

        tally.record(before_midnight, &exemptions(true));
        assert_eq!(
            tally.sent_on(before_midnight),
            0,
            "sent while the courier is a member"
        );
        tally.record(before_midnight, &exemptions(false));
        let check = |tally: &MarketingTally, day| {
            check_marketing(tally.sent_on(day), &rules, &exemptions(false))
        };
        assert!(check(&tally, before_midnight).is_err(), "2nd at 23:59:59");
        assert_eq!(check(&tally, after_midnight), Ok(()), "1st at 00:00:00");
        tally.record(after_midnight, &exemptions(false));
        assert_eq!(tally.sent_on(after_midnight), 1);
        assert_eq!(tally.sent_on(before_midnight), 0);
    }
}
