//! Buyer-intent classification: which of the five logistics complaints a chat text makes, if any.
//!
//! Owns the `Intent` labels and the `Classifier` built from the shipped lexicon
//! (`data/intent/lexicon.toml`, compiled in with `include_str!` and parsed once). It reads one
//! text and nothing else: it does not decide eligibility (see `eligibility`), keep state, or read
//! a clock. Precision comes before recall: when in doubt it answers no intent.
//!
//! Pipeline: `normalise` (width, script, case, clause breaks) → `matcher` (leftmost-longest
//! phrases) → `rules` (negation, suppression, rules, resolution veto). The labelled corpus under
//! `data/intent/corpus/` measures it; see the `evaluation` tests.

mod lexicon;
mod matcher;
mod normalise;
mod rules;

#[cfg(test)]
mod evaluation;

use std::sync::{Arc, OnceLock};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use lexicon::LexiconError;

use lexicon::Lexicon;
use matcher::PhraseIndex;

/// The lexicon shipped with the hub.
const BUILTIN_LEXICON: &str = include_str!("../../../data/intent/lexicon.toml");

/// A logistics complaint a buyer can make. Wire form is the snake_case label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// 未收到货: the parcel has not arrived.
    NotReceived,
    /// 未收货显示签收: tracking says signed for or delivered, the buyer has nothing.
    SignedNotReceived,
    /// 未送货上门: left at a station or locker, or the buyer was told to fetch it.
    NotDeliveredToDoor,
    /// 物流导致破损: broken or crushed on the way.
    DamagedInTransit,
    /// 丢件: the carrier lost the parcel.
    LostParcel,
}

impl Intent {
    pub const ALL: [Intent; 5] = [
        Intent::NotReceived,
        Intent::SignedNotReceived,
        Intent::NotDeliveredToDoor,
        Intent::DamagedInTransit,
        Intent::LostParcel,
    ];

    /// The wire label, e.g. `not_received`.
    pub fn label(self) -> &'static str {
        match self {
            Intent::NotReceived => "not_received",
            Intent::SignedNotReceived => "signed_not_received",
            Intent::NotDeliveredToDoor => "not_delivered_to_door",
            Intent::DamagedInTransit => "damaged_in_transit",
            Intent::LostParcel => "lost_parcel",
        }
    }

    /// The name buyers and agents see, e.g. `未收到货`.
    pub fn chinese_name(self) -> &'static str {
        match self {
            Intent::NotReceived => "未收到货",
            Intent::SignedNotReceived => "未收货显示签收",
            Intent::NotDeliveredToDoor => "未送货上门",
            Intent::DamagedInTransit => "物流导致破损",
            Intent::LostParcel => "丢件",
        }
    }

    /// Parses a wire label exactly (case-sensitive, as on the wire).
    pub fn from_label(label: &str) -> Option<Intent> {
        Intent::ALL
            .into_iter()
            .find(|intent| intent.label() == label)
    }
}

impl std::fmt::Display for Intent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// The classifier's answer. `score` is a confidence in [0, 1]: for an intent, the score of the
/// rule that found it; for no intent, how sure the lexicon is that there is none (highest when
/// nothing matched, lower when a cue matched but no rule completed, lowest when a complete rule
/// was vetoed by a blocker or a later resolution).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Classification {
    pub intent: Option<Intent>,
    pub score: f32,
}

/// Classifies buyer texts. Cheap to clone: the compiled lexicon is shared.
#[derive(Debug, Clone)]
pub struct Classifier {
    model: Arc<Model>,
}

#[derive(Debug)]
struct Model {
    lexicon: Lexicon,
    index: PhraseIndex,
}

impl Classifier {
    /// The classifier for the shipped lexicon, compiled on first use and shared afterwards.
    ///
    /// Panics only if the shipped lexicon is broken, which the tests rule out.
    pub fn builtin() -> Classifier {
        static BUILTIN: OnceLock<Classifier> = OnceLock::new();
        let classifier =
            BUILTIN.get_or_init(|| match Classifier::from_lexicon_toml(BUILTIN_LEXICON) {
                Ok(classifier) => classifier,
                Err(error) => panic!("the shipped data/intent/lexicon.toml is broken: {error}"),
            });
        classifier.clone()
    }

    /// Compiles a lexicon text of the same shape as `data/intent/lexicon.toml`.
    pub fn from_lexicon_toml(text: &str) -> Result<Classifier, LexiconError> {
        let mut lexicon = lexicon::compile(text)?;
        let index = PhraseIndex::new(std::mem::take(&mut lexicon.phrases));
        let model = Model { lexicon, index };
        Ok(Classifier {
            model: Arc::new(model),
        })
    }

