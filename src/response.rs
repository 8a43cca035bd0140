//! Builds what the host receives: an acceptance (with the mutated object
//! when images were rewritten), or a rejection whose message names, for
//! every violation, the field, the image as written, and each rule that
//! refused it; either may carry warnings. Messages are bounded: at most 10
//! violations and 10 warnings are listed, and images longer than 200
//! characters are cut.

use std::borrow::Cow;
use std::ops::Range;

use kubewarden_policy_sdk::response::ValidationResponse;
use kubewarden_policy_sdk::{reject_request, wapc_guest::CallResult};

/// One refused image, or a malformed place where an image should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Field path from the object's root.
    pub field: String,
    /// The image as written; `None` when the field did not hold a string.
    pub image: Option<String>,
    /// What the policy made of it (`mirrored to "…"`), shown after it.
    pub note: Option<String>,
    /// Why, one sentence per failing rule.
    pub reasons: Vec<String>,
}

const VIOLATIONS_SHOWN: usize = 10;
const IMAGE_CHARS_SHOWN: usize = 200;

/// `s` cut to 200 characters, with `…` when cut.
pub fn shorten(s: &str) -> Cow<'_, str> {
    match s.char_indices().nth(IMAGE_CHARS_SHOWN) {
        Some((at, _)) => Cow::Owned(format!("{}…", &s[..at])),
        None => Cow::Borrowed(s),
    }
}

/// `field "image": reason and reason; field: reason; … and N more`.
pub fn rejection_message(violations: &[Violation]) -> String {
    let shown: Vec<String> = violations
        .iter()
        .take(VIOLATIONS_SHOWN)
        .map(|v| {
            let reasons = v.reasons.join(" and ");
            match (&v.image, &v.note) {
                (Some(image), Some(note)) => format!("{} {:?} ({note}): {reasons}", v.field, shorten(image)),
                (Some(image), None) => format!("{} {:?}: {reasons}", v.field, shorten(image)),
                (None, _) => format!("{}: {reasons}", v.field),
            }
        })
        .collect();
    let mut message = shown.join("; ");
    if violations.len() > VIOLATIONS_SHOWN {
        message.push_str(&format!("; … and {} more", violations.len() - VIOLATIONS_SHOWN));
    }
    message
}

const WARNINGS_SHOWN: usize = 10;

/// At most 10 warnings, then `… and N more`; `None` for none.
fn bounded(mut warnings: Vec<String>) -> Option<Vec<String>> {
    if warnings.len() > WARNINGS_SHOWN {
        let more = warnings.len() - WARNINGS_SHOWN;
        warnings.truncate(WARNINGS_SHOWN);
        warnings.push(format!("… and {more} more warnings"));
    }
    (!warnings.is_empty()).then_some(warnings)
}

pub fn accept(warnings: Vec<String>) -> CallResult {
    let response = ValidationResponse {
        accepted: true,
        message: None,
        code: None,
        mutated_object: None,
        audit_annotations: None,
        warnings: bounded(warnings),
    };
    Ok(serde_json::to_vec(&response)?)
}

pub fn reject(message: String, warnings: Vec<String>) -> CallResult {
    reject_request(Some(message), None, None, bounded(warnings))
}

/// An acceptance carrying the object with `edits` applied: each range of
/// `object` (a JSON string token, quotes included) replaced by the string
/// given, JSON-encoded. Everything else is the object's bytes as received,
/// so nothing but the images can change, and no tree of the object is built.
/// `edits` are in document order and do not overlap.
pub fn mutate(object: &[u8], edits: &[(Range<usize>, String)], warnings: Vec<String>) -> CallResult {
    let mut out = Vec::with_capacity(object.len() + 128);
    out.extend_from_slice(br#"{"accepted":true,"message":null,"code":null,"mutated_object":"#);
    let mut copied = 0;
    for (range, replacement) in edits {
        out.extend_from_slice(&object[copied..range.start]);
        serde_json::to_writer(&mut out, replacement)?;
        copied = range.end;
    }
    out.extend_from_slice(&object[copied..]);
    out.extend_from_slice(br#","audit_annotations":null,"warnings":"#);
    serde_json::to_writer(&mut out, &bounded(warnings))?;
    out.push(b'}');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(i: usize) -> Violation {
        Violation {
            field: format!("spec.containers[{i}].image"),
            image: Some("nginx".into()),
            note: None,
            reasons: vec!["r1".into(), "r2".into()],
        }
    }

    #[test]
    fn one_violation_names_field_image_and_reasons() {
        assert_eq!(rejection_message(&[violation(0)]), "spec.containers[0].image \"nginx\": r1 and r2");
    }

    #[test]
    fn many_violations_are_bounded() {
        let all: Vec<Violation> = (0..27).map(violation).collect();
        let message = rejection_message(&all);
        assert!(message.ends_with("; … and 17 more"), "{message}");
        assert_eq!(message.matches("spec.containers").count(), 10);
    }

    #[test]
    fn mutation_replaces_only_the_edited_strings() {
        let object = br#"{"a": "x",  "image":"ngin\u0078", "n": [1, 2]}"#;
        let start = object.windows(6).position(|w| w == b"\"ngin\\").unwrap();
        let end = start + br#""ngin\u0078""#.len();
        let out = mutate(object, &[(start..end, "nginx@sha256:x".into())], vec!["w".into()]).unwrap();
        let response: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            response,
            serde_json::json!({
                "accepted": true, "message": null, "code": null, "audit_annotations": null, "warnings": ["w"],
                "mutated_object": {"a": "x", "image": "nginx@sha256:x", "n": [1, 2]}
            })
        );
    }

    #[test]
    fn warnings_are_bounded() {
        let warnings = bounded((0..25).map(|i| i.to_string()).collect()).unwrap();
        assert_eq!(warnings.len(), 11);
        assert_eq!(warnings[10], "… and 15 more warnings");
        assert_eq!(bounded(vec![]), None);
    }

    #[test]
    fn long_images_are_cut() {
        let long = "a".repeat(10_000);
        assert_eq!(shorten(&long).chars().count(), 201);
        assert_eq!(shorten("short"), "short");
    }
}
