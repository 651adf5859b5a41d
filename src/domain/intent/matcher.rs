//! Phrase matching over normalised text.
//!
//! Owns finding the lexicon's phrases in a normalised text: scanning left to right, at each
//! position the longest phrase that starts there wins and the scan resumes after it
//! (leftmost-longest). So `没收到` can never also be read as a separate `收到`, and a neutral
//! phrase such as `到账` shields its `到` from the arrival concept. Phrases that start or end with
//! an ASCII letter only match on word boundaries (`lost` is not found in `almost`). It does not
//! interpret hits (see `rules`).

use super::lexicon::ConceptSet;
use super::normalise::{CLAUSE_BREAK, is_ascii_word};

/// One phrase found in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    pub(crate) concepts: ConceptSet,
    /// Index of the first token of the phrase; a token is one CJK character or one ASCII word.
    pub(crate) start_token: u32,
    /// Index one past the last token of the phrase.
    pub(crate) end_token: u32,
    /// Index of the clause (text between clause breaks) the phrase is in.
    pub(crate) clause: u32,
}

/// Phrases grouped by first character, longest first within a group.
#[derive(Debug)]
pub(crate) struct PhraseIndex {
    phrases: Vec<(Vec<char>, ConceptSet)>,
    by_first: crate::FastMap<char, Vec<usize>>,
}

impl PhraseIndex {
    pub(crate) fn new(phrases: Vec<(Vec<char>, ConceptSet)>) -> PhraseIndex {
        let mut by_first: crate::FastMap<char, Vec<usize>> = crate::FastMap::default();
        for (index, (phrase, _)) in phrases.iter().enumerate() {
            if let Some(first) = phrase.first() {
                by_first.entry(*first).or_default().push(index);
            }
        }
        for bucket in by_first.values_mut() {
            bucket.sort_by_key(|&index| std::cmp::Reverse(phrases[index].0.len()));
        }
        PhraseIndex { phrases, by_first }
    }

    /// Every hit in `text`, in text order.
    pub(crate) fn hits(&self, text: &[char]) -> Vec<Hit> {
        let tokens = token_positions(text);
        let mut hits = Vec::new();
        let mut clause = 0;
        let mut position = 0;
        while position < text.len() {
            if text[position] == CLAUSE_BREAK {
                clause += 1;
                position += 1;
                continue;
            }
            let Some((length, concepts)) = self.longest_at(text, position) else {
                position += 1;
                continue;
            };
            hits.push(Hit {
                concepts,
                start_token: tokens[position],
                end_token: tokens[position + length - 1] + 1,
                clause,
            });
            position += length;
        }
        hits
    }

    fn longest_at(&self, text: &[char], position: usize) -> Option<(usize, ConceptSet)> {
        let candidates = self.by_first.get(&text[position])?;
        candidates.iter().find_map(|&index| {
            let (phrase, concepts) = &self.phrases[index];
            let fits = text[position..].starts_with(phrase)
                && is_on_word_boundaries(text, position, phrase.len());
            fits.then_some((phrase.len(), *concepts))
        })
    }
}

/// An ASCII word may not continue before the start or after the end of a match.
fn is_on_word_boundaries(text: &[char], start: usize, length: usize) -> bool {
    let end = start + length;
    let starts_clean = start == 0 || !is_ascii_word(text[start]) || !is_ascii_word(text[start - 1]);
    let ends_clean =
        end == text.len() || !is_ascii_word(text[end - 1]) || !is_ascii_word(text[end]);
    starts_clean && ends_clean
}

/// The token index of each character. A space or break gets the index of the next token, so
/// distances between hits count only words and CJK characters.
fn token_positions(text: &[char]) -> Vec<u32> {
    let mut positions = Vec::with_capacity(text.len());
    let mut next = 0u32;
    for (index, &character) in text.iter().enumerate() {
        if is_ascii_word(character) {
            let starts_word = index == 0 || !is_ascii_word(text[index - 1]);
            next += u32::from(starts_word);
            positions.push(next - 1);
        } else if character == ' ' || character == CLAUSE_BREAK {
            positions.push(next);
        } else {
            positions.push(next);
            next += 1;
        }
    }
    positions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> PhraseIndex {
        let phrases = [
            ("没", 1),
            ("收到", 2),
            ("没收", 4),
            ("lost", 8),
            ("到账", 16),
        ];
        PhraseIndex::new(
            phrases
                .iter()
                .map(|(text, set)| (text.chars().collect(), *set))
                .collect(),
        )
    }

    /// (concepts, start token, end token, clause)
    type Found = (ConceptSet, u32, u32, u32);

    fn found(text: &str) -> Vec<Found> {
        let characters: Vec<char> = text.chars().collect();
        let hits = index().hits(&characters);
        hits.iter()
            .map(|hit| (hit.concepts, hit.start_token, hit.end_token, hit.clause))
            .collect()
    }

    #[test]
    fn finds_leftmost_longest_hits_with_tokens_and_clauses() {
        let cases: &[(&str, &[Found])] = &[
            ("", &[]),
            ("没收到", &[(4, 0, 2, 0)]),
            ("我没|收到", &[(1, 1, 2, 0), (2, 2, 4, 1)]),
            ("it got lost", &[(8, 2, 3, 0)]),
            ("almost lost it", &[(8, 1, 2, 0)]),
            ("lostx", &[]),
            ("没到账", &[(1, 0, 1, 0), (16, 1, 3, 0)]),
            ("a lost 收到", &[(8, 1, 2, 0), (2, 2, 4, 0)]),
        ];
        for (text, expected) in cases {
            assert_eq!(found(text), expected.to_vec(), "text {text:?}");
        }
    }
}
