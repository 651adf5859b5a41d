//! `logistics-bridge classify`: classifies buyer texts, one per line, into JSON lines.
//!
//! Owns the line protocol only: every input line (empty ones included; a trailing `\r` is
//! dropped; invalid UTF-8 is replaced, not refused) gives exactly one output line
//! `{"text": ..., "intent": <label or null>, "score": <number>}`. Reading files and choosing the
//! classifier are the caller's business.

use std::io::{BufRead, Write};

use serde::Serialize;

use crate::domain::intent::{Classifier, Intent};

/// One output line.
#[derive(Serialize)]
struct Line<'a> {
    text: &'a str,
    intent: Option<Intent>,
    score: f32,
}

/// Reads texts from `input`, one per line, and writes one JSON object per line to `output`.
pub fn run(
    mut input: impl BufRead,
    mut output: impl Write,
    classifier: &Classifier,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        if input.read_until(b'\n', &mut buffer)? == 0 {
            break;
        }
        let raw = String::from_utf8_lossy(&buffer);
        let text = raw.strip_suffix('\n').unwrap_or(&raw);
        let text = text.strip_suffix('\r').unwrap_or(text);
        let classification = classifier.classify(text);
        let line = Line {
            text,
            intent: classification.intent,
            score: classification.score,
        };
        serde_json::to_writer(&mut output, &line)?;
        output.write_all(b"\n")?;
    }
    output.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_lines(input: &[u8]) -> Vec<serde_json::Value> {
        let mut output = Vec::new();
        run(input, &mut output, &Classifier::builtin()).expect("in-memory I/O");
        let text = String::from_utf8(output).expect("UTF-8 output");
        let lines = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("JSON line"));
        lines.collect()
    }

    /// Expected (text, intent label) per output line.
    type Expected<'a> = &'a [(&'a str, Option<&'a str>)];

    #[test]
    fn one_json_line_per_input_line() {
        let cases: &[(&[u8], Expected<'_>)] = &[
            (b"", &[]),
            (b"\n", &[("", None)]),
            (
                "快递丢了\n你好\r\n\n显示签收但我没收到".as_bytes(),
                &[
                    ("快递丢了", Some("lost_parcel")),
                    ("你好", None),
                    ("", None),
                    ("显示签收但我没收到", Some("signed_not_received")),
                ],
            ),
            (
                b"caf\xff lost my package\n",
                &[("caf\u{FFFD} lost my package", Some("lost_parcel"))],
            ),
        ];
        for (input, expected) in cases {
            let lines = classify_lines(input);
            assert_eq!(lines.len(), expected.len(), "input {input:?}");
            for (line, (text, intent)) in lines.iter().zip(expected.iter()) {
                assert_eq!(line["text"], *text);
                assert_eq!(line["intent"].as_str(), *intent, "text {text:?}");
                let score = line["score"].as_f64().expect("score is a number");
                assert!((0.0..=1.0).contains(&score));
            }
        }
    }
}
