//! From phrase hits to a classification: negation, suppression, rules and the resolution veto.
//!
//! Owns the reading of hits. The lexicon supplies the vocabulary; this module applies it in a
//! fixed order:
//!
//! 1. **Negation.** A hit of a negatable concept (`收到`, `丢`, `破损`, `签收`, `送上门` ...) that
//!    follows a negator (`没`, `还没`, `不是`, `not`, `怕`, `别`, `以为` ...) in the same clause,
//!    at most `negation.window` tokens after it, is replaced by its `negated_as` concept: negated
//!    receipt (`没收到`) becomes "missing receipt", negated door delivery (`没送上门`) becomes
//!    "door failure", denied loss or damage (`没丢`, `没有破损`) becomes a resolution (step 4).
//!    Hypothetical markers (`怕压坏`, `别弄丢了`, `如果`) are negators too, since they describe
//!    what has not happened. Doubt words such as `是不是` and `有没有` are whole phrases of their
//!    own, so the `不` and `没` inside them never negate (`是不是丢了` still reads as a suspected
//!    loss).
//! 2. **Suppression.** A concept is removed from clauses that name an object it must not apply to:
//!    `发票没收到` and `退款还没收到` lose their "missing receipt", `取件码弄丢了` its "lost".
//! 3. **Rules.** Each rule needs all of `all`, one of `any`, none of `none` (optionally all in one
//!    clause). A rule whose `none` concepts are present is vetoed: this is how pre-sale questions,
//!    product faults and the shop's own errors keep precision.
//! 4. **Resolution.** A rule is also vetoed when a resolution concept (`已经收到了`, `找到了`,
//!    `不用了`, `没事了`, `received it`) comes after the rule's last trigger hit: the buyer reported
//!    a problem and then said it is solved. A resolution before the complaint (`收到了，但是箱子
//!    压坏了`) does not veto, because the complaint is the newer statement.
//!
//! The best surviving rule (highest score, first in file order on a tie) gives the intent.

use super::lexicon::{ConceptSet, Lexicon, Rule};
use super::matcher::Hit;
use super::{Classification, Intent};

/// Replaces negated concepts on hits that follow a negator closely enough.
///
/// A negator reaches every negatable hit within the window (`not delivered to door` negates both
/// `delivered` and `to door`), unless it cancels a hit outright (a concept with no `negated_as`,
/// such as `不送`): then it is spent, so the double negative `没有不送上门` does not also
/// negate `上门`.
pub(crate) fn apply_negation(lexicon: &Lexicon, hits: &mut [Hit]) {
    let mut pending: Option<Hit> = None;
    for hit in hits.iter_mut() {
        if hit.concepts & lexicon.negator != 0 {
            pending = Some(*hit);
            continue;
        }
        let (removed, added) = negated_form(lexicon, hit.concepts);
        let in_reach = pending.is_some_and(|negator| is_within_reach(lexicon, &negator, hit));
        if removed == 0 || !in_reach {
            continue;
        }
        hit.concepts = (hit.concepts & !removed) | added;
        if added == 0 {
            pending = None;
        }
    }
}

/// The negatable concepts of `concepts`, and what they become when negated.
fn negated_form(lexicon: &Lexicon, concepts: ConceptSet) -> (ConceptSet, ConceptSet) {
    let applicable = lexicon
        .negations
        .iter()
        .filter(|negation| concepts & negation.concept != 0);
    applicable.fold((0, 0), |(removed, added), negation| {
        (removed | negation.concept, added | negation.becomes)
    })
}

/// Same clause, and at most `negation.window` tokens between the negator and the hit.
fn is_within_reach(lexicon: &Lexicon, negator: &Hit, hit: &Hit) -> bool {
    let gap = hit.start_token.saturating_sub(negator.end_token);
    negator.clause == hit.clause && gap <= lexicon.negation_window
}

/// Removes suppressed concepts from hits in clauses that name a blocking object.
pub(crate) fn apply_suppression(lexicon: &Lexicon, hits: &mut [Hit]) {
    let clause_sets = clause_sets(hits);
    for hit in hits.iter_mut() {
        let clause_set = clause_sets[hit.clause as usize];
        for suppression in &lexicon.suppressions {
            if clause_set & suppression.when_clause_has != 0 {
                hit.concepts &= !suppression.concept;
            }
        }
    }
}

/// The union of concepts per clause, indexed by clause number.
fn clause_sets(hits: &[Hit]) -> Vec<ConceptSet> {
    let clauses = hits.last().map_or(0, |hit| hit.clause as usize + 1);
    let mut sets = vec![0; clauses];
    for hit in hits {
        sets[hit.clause as usize] |= hit.concepts;
    }
    sets
}

/// Applies the rules to hits that have been through negation and suppression.
pub(crate) fn decide(lexicon: &Lexicon, hits: &[Hit]) -> Classification {
    let message_set = hits.iter().fold(0, |set, hit| set | hit.concepts);
    let clause_sets = clause_sets(hits);
    let mut best: Option<&Rule> = None;
    let mut is_vetoed = false;
    for rule in &lexicon.rules {
        if !is_complete(rule, message_set, &clause_sets) {
            continue;
        }
        if message_set & rule.none != 0 || is_resolved_after(lexicon, rule, hits) {
            is_vetoed = true;
        } else if best.is_none_or(|chosen| rule.score > chosen.score) {
            best = Some(rule);
        }
    }
    outcome(lexicon, best, is_vetoed, message_set)
}

fn is_complete(rule: &Rule, message_set: ConceptSet, clause_sets: &[ConceptSet]) -> bool {
    let fits =
        |set: ConceptSet| set & rule.all == rule.all && (rule.any == 0 || set & rule.any != 0);
    if rule.same_clause {
        clause_sets.iter().any(|&set| fits(set))
    } else {
        fits(message_set)
    }
}

/// True when a resolution hit starts after the end of the rule's last trigger hit.
fn is_resolved_after(lexicon: &Lexicon, rule: &Rule, hits: &[Hit]) -> bool {
    let last_trigger = hits
        .iter()
        .filter(|hit| hit.concepts & rule.all != 0)
        .map(|hit| hit.end_token)
        .max();
    let last_resolution = hits
        .iter()
        .filter(|hit| hit.concepts & lexicon.resolution != 0)
        .map(|hit| hit.start_token)
        .max();
    match (last_trigger, last_resolution) {
        (Some(trigger), Some(resolution)) => resolution >= trigger,
        _ => false,
    }
}

fn outcome(
    lexicon: &Lexicon,
    best: Option<&Rule>,
    is_vetoed: bool,
    message_set: ConceptSet,
) -> Classification {
    let scores = lexicon.none_scores;
    let (intent, score): (Option<Intent>, f32) = match best {
        Some(rule) => (Some(rule.intent), rule.score),
        None if is_vetoed => (None, scores.vetoed),
        None if message_set & lexicon.triggers != 0 => (None, scores.incomplete),
        None => (None, scores.nothing_matched),
    };
    Classification { intent, score }
}
