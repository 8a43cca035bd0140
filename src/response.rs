//! Builds what the host receives: an acceptance (with the mutated object
//! when images were rewritten), or a rejection whose message names, for
//! every violation, the field, the image as written, and each rule that
//! refused it; either may carry warnings. Messages are bounded: at most 10
//! violations and 10 warnings are listed, and images longer than 200
//! characters are cut.
//!
//! The JSON is written here, field for field what the SDK's
//! `ValidationResponse` serializes to (a test compares them), instead of
//! through serde_json: its serializer, `Value` and float formatting were
//! about 10 KB of policy.wasm's code, and every KB of code is compile time
//! at PolicyServer start.

use std::borrow::Cow;
use std::ops::Range;

use crate::CallResult;

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
    shorten_to(s, IMAGE_CHARS_SHOWN)
}

/// `s` cut to `chars` characters, with `…` when cut.
pub fn shorten_to(s: &str, chars: usize) -> Cow<'_, str> {
    match s.char_indices().nth(chars) {
        Some((at, _)) => Cow::Owned(format!("{}…", &s[..at])),
        None => Cow::Borrowed(s),
    }
}

/// What a violation or warning is about: `field "image" (note)`, or the field
/// alone when it held no image string.
pub fn subject(field: &str, image: Option<&str>, note: Option<&str>) -> String {
    match (image, note) {
        (Some(image), Some(note)) => format!("{field} {:?} ({note})", shorten(image)),
        (Some(image), None) => format!("{field} {:?}", shorten(image)),
        (None, _) => field.to_string(),
    }
}

/// `field "image": reason and reason; field: reason; … and N more`.
#[inline(never)]
pub fn rejection_message(violations: &[Violation]) -> String {
    let shown: Vec<String> = violations
        .iter()
        .take(VIOLATIONS_SHOWN)
        .map(|v| format!("{}: {}", subject(&v.field, v.image.as_deref(), v.note.as_deref()), v.reasons.join(" and ")))
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

/// `s` as a JSON string, quotes included.
pub fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let mut plain = 0;
    for (i, byte) in s.bytes().enumerate() {
        let escaped: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..0x20 => b"",
            _ => continue,
        };
        out.extend_from_slice(&s.as_bytes()[plain..i]);
        plain = i + 1;
        if escaped.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 15)]]);
        } else {
            out.extend_from_slice(escaped);
        }
    }
    out.extend_from_slice(&s.as_bytes()[plain..]);
    out.push(b'"');
}

/// A JSON string, or `null`.
fn write_optional(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => write_string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// A ValidationResponse; `object` is the mutated object's JSON, as it is.
fn write_response(accepted: bool, message: Option<&str>, object: Option<&[u8]>, warnings: Vec<String>) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + object.map_or(0, <[u8]>::len));
    out.extend_from_slice(if accepted {
        br#"{"accepted":true,"message":"#
    } else {
        br#"{"accepted":false,"message":"#
    });
    write_optional(&mut out, message);
    out.extend_from_slice(br#","code":null,"mutated_object":"#);
    out.extend_from_slice(object.unwrap_or(b"null"));
    out.extend_from_slice(br#","audit_annotations":null,"warnings":"#);
    match bounded(warnings) {
        None => out.extend_from_slice(b"null"),
        Some(warnings) => {
            out.push(b'[');
            for (i, warning) in warnings.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(&mut out, warning);
            }
            out.push(b']');
        }
    }
    out.push(b'}');
    out
}

pub fn accept(warnings: Vec<String>) -> CallResult {
    Ok(write_response(true, None, None, warnings))
}

pub fn reject(message: String, warnings: Vec<String>) -> CallResult {
    Ok(write_response(false, Some(&message), None, warnings))
}

/// An acceptance carrying the object (`payload[object]`) with `edits`
/// applied: each range of the payload (a JSON string token, quotes included)
/// replaced by the string given, JSON-encoded. Everything else is the
/// object's bytes as received, so nothing but the images can change, and no
/// tree of the object is built. `None` when an edit is not inside the object
/// or not in document order (never sliced past: the caller fails closed).
#[inline(never)]
pub fn mutate(
    payload: &[u8],
    object: Range<usize>,
    edits: &[(Range<usize>, String)],
    warnings: Vec<String>,
) -> Option<CallResult> {
    let mut mutated = Vec::with_capacity(object.len() + 64 * edits.len());
    let mut copied = object.start;
    for (range, replacement) in edits {
        if range.start < copied || range.end < range.start || range.end > object.end {
            return None;
        }
        mutated.extend_from_slice(payload.get(copied..range.start)?);
        write_string(&mut mutated, replacement);
        copied = range.end;
    }
    mutated.extend_from_slice(payload.get(copied..object.end)?);
    Some(Ok(write_response(true, None, Some(&mutated), warnings)))
}

/// What `validate_settings` answers: `{"valid": …, "message": …}`.
pub fn settings_verdict(message: Option<&str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(32);
    out.extend_from_slice(if message.is_none() {
        br#"{"valid":true,"message":"#
    } else {
        br#"{"valid":false,"message":"#
    });
    write_optional(&mut out, message);
    out.push(b'}');
    out
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
        let out = mutate(object, 0..object.len(), &[(start..end, "nginx@sha256:x".into())], vec!["w".into()])
            .unwrap()
            .unwrap();
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
    fn responses_are_what_the_sdk_serializes() {
        use kubewarden_policy_sdk::response::ValidationResponse;
        use kubewarden_policy_sdk::settings::SettingsValidationResponse;
        let tricky = "quote \" backslash \\ newline \n tab \t bell \u{7} nul \u{0} unicode é ✓ \u{7f}";
        for (accepted, message, warnings) in [
            (true, None, vec![]),
            (false, Some(tricky.to_string()), vec![]),
            (true, None, vec!["w1".to_string(), tricky.to_string()]),
            (false, Some("m".to_string()), vec!["w".to_string()]),
        ] {
            let ours = if accepted {
                accept(warnings.clone()).unwrap()
            } else {
                reject(message.clone().unwrap(), warnings.clone()).unwrap()
            };
            let sdk = ValidationResponse {
                accepted,
                message,
                code: None,
                mutated_object: None,
                audit_annotations: None,
                warnings: (!warnings.is_empty()).then_some(warnings),
            };
            assert_eq!(String::from_utf8(ours).unwrap(), serde_json::to_string(&sdk).unwrap());
        }
        for message in [None, Some(tricky)] {
            let sdk = SettingsValidationResponse { valid: message.is_none(), message: message.map(str::to_string) };
            assert_eq!(String::from_utf8(settings_verdict(message)).unwrap(), serde_json::to_string(&sdk).unwrap());
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let every_byte: String = (0u8..128).map(char::from).chain("é✓\u{10ffff}".chars()).collect();
        let mut ours = Vec::new();
        write_string(&mut ours, &every_byte);
        assert_eq!(String::from_utf8(ours).unwrap(), serde_json::to_string(&every_byte).unwrap());
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
