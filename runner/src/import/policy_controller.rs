//! Sigstore policy-controller ClusterImagePolicy (`policy.sigstore.dev`).
//!
//! policy-controller's meaning (docs.sigstore.dev/policy-controller/overview,
//! sigstore/policy-controller):
//! - `images[].glob`: the images a policy applies to (`*` any run within a
//!   path component, `**` any run across them); an image must be admitted by
//!   every ClusterImagePolicy it matches, and by one of its `authorities`
//!   (they are alternatives);
//! - an image no ClusterImagePolicy matches is refused: `no-match-policy:
//!   deny`, the default of the `config-policy-controller` ConfigMap (`warn`
//!   and `allow` are options there, not in the policy);
//! - an authority: `key` (`data` PEM; `secretRef`, `kms`), `keyless` (`url`,
//!   `identities[]` of `issuer`/`subject` or `issuerRegExp`/
//!   `subjectRegExp`, `trustRootRef`, `ca-cert`), `static.action:
//!   pass|fail`, `attestations`; a policy without authorities is refused by
//!   its webhook;
//! - `policy`: CUE or Rego over what was verified;
//! - `mode: enforce` (the default) refuses; `warn` admits with a warning.

use serde_json::{Value, json};

use super::{Entry, Imported, Rule, origin};
use crate::manifests::Sourced;

/// One `images[].glob`: as written, as an image pattern, and where from.
#[derive(Debug, Clone)]
pub(super) struct Glob {
    pattern: String,
    glob: String,
    comment: String,
}

/// The document position of what all ClusterImagePolicies give together.
pub(super) const ALL_IMAGE_POLICIES: usize = usize::MAX;

/// Fulcio's public instance, the default `keyless.url`.
const FULCIO: &str = "https://fulcio.sigstore.dev";

impl Imported {
    pub(super) fn policy_controller(&mut self, sourced: &Sourced) {
        let from = origin(sourced);
        let spec = &sourced.value["spec"];
        let images = spec["images"].as_array().map(Vec::as_slice).unwrap_or_default();
        let mut patterns = Vec::new();
        for (i, image) in images.iter().enumerate() {
            match image["glob"].as_str() {
                Some(glob) => patterns.push((glob_pattern(glob), glob.to_string())),
                None => self.untranslatable.push(format!("{from}: images[{i}] has no glob (regex is not read)")),
            }
        }
        if patterns.is_empty() {
            self.untranslatable.push(format!("{from}: no images[].glob: the policy applies to no image"));
            return;
        }
        if let Some(policy) = spec.get("policy") {
            self.untranslatable.push(format!(
                "{from}: policy ({}) evaluates CUE or Rego over what was verified: registry-guard has no equivalent",
                policy["type"].as_str().unwrap_or("unknown type")
            ));
        }
        let authorities = spec["authorities"].as_array().map(Vec::as_slice).unwrap_or_default();
        if authorities.is_empty() {
            self.untranslatable.push(format!("{from}: no authorities (policy-controller refuses such a policy)"));
            return;
        }
        let warn = [("warn", "policy-controller admits with a warning")];
        self.mode(&from, "mode", spec["mode"].as_str(), "enforce", &warn);
        self.note(
            "ClusterImagePolicies act only in namespaces labelled policy.sigstore.dev/include: \"true\"; registry-guard wherever its rules match (stricter): give its ClusterAdmissionPolicy that namespaceSelector for the same reach"
                .to_string(),
        );
        self.cip_globs.extend(patterns.iter().map(|(pattern, glob)| Glob {
            pattern: pattern.clone(),
            glob: glob.clone(),
            comment: format!("{from}: images glob {glob:?}"),
        }));
        let statics: Vec<&str> = authorities.iter().filter_map(|a| a["static"]["action"].as_str()).collect();
        if statics.contains(&"pass") {
            self.note(format!(
                "{from}: a static pass authority admits every image the policy matches: no signature rule"
            ));
            return;
        }
        if statics.len() == authorities.len() {
            // Every authority fails: the images are refused.
            for (pattern, glob) in &patterns {
                self.push_reject(Rule::Image(pattern.clone()), format!("{from}: images glob {glob:?}, static fail"));
            }
            return;
        }
        let mut signers = Vec::new();
        for (i, authority) in authorities.iter().enumerate() {
            let at = format!("{from}, authorities[{i}]");
            if authority.get("static").is_some() {
                // A fail among alternatives never passes: nothing to add.
                continue;
            }
            if authority.get("attestations").is_some() {
                self.untranslatable.push(format!(
                    "{at}: attestations cannot be checked (no Kubewarden host capability returns them; see README, signatures)"
                ));
            }
            match authority_signers(authority) {
                Ok((found, why)) => {
                    if !why.is_empty() {
                        self.note(format!("{at}: {why}"));
                    }
                    signers.extend(found.into_iter().map(|s| (s, at.clone())));
                }
                Err(why) => self.untranslatable.push(format!("{at}: {why}")),
            }
        }
        if signers.len() > 1 {
            self.note(format!(
                "{from}: policy-controller admits an image one authority verifies; here every signer must have signed (stricter)"
            ));
        }
        for (pattern, glob) in &patterns {
            for (signer, at) in &signers {
                let mut rule = json!({"image": pattern});
                if let (Some(rule), Some(signer)) = (rule.as_object_mut(), signer.as_object()) {
                    rule.extend(signer.clone());
                }
                self.signatures.push(Entry { value: rule, comment: format!("{at}: images glob {glob:?}") });
            }
        }
    }

