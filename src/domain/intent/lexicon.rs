//! The lexicon file: its TOML shape, its validation, and the compiled form the classifier runs.
//!
//! Owns parsing `data/intent/lexicon.toml` (or any text of the same shape) into `Lexicon`, with
//! every name resolved to an index and every phrase normalised once, so classifying never looks a
//! name up. It does not match text (see `matcher`) nor apply rules (see `rules`).

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::Intent;
use super::normalise::{CLAUSE_BREAK, Normaliser};

/// Concepts are tracked in a `u64` bit set, so a lexicon has at most this many.
pub const MAX_CONCEPTS: usize = 64;

/// What is wrong with a lexicon text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LexiconError {
    #[error("lexicon is not valid TOML or has a wrong shape: {0}")]
    Syntax(String),
    #[error("{place} names concept `{name}`, which is not defined under [concepts]")]
    UnknownConcept { place: String, name: String },
    #[error("{place} names intent `{label}`, which is not one of the five labels")]
    UnknownIntent { place: String, label: String },
    #[error("the lexicon defines {count} concepts; at most {MAX_CONCEPTS} are allowed")]
    TooManyConcepts { count: usize },
    #[error(
        "normalise.traditional entry `{entry}` is not exactly two characters (Traditional, Simplified)"
    )]
    BadTraditionalPair { entry: String },
    #[error(
        "concept `{concept}` has phrase {phrase:?}, which is empty or has punctuation once normalised"
    )]
    BadPhrase { concept: String, phrase: String },
    #[error("rules[{index}] has score {score}; it must be in (0, 1]")]
    ScoreOutOfRange { index: usize, score: f32 },
    #[error("scores.{key} is {score}; it must be in [0, 1]")]
    NoneScoreOutOfRange { key: &'static str, score: f32 },
    #[error("rules[{index}] has an empty `all` list")]
    EmptyRule { index: usize },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLexicon {
    normalise: RawNormalise,
    negation: RawNegation,
    resolution: RawResolution,
    scores: RawScores,
    concepts: BTreeMap<String, RawConcept>,
    #[serde(default)]
    suppress: Vec<RawSuppress>,
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNormalise {
    traditional: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNegation {
    concept: String,
    window: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResolution {
    concepts: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScores {
    nothing_matched: f32,
    incomplete: f32,
    vetoed: f32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConcept {
    #[serde(default)]
    negatable: bool,
    negated_as: Option<String>,
    phrases: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuppress {
    concept: String,
    when_clause_has: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    intent: String,
    all: Vec<String>,
    #[serde(default)]
    any: Vec<String>,
    #[serde(default)]
    none: Vec<String>,
    #[serde(default)]
    same_clause: bool,
    score: f32,
}

/// A set of concepts, one bit per concept index.
pub(crate) type ConceptSet = u64;

/// How a negatable concept reads when a negator stands just before it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Negation {
    pub(crate) concept: ConceptSet,
    /// The concept the hit counts as instead; 0 drops it.
    pub(crate) becomes: ConceptSet,
}

/// Removes `concept` from hits in any clause that also has one of `when_clause_has`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Suppression {
    pub(crate) concept: ConceptSet,
    pub(crate) when_clause_has: ConceptSet,
}

/// A rule: all of `all`, at least one of `any` (when not empty), none of `none`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    pub(crate) intent: Intent,
    pub(crate) all: ConceptSet,
    pub(crate) any: ConceptSet,
    pub(crate) none: ConceptSet,
    pub(crate) same_clause: bool,
    pub(crate) score: f32,
}

/// The scores reported with `intent: None`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NoneScores {
    pub(crate) nothing_matched: f32,
    pub(crate) incomplete: f32,
    pub(crate) vetoed: f32,
}

/// A lexicon with every name resolved and every phrase normalised.
#[derive(Debug)]
pub(crate) struct Lexicon {
    pub(crate) normaliser: Normaliser,
    /// Normalised phrase and the concepts it stands for (a phrase may serve several concepts).
    pub(crate) phrases: Vec<(Vec<char>, ConceptSet)>,
    pub(crate) negator: ConceptSet,
    pub(crate) negation_window: u32,
    pub(crate) negations: Vec<Negation>,
    pub(crate) resolution: ConceptSet,
    pub(crate) suppressions: Vec<Suppression>,
    pub(crate) rules: Vec<Rule>,
    /// Every concept some rule needs (`all`); a text with none of them matched nothing at all.
    pub(crate) triggers: ConceptSet,
    pub(crate) none_scores: NoneScores,
}

/// Parses and validates a lexicon text.
pub(crate) fn compile(text: &str) -> Result<Lexicon, LexiconError> {
    let raw: RawLexicon =
        toml::from_str(text).map_err(|error| LexiconError::Syntax(error.to_string()))?;
    let names = ConceptNames::new(&raw.concepts)?;
    let normaliser = Normaliser::new(parse_traditional(&raw.normalise.traditional)?);
    let rules = compile_rules(&raw.rules, &names)?;
    Ok(Lexicon {
        phrases: compile_phrases(&raw.concepts, &names, &normaliser)?,
        normaliser,
        negator: names.set(
            "negation.concept",
            std::slice::from_ref(&raw.negation.concept),
        )?,
        negation_window: raw.negation.window,
        negations: compile_negations(&raw.concepts, &names)?,
        resolution: names.set("resolution.concepts", &raw.resolution.concepts)?,
        suppressions: compile_suppressions(&raw.suppress, &names)?,
        triggers: rules.iter().fold(0, |set, rule| set | rule.all),
        rules,
        none_scores: compile_none_scores(&raw.scores)?,
    })
}

/// Concept name to bit.
struct ConceptNames(HashMap<String, ConceptSet>);

impl ConceptNames {
    fn new(concepts: &BTreeMap<String, RawConcept>) -> Result<ConceptNames, LexiconError> {
        if concepts.len() > MAX_CONCEPTS {
            return Err(LexiconError::TooManyConcepts {
                count: concepts.len(),
            });
        }
        let bits = concepts.keys().enumerate();
        Ok(ConceptNames(
            bits.map(|(index, name)| (name.clone(), 1u64 << index))
                .collect(),
        ))
    }

    fn set(&self, place: &str, names: &[String]) -> Result<ConceptSet, LexiconError> {
        names
            .iter()
            .try_fold(0, |set, name| match self.0.get(name) {
                Some(bit) => Ok(set | bit),
                None => Err(LexiconError::UnknownConcept {
                    place: place.to_string(),
                    name: name.clone(),
                }),
            })
    }
}

/// Reads white-space separated two-character entries such as `貨货`.
fn parse_traditional(table: &str) -> Result<crate::FastMap<char, char>, LexiconError> {
    let mut map = crate::FastMap::default();
    for entry in table.split_whitespace() {
        let mut characters = entry.chars();
        match (characters.next(), characters.next(), characters.next()) {
            (Some(traditional), Some(simplified), None) => {
                map.insert(traditional, simplified);
            }
            _ => {
                return Err(LexiconError::BadTraditionalPair {
                    entry: entry.to_string(),
                });
            }
        }
    }
    Ok(map)
}

fn compile_phrases(
    concepts: &BTreeMap<String, RawConcept>,
    names: &ConceptNames,
    normaliser: &Normaliser,
) -> Result<Vec<(Vec<char>, ConceptSet)>, LexiconError> {
    let mut merged: BTreeMap<Vec<char>, ConceptSet> = BTreeMap::new();
    for (name, concept) in concepts {
        let bit = names.set("concepts", std::slice::from_ref(name))?;
        for phrase in &concept.phrases {
            let normalised = normaliser.normalise(phrase);
            if normalised.is_empty() || normalised.contains(&CLAUSE_BREAK) {
                return Err(LexiconError::BadPhrase {
                    concept: name.clone(),
                    phrase: phrase.clone(),
                });
            }
            *merged.entry(normalised).or_default() |= bit;
        }
    }
    Ok(merged.into_iter().collect())
}

fn compile_negations(
    concepts: &BTreeMap<String, RawConcept>,
    names: &ConceptNames,
) -> Result<Vec<Negation>, LexiconError> {
    let negatable = concepts
        .iter()
        .filter(|(_, concept)| concept.negatable || concept.negated_as.is_some());
    negatable
        .map(|(name, concept)| {
            let place = format!("concepts.{name}.negated_as");
            let becomes = concept.negated_as.as_slice();
            Ok(Negation {
                concept: names.set("concepts", std::slice::from_ref(name))?,
                becomes: names.set(&place, becomes)?,
            })
        })
        .collect()
}

fn compile_suppressions(
    raw: &[RawSuppress],
    names: &ConceptNames,
) -> Result<Vec<Suppression>, LexiconError> {
    let numbered = raw.iter().enumerate();
    numbered
        .map(|(index, suppress)| {
            let place = format!("suppress[{index}]");
            Ok(Suppression {
                concept: names.set(&place, std::slice::from_ref(&suppress.concept))?,
                when_clause_has: names.set(&place, &suppress.when_clause_has)?,
            })
        })
        .collect()
}

fn compile_rules(raw: &[RawRule], names: &ConceptNames) -> Result<Vec<Rule>, LexiconError> {
    raw.iter()
        .enumerate()
        .map(|(index, rule)| compile_rule(index, rule, names))
        .collect()
}

fn compile_rule(index: usize, rule: &RawRule, names: &ConceptNames) -> Result<Rule, LexiconError> {
    let place = format!("rules[{index}]");
    let intent = Intent::from_label(&rule.intent).ok_or_else(|| LexiconError::UnknownIntent {
        place: place.clone(),
        label: rule.intent.clone(),
    })?;
    if rule.all.is_empty() {
        return Err(LexiconError::EmptyRule { index });
    }
    if !(rule.score > 0.0 && rule.score <= 1.0) {
        return Err(LexiconError::ScoreOutOfRange {
            index,
            score: rule.score,
        });
    }
    Ok(Rule {
        intent,
        all: names.set(&place, &rule.all)?,
        any: names.set(&place, &rule.any)?,
        none: names.set(&place, &rule.none)?,
        same_clause: rule.same_clause,
        score: rule.score,
    })
}

fn compile_none_scores(raw: &RawScores) -> Result<NoneScores, LexiconError> {
    let named = [
        ("nothing_matched", raw.nothing_matched),
        ("incomplete", raw.incomplete),
        ("vetoed", raw.vetoed),
    ];
    for (key, score) in named {
        if !(0.0..=1.0).contains(&score) {
            return Err(LexiconError::NoneScoreOutOfRange { key, score });
        }
    }
    Ok(NoneScores {
        nothing_matched: raw.nothing_matched,
        incomplete: raw.incomplete,
        vetoed: raw.vetoed,
    })
}
