//! Builds what the host receives: an acceptance, or a rejection whose message
//! names, for every violation, the field, the image as written, and each
//! rule that refused it. Messages are bounded: at most 10 violations are
//! listed, and images longer than 200 characters are cut.

use std::borrow::Cow;

use kubewarden_policy_sdk::{accept_request, reject_request, wapc_guest::CallResult};

/// One refused image, or a malformed place where an image should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Field path from the object's root.
    pub field: String,
    /// The image as written; `None` when the field did not hold a string.
    pub image: Option<String>,
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
            match &v.image {
                Some(image) => format!("{} {:?}: {reasons}", v.field, shorten(image)),
                None => format!("{}: {reasons}", v.field),
            }
        })
        .collect();
    let mut message = shown.join("; ");
    if violations.len() > VIOLATIONS_SHOWN {
        message.push_str(&format!("; … and {} more", violations.len() - VIOLATIONS_SHOWN));
    }
    message
}

pub fn accept() -> CallResult {
    accept_request()
}

pub fn reject(message: String) -> CallResult {
    reject_request(Some(message), None, None, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(i: usize) -> Violation {
        Violation {
            field: format!("spec.containers[{i}].image"),
            image: Some("nginx".into()),
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
    fn long_images_are_cut() {
        let long = "a".repeat(10_000);
        assert_eq!(shorten(&long).chars().count(), 201);
        assert_eq!(shorten("short"), "short");
    }
}