    /// policy-controller refuses an image no ClusterImagePolicy matches
    /// (its default `no-match-policy: deny`): the globs, all policies
    /// together, are one allow rule. A `*` matched one path component there
    /// and crosses `/` here: one component deeper is refused (stricter where
    /// a narrower `**` glob reached some of it), unless a `**` glob reaches
    /// all of it.
    pub(super) fn cip_allow_group(&mut self) {
        let globs = std::mem::take(&mut self.cip_globs);
        if globs.is_empty() {
            return;
        }
        // The rules below come from every ClusterImagePolicy together: no
        // one document's exemptions may cover them.
        self.doc = ALL_IMAGE_POLICIES;
        self.note(
            "ClusterImagePolicies: an image no policy matches is refused, as policy-controller's default no-match-policy: deny does; with warn or allow in its config-policy-controller ConfigMap, drop images.allow"
                .to_string(),
        );
        // A glob's literal start (up to its first `*`), for the `**` globs.
        let deep: Vec<&str> =
            globs.iter().filter(|g| g.glob.contains("**")).map(|g| g.glob.split('*').next().unwrap_or("")).collect();
        for Glob { pattern, glob, comment } in &globs {
            let start = glob.split('*').next().unwrap_or("");
            // Every image deeper under it is some `**` glob's.
            let reached = deep.iter().any(|other| start.starts_with(other));
            if reached || glob.contains("**") {
                continue;
            }
            let last = pattern.rsplit('/').next().unwrap_or(pattern);
            if pattern.rsplit_once('/').is_some_and(|(head, _)| head.contains('*')) {
                self.untranslatable.push(format!(
                    "{comment}: a * before the last path component matched one component, and here it would cross /: write the image pattern by hand"
                ));
            } else if pattern != "*:*/*" && last.contains('*') {
                self.push_reject(
                    Rule::Image(format!("{pattern}/*")),
                    format!("{comment}; its * matched one path component, so deeper images matched no policy"),
                );
            }
        }
        let origin = globs.first().map(|g| g.comment.clone()).unwrap_or_default();
        self.push_allow(&origin, globs.into_iter().map(|g| (Rule::Image(g.pattern), g.comment)).collect());
    }
}

/// A glob as an image pattern matching at least the same images: `**` and
/// `*` become `*` (which crosses `/`: more images verified, stricter).
pub(super) fn glob_pattern(glob: &str) -> String {
    let pattern = glob.replace("**", "*");
    if pattern == "*" || pattern == "*/*" { "*:*/*".to_string() } else { pattern }
}