    /// The intent `text` expresses, if any.
    pub fn classify(&self, text: &str) -> Classification {
        let Model { lexicon, index } = &*self.model;
        let normalised = lexicon.normaliser.normalise(text);
        let mut hits = index.hits(&normalised);
        rules::apply_negation(lexicon, &mut hits);
        rules::apply_suppression(lexicon, &mut hits);
        rules::decide(lexicon, &hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent_of(text: &str) -> Option<Intent> {
        Classifier::builtin().classify(text).intent
    }

    #[test]
    fn labels_round_trip() {
        for intent in Intent::ALL {
            assert_eq!(Intent::from_label(intent.label()), Some(intent));
            let json = serde_json::to_string(&intent).expect("serialise");
            assert_eq!(json, format!("\"{}\"", intent.label()));
            assert!(!intent.chinese_name().is_empty());
        }
        assert_eq!(Intent::from_label("Not_Received"), None);
        assert_eq!(Intent::from_label("none"), None);
    }

    #[test]
    fn builtin_lexicon_compiles() {
        assert!(Classifier::from_lexicon_toml(BUILTIN_LEXICON).is_ok());
    }

    #[test]
    fn bad_lexicons_name_the_problem() {
        let cases: &[(&str, &str)] = &[
            ("not toml [", "not valid TOML"),
            ("[normalise]\ntraditional = \"\"", "not valid TOML"),
        ];
        for (text, expected) in cases {
            let error = Classifier::from_lexicon_toml(text)
                .err()
                .map(|e| e.to_string());
            assert!(
                error
                    .as_deref()
                    .is_some_and(|message| message.contains(expected)),
                "lexicon {text:?} gave {error:?}"
            );
        }
        let broken = BUILTIN_LEXICON.replacen("intent = \"lost_parcel\"", "intent = \"lost\"", 1);
        let error = Classifier::from_lexicon_toml(&broken).err();
        assert!(
            matches!(error, Some(LexiconError::UnknownIntent { .. })),
            "{error:?}"
        );
        let broken = BUILTIN_LEXICON.replacen("all = [\"", "all = [\"nonexistent\", \"", 1);
        let error = Classifier::from_lexicon_toml(&broken).err();
        assert!(
            matches!(error, Some(LexiconError::UnknownConcept { .. })),
            "{error:?}"
        );
    }

    #[test]
    fn traps_give_no_intent() {
        let traps = [
            "什么时候发货",
            "几天能到",
            "已经收到了，谢谢",
            "质量问题",
            "出厂就坏了",
            "发错货了",
            "盒子里少了一个配件",
            "我要退款",
            "发票还没收到",
            "你好",
            "不用了，已经拿到了",
            "之前没收到，现在已经收到了",
            "快递没丢，已经收到了",
            "能送货上门吗",
            "怕路上压坏，包装结实点",
            "",
            "   ",
            "😊",
        ];
        for text in traps {
            assert_eq!(intent_of(text), None, "text {text:?}");
        }
    }

    #[test]
    fn each_intent_in_several_scripts() {
        use Intent::*;
        let cases: &[(&str, Intent)] = &[
            ("我的快递还没收到", NotReceived),
            ("我的快遞還沒收到", NotReceived),
            ("I haven't received my package", NotReceived),
            ("显示已签收但我没收到", SignedNotReceived),
            ("顯示已簽收但我沒收到", SignedNotReceived),
            ("It says delivered but I never got it", SignedNotReceived),
            ("快递员不送货上门，放驿站了", NotDeliveredToDoor),
            ("快遞員不送貨上門", NotDeliveredToDoor),
            ("The courier didn't deliver to my door", NotDeliveredToDoor),
            ("快递箱子压扁了，杯子碎了", DamagedInTransit),
            ("運輸過程中壓壞了", DamagedInTransit),
            ("my item was damaged in shipping", DamagedInTransit),
            ("快递丢了", LostParcel),
            ("我的包裹丟了", LostParcel),
            ("the courier lost my parcel", LostParcel),
            ("ＭＹ ＰＡＣＫＡＧＥ ＧＯＴ ＬＯＳＴ", LostParcel),
        ];
        for (text, expected) in cases {
            assert_eq!(intent_of(text), Some(*expected), "text {text:?}");
        }
    }

    #[test]
    fn scores_are_confidences() {
        let classifier = Classifier::builtin();
        for text in ["快递丢了", "你好", "", "快递没丢，已经收到了", "快递"] {
            let score = classifier.classify(text).score;
            assert!((0.0..=1.0).contains(&score), "text {text:?} score {score}");
        }
        assert_eq!(classifier.classify("").score, 1.0);
    }
}
