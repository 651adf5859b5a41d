//! The shop's robot: answers from the shop's configured replies, and hands the buyer over to
//! a person when asked.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Words that ask for a person (matched case-insensitively anywhere in the text).
pub const DEFAULT_HANDOVER_WORDS: &[&str] = &[
    "转人工",
    "人工",
    "真人",
    "客服在吗",
    "human",
    "agent",
    "person",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RobotReply {
    /// Any of these in the buyer's text selects this reply.
    pub keywords: Vec<String>,
    pub reply: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RobotConfig {
    /// Tried in order; the first whose keyword appears answers.
    pub replies: Vec<RobotReply>,
    /// The answer when no reply matches.
    pub fallback: String,
    pub handover_words: Vec<String>,
}

impl Default for RobotConfig {
    fn default() -> Self {
        RobotConfig {
            replies: Vec::new(),
            fallback: "您好，我是店铺机器人。输入“转人工”可联系人工客服。".into(),
            handover_words: DEFAULT_HANDOVER_WORDS
                .iter()
                .map(|w| w.to_string())
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RobotAnswer {
    Reply(String),
    /// The buyer asked for a person.
    Handover,
}

fn contains(text: &str, word: &str) -> bool {
    !word.is_empty() && text.contains(&word.to_lowercase())
}

/// What the robot says to `text`. Asking for a person wins over any configured reply.
pub fn robot_answer(text: &str, config: &RobotConfig) -> RobotAnswer {
    let text = text.to_lowercase();
    if config.handover_words.iter().any(|w| contains(&text, w)) {
        return RobotAnswer::Handover;
    }
    let matched = config
        .replies
        .iter()
        .find(|reply| reply.keywords.iter().any(|k| contains(&text, k)));
    RobotAnswer::Reply(matched.map_or_else(|| config.fallback.clone(), |r| r.reply.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_from_replies_and_hands_over_on_request() {
        let config = RobotConfig {
            replies: vec![
                RobotReply {
                    keywords: vec!["发货".into()],
                    reply: "48小时内发货".into(),
                },
                RobotReply {
                    keywords: vec!["退货".into(), "Return".into()],
                    reply: "7天无理由".into(),
                },
            ],
            ..RobotConfig::default()
        };
        let cases = [
            ("什么时候发货", RobotAnswer::Reply("48小时内发货".into())),
            (
                "how do I return this",
                RobotAnswer::Reply("7天无理由".into()),
            ),
            ("你好", RobotAnswer::Reply(config.fallback.clone())),
            ("转人工", RobotAnswer::Handover),
            ("发货太慢了，我要找人工", RobotAnswer::Handover),
            ("Talk to a HUMAN please", RobotAnswer::Handover),
        ];
        for (text, expected) in cases {
            assert_eq!(robot_answer(text, &config), expected, "{text}");
        }
    }
}