/// One authority's signers (alternatives in policy-controller; every one is
/// required here), and what is stricter.
fn authority_signers(authority: &Value) -> Result<(Vec<Value>, String), String> {
    if let Some(key) = authority.get("key") {
        return match key["data"].as_str() {
            Some(data) => Ok((vec![json!({"pubKeys": [data]})], String::new())),
            None => Err(
                "a key in a Secret or a KMS (secretRef, kms) is not in the document: write its PEM as pubKeys by hand"
                    .into(),
            ),
        };
    }
    let Some(keyless) = authority.get("keyless") else {
        return Err("an authority that is neither key, keyless nor static".into());
    };
    if keyless["url"].as_str().is_some_and(|url| url.trim_end_matches('/') != FULCIO) {
        return Err(format!(
            "keyless.url {}: a private Fulcio, whose roots the Kubewarden host does not hold",
            keyless["url"]
        ));
    }
    for key in ["trustRootRef", "ca-cert", "insecureIgnoreSCT"] {
        if keyless.get(key).is_some() {
            return Err(format!("keyless.{key}: custom roots cannot be given to the Kubewarden host"));
        }
    }
    let identities = keyless["identities"].as_array().map(Vec::as_slice).unwrap_or_default();
    if identities.is_empty() {
        return Err("keyless without identities: any identity would do, which registry-guard cannot say".into());
    }
    let mut exact = Vec::new();
    let mut prefixes = Vec::new();
    for identity in identities {
        let issuer = identity["issuer"]
            .as_str()
            .map(str::to_string)
            .or_else(|| identity["issuerRegExp"].as_str().and_then(regexp_literal));
        let Some(issuer) = issuer else {
            return Err(format!(
                "issuer {}: a regular expression that is not one literal URL",
                identity_text(identity, "issuer")
            ));
        };
        if let Some(subject) = identity["subject"].as_str() {
            exact.push(json!({"issuer": issuer, "subject": subject}));
        } else if let Some(prefix) = identity["subjectRegExp"].as_str().and_then(regexp_prefix) {
            prefixes.push(json!({"issuer": issuer, "urlPrefix": prefix}));
        } else {
            return Err(format!(
                "subject {}: only a literal or ^<https URL prefix>.* can be written (keylessPrefix)",
                identity_text(identity, "subject")
            ));
        }
    }
    let why = if identities.len() > 1 {
        "its identities were alternatives; here each must have signed (stricter)".to_string()
    } else {
        String::new()
    };
    let mut out = Vec::new();
    if !exact.is_empty() {
        out.push(json!({"keyless": exact}));
    }
    if !prefixes.is_empty() {
        out.push(json!({"keylessPrefix": prefixes}));
    }
    Ok((out, why))
}

fn identity_text(identity: &Value, key: &str) -> String {
    identity
        .get(key)
        .or_else(|| identity.get(format!("{key}RegExp").as_str()))
        .map(Value::to_string)
        .unwrap_or_default()
}

/// A regular expression's text when it is one literal, anchored or not
/// (`^https://accounts\.google\.com$`).
fn regexp_literal(re: &str) -> Option<String> {
    let re = re.strip_prefix('^').unwrap_or(re);
    let re = re.strip_suffix('$').unwrap_or(re);
    unescape(re)
}

/// The literal prefix of `^<literal>.*` (`$` allowed), an https URL.
fn regexp_prefix(re: &str) -> Option<String> {
    let re = re.strip_prefix('^')?;
    let re = re.strip_suffix('$').unwrap_or(re);
    let literal = unescape(re.strip_suffix(".*")?)?;
    literal.starts_with("https://").then_some(literal)
}

/// A regular expression without metacharacters (`\.` allowed), as text.
fn unescape(re: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = re.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) if escaped.is_ascii_punctuation() => out.push(escaped),
                _ => return None,
            },
            '.' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '^' | '$' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_expressions_that_are_literals_or_prefixes() {
        assert_eq!(
            regexp_literal(r"^https://token\.actions\.githubusercontent\.com$").as_deref(),
            Some("https://token.actions.githubusercontent.com")
        );
        assert_eq!(regexp_prefix(r"^https://github\.com/acme/.*$").as_deref(), Some("https://github.com/acme/"));
        assert_eq!(regexp_prefix(r"^https://github\.com/acme/.*").as_deref(), Some("https://github.com/acme/"));
        assert_eq!(
            regexp_prefix(r"https://github\.com/acme/.*"),
            None,
            "unanchored: the subject may merely contain it"
        );
        assert_eq!(regexp_prefix(r"^https://github\.com/(acme|evil)/.*"), None);
        assert_eq!(regexp_literal(r"^https://.*\.example$"), None);
    }

    #[test]
    fn globs_become_patterns_that_match_at_least_as_much() {
        assert_eq!(glob_pattern("**"), "*:*/*");
        assert_eq!(glob_pattern("ghcr.io/acme/**"), "ghcr.io/acme/*");
        assert_eq!(glob_pattern("ghcr.io/acme/*"), "ghcr.io/acme/*");
    }
}
