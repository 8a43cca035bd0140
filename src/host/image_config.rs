//! Asks the Kubewarden host for an image's OCI config: the host capability
//! `kubewarden/oci/v1/oci_manifest_config`, whose request is the image as
//! a JSON string and whose answer is `{"manifest": …, "digest": "sha256:…",
//! "config": <OCI image config>}` (the SDK's `get_manifest_and_config`).
//!
//! A registry wrote the answer: it is bounded (`MAX_ANSWER`), read with
//! `json.rs` (no serde in policy.wasm), and only `digest`, `config.created`,
//! `config.config.User` and `config.config.Labels` are taken. An answer of
//! the wrong shape is a failed lookup, never a default: a missing `Labels`
//! is no labels, but `Labels: 5` is an error.

use super::{HostCall, quoted};
use crate::host::manifest_digest::checked_digest;
use crate::host::oci_manifest::Platform;
use crate::request::json::Document;
use crate::rules::image_config::Facts;

pub const OPERATION: &str = "v1/oci_manifest_config";

/// Answers larger than this are refused: image configs are a few KB (the
/// largest, with a long history, some hundreds).
const MAX_ANSWER: usize = 4 << 20;

/// The manifest digest the host resolved, the config's facts, and the
/// platform the config says it is for (`os`, `architecture`, `variant`;
/// `None` when it names none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub digest: String,
    pub facts: Facts,
    pub platform: Option<Platform>,
}

/// The config of `reference` (`registry/path:tag` or `registry/path@digest`).
pub fn lookup(host: &mut HostCall<'_>, reference: &str) -> Result<Answer, String> {
    let mut request = Vec::with_capacity(reference.len() + 2);
    crate::response::write_string(&mut request, reference);
    let raw = host(OPERATION, &request)?;
    read_answer(&raw)
}

/// Reads the host's answer.
pub fn read_answer(raw: &[u8]) -> Result<Answer, String> {
    if raw.len() > MAX_ANSWER {
        return Err(format!("the host's answer is {} bytes, more than the {MAX_ANSWER} read", raw.len()));
    }
    let malformed = |what: &str| format!("the host's answer is not an image config ({what}): {}", quoted(raw));
    let answer = Document::parse(raw).map_err(|e| malformed(&e))?;
    let digest = match answer.get("digest") {
        Some(Document::String(digest)) => checked_digest(digest)?,
        _ => return Err(malformed("no digest")),
    };
    let config = match answer.get("config") {
        Some(config @ Document::Object(_)) => config,
        _ => return Err(malformed("no config")),
    };
    let created = optional_string(config.get("created")).ok_or_else(|| malformed("created is not a string"))?;
    let (user, labels) = match config.get("config") {
        None | Some(Document::Null) => (None, Vec::new()),
        Some(inner @ Document::Object(_)) => {
            let user = optional_string(inner.get("User")).ok_or_else(|| malformed("User is not a string"))?;
            let labels = match inner.get("Labels") {
                None | Some(Document::Null) => Vec::new(),
                Some(Document::Object(entries)) => entries
                    .iter()
                    .map(|(k, v)| match v {
                        Document::String(v) => Ok((k.to_string(), v.to_string())),
                        _ => Err(malformed(&format!("label {k:?} is not a string"))),
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(malformed("Labels is not a mapping")),
            };
            (user, labels)
        }
        Some(_) => return Err(malformed("config.config is not a mapping")),
    };
    let part = |key: &str| optional_string(config.get(key)).ok_or_else(|| malformed(&format!("{key} is not a string")));
    let platform = match (part("os")?, part("architecture")?, part("variant")?) {
        (Some(os), Some(architecture), variant) if !os.is_empty() && !architecture.is_empty() => {
            Some(Platform { os, architecture, variant: variant.filter(|v| !v.is_empty()) })
        }
        _ => None,
    };
    Ok(Answer { digest, facts: Facts { created, user, labels }, platform })
}

/// `Some(None)` for absent or null, `Some(Some(s))` for a string, `None`
/// for anything else.
fn optional_string(value: Option<&Document<'_>>) -> Option<Option<String>> {
    match value {
        None | Some(Document::Null) => Some(None),
        Some(Document::String(s)) => Some(Some(s.to_string())),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn reads_only_what_the_rules_need() {
        let raw = format!(
            r#"{{"manifest": {{"schemaVersion": 2, "layers": []}}, "digest": "{DIGEST}",
               "config": {{"created": "2025-01-03T10:00:00Z", "os": "linux", "architecture": "amd64", "history": [{{"created_by": "x"}}],
                          "config": {{"User": "1000:1000", "Env": ["A=b"], "Labels": {{"a": "1", "b": "two"}}}}}}}}"#
        );
        let answer = read_answer(raw.as_bytes()).unwrap();
        assert_eq!(answer.digest, DIGEST);
        assert_eq!(answer.facts.created.as_deref(), Some("2025-01-03T10:00:00Z"));
        assert_eq!(answer.facts.user.as_deref(), Some("1000:1000"));
        assert_eq!(answer.facts.labels, [("a".to_string(), "1".to_string()), ("b".to_string(), "two".to_string())]);
        assert_eq!(answer.platform.map(|p| p.to_string()).as_deref(), Some("linux/amd64"));
        // A config with no config section: no user, no labels.
        let bare = format!(r#"{{"digest": "{DIGEST}", "config": {{"architecture": "amd64"}}}}"#);
        assert_eq!(read_answer(bare.as_bytes()).unwrap().facts, Facts::default());
    }

    #[test]
    fn malformed_answers_are_failed_lookups() {
        for (raw, what) in [
            ("not json".to_string(), "invalid JSON"),
            (r#"{"config": {}}"#.to_string(), "no digest"),
            (format!(r#"{{"digest": "{DIGEST}"}}"#), "no config"),
            (format!(r#"{{"digest": "{DIGEST}", "config": {{"created": 5}}}}"#), "created is not a string"),
            (
                format!(r#"{{"digest": "{DIGEST}", "config": {{"config": {{"User": ["root"]}}}}}}"#),
                "User is not a string",
            ),
            (
                format!(r#"{{"digest": "{DIGEST}", "config": {{"config": {{"Labels": {{"a": 1}}}}}}}}"#),
                "label \"a\" is not a string",
            ),
            (
                format!(r#"{{"digest": "{DIGEST}", "config": {{"config": {{"Labels": [1]}}}}}}"#),
                "Labels is not a mapping",
            ),
            (format!(r#"{{"digest": "{DIGEST}", "digest": "{DIGEST}", "config": {{}}}}"#), "appears twice"),
        ] {
            let error = read_answer(raw.as_bytes()).unwrap_err();
            assert!(error.contains(what), "{raw}: {error}");
        }
        let error = read_answer(br#"{"digest": "sha256:bad", "config": {}}"#).unwrap_err();
        assert!(error.contains("which is not a digest"), "{error}");
        let huge = vec![b' '; MAX_ANSWER + 1];
        assert!(read_answer(&huge).unwrap_err().contains("more than the"));
    }
}
