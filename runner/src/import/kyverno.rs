//! Kyverno ClusterPolicy/Policy: `validate.pattern` image globs under
//! container lists, and `verifyImages`.
//!
//! Kyverno's meaning, from its documentation
//! (kyverno.io/docs/policy-types/cluster-policy/validate,
//! …/policy-settings, …/verify-images):
//! - a rule's `failureAction` (1.13+; `validate.failureAction`,
//!   `verifyImages[].failureAction`), else the policy's deprecated
//!   `validationFailureAction`, else **Audit**, the default: an Audit rule
//!   never blocks, it reports;
//! - `spec.admission: false` applies the rules in background scans only:
//!   it never blocks either;
//! - `validationFailureActionOverrides` switches the action per namespace;
//! - a pattern glob (`*` any run, `?` one character, `|` or, `!` not) is
//!   matched against the image string as written; a pattern array element
//!   applies to every element of the list.

use serde_json::{Value, json};

use super::{Entry, Imported, Rule, origin, strings};
use crate::manifests::Sourced;
use registry_guard::references::reference::looks_like_domain;

/// Whether a Kyverno action string enforces.
fn enforces(action: &str) -> bool {
    action.eq_ignore_ascii_case("enforce")
}

impl Imported {
    pub(super) fn kyverno(&mut self, sourced: &Sourced) {
        let from = origin(sourced);
        let spec = &sourced.value["spec"];
        let policy_action = spec["validationFailureAction"].as_str();
        let Some(rules) = spec["rules"].as_array() else {
            self.untranslatable.push(format!("{from}: no spec.rules"));
            return;
        };
        if spec.get("validationFailureActionOverrides").is_some() {
            self.untranslatable.push(format!(
                "{from}: validationFailureActionOverrides switches Enforce and Audit per namespace: registry-guard has \
                 one mode per policy; import the namespaces apart"
            ));
        }
        let background_only = spec["admission"] == false;
        for rule in rules {
            let name = rule["name"].as_str().unwrap_or("(unnamed)");
            let at = format!("{from}, rule {name}");
            for key in ["preconditions", "context"] {
                if rule.get(key).is_some() {
                    self.untranslatable.push(format!(
                        "{at}: {key} (JMESPath over the request) cannot be translated; the rule was imported as if they always held"
                    ));
                }
            }
            if rule["match"].to_string().contains("namespaces") || rule.get("exclude").is_some() {
                self.note(format!(
                    "{at} is scoped by match/exclude: scope registry-guard with the ClusterAdmissionPolicy's rules and namespaceSelector"
                ));
            }
            let validate = &rule["validate"];
            if validate.is_object() {
                let action = validate["failureAction"].as_str().or(policy_action);
                self.kyverno_action(&at, action, background_only);
            }
            if let Some(pattern) = validate.get("pattern") {
                self.kyverno_pattern(&at, pattern);
            }
            for key in ["anyPattern", "deny", "foreach", "cel", "podSecurity", "manifests"] {
                if validate.get(key).is_some() {
                    self.untranslatable.push(format!(
                        "{at}: validate.{key} cannot be translated (only validate.pattern image globs are)"
                    ));
                }
            }
            if rule.get("mutate").is_some() || rule.get("generate").is_some() {
                self.untranslatable.push(format!("{at}: mutate and generate rules are not image rules"));
            }
            if let Some(verify) = rule["verifyImages"].as_array() {
                for (i, item) in verify.iter().enumerate() {
                    let at = format!("{at}, verifyImages[{i}]");
                    let action = item["failureAction"].as_str().or(policy_action);
                    self.kyverno_action(&at, action, background_only);
                    self.kyverno_verify(&at, item);
                }
            }
        }
    }

    /// Enforce, or only reported: Audit (written, or the default), or a
    /// background-only policy.
    fn kyverno_action(&mut self, at: &str, action: Option<&str>, background_only: bool) {
        let monitored = match action {
            _ if background_only => Some(
                "spec.admission: false (Kyverno applies it in background scans only, never at admission)".to_string(),
            ),
            Some(action) if enforces(action) => None,
            Some(action) => Some(format!("failureAction {action} (Kyverno reports it, never blocks)")),
            None => Some("no failureAction: Kyverno's default, Audit, reports it, never blocks".to_string()),
        };
        if monitored.is_none() {
            self.note(format!(
                "{at}: validationFailureAction {} → deploy the ClusterAdmissionPolicy with mode: protect",
                action.unwrap_or("Enforce")
            ));
        }
        self.enforcement(at, monitored);
    }

    /// The image globs of a `validate.pattern`, under `containers`,
    /// `initContainers`, `ephemeralContainers` (anchors such as
    /// `=(initContainers)` allowed), at any depth (Pod controllers' autogen).
    fn kyverno_pattern(&mut self, at: &str, pattern: &Value) {
        let mut found: Vec<(&'static str, String)> = Vec::new();
        let mut refused = Vec::new();
        collect_images(pattern, &mut found, &mut refused);
        for key in refused {
            self.untranslatable.push(format!(
                "{at}: the anchor {key:?} says a container list must be absent (X) or that one element suffices (^): not an image rule registry-guard can write"
            ));
        }
        if found.is_empty() {
            self.untranslatable.push(format!("{at}: validate.pattern checks no container image"));
            return;
        }
        let lists: Vec<&str> = found.iter().map(|(l, _)| *l).collect();
        if !(lists.contains(&"initContainers") && lists.contains(&"ephemeralContainers")) {
            let mut checked = lists.clone();
            checked.sort_unstable();
            checked.dedup();
            self.note(format!(
                "{at} checked only {}: registry-guard checks init and ephemeral containers (and every other image) too",
                checked.join(", ")
            ));
        }
        let mut seen = Vec::new();
        for (_, glob) in found {
            if seen.contains(&glob) {
                continue;
            }
            seen.push(glob.clone());
            self.kyverno_glob(at, &glob);
        }
        if seen.len() > 1 {
            self.note(format!(
                "{at}: each container list had its own glob; here every image must pass all of them (stricter)"
            ));
        }
    }

    fn kyverno_glob(&mut self, at: &str, glob: &str) {
        let alternatives: Vec<&str> = glob.split('|').map(str::trim).collect();
        let negated = alternatives.iter().all(|a| a.starts_with('!'));
        if !negated && alternatives.iter().any(|a| a.starts_with('!')) {
            self.untranslatable.push(format!("{at}: {glob:?} mixes ! and plain alternatives"));
            return;
        }
        let mut rules = Vec::new();
        for alternative in alternatives {
            let plain = alternative.trim_start_matches('!');
            let comment = format!("{at}: {alternative:?}");
            if negated && matches!(plain, "*@*" | "*:*") {
                self.untranslatable.push(format!("{at}: {alternative:?} refuses every tagged or pinned image"));
                continue;
            }
            match kyverno_rule(plain) {
                // `*`: an alternative that matches every image.
                Ok(None) if negated => {
                    // `!*` refuses every image: a group with no alternative.
                    self.push_allow(at, Vec::new());
                    return;
                }
                Ok(None) => return,
                Ok(Some((rule, why))) => {
                    rules.push((rule, if why.is_empty() { comment } else { format!("{comment}; {why}") }))
                }
                // Left out: of an allow group, stricter; of the refusals,
                // listed (exit 1).
                Err(why) => self.untranslatable.push(format!("{at}: {alternative:?}: {why}")),
            }
        }
        if negated {
            // Kyverno's `!a | !b` is "not a, or not b"; refusing both is
            // stricter.
            for (rule, comment) in rules {
                let rule = match rule {
                    Rule::RejectTag(tag) => Rule::Tag(tag),
                    other => other,
                };
                self.push_reject(rule, comment);
            }
        } else {
            // `*:tag` as an image pattern, not `tags.allow`: Kyverno refused
            // an image pinned by digest alone (no `:tag` written), which
            // `tags.allow` lets through (it has no tag), and the pattern's
            // tag part does not.
            let rules: Vec<(Rule, String)> = rules
                .into_iter()
                .map(|(rule, comment)| match rule {
                    Rule::Tag(tag) => (Rule::Image(format!("*:*/*:{tag}")), comment),
                    other => (other, comment),
                })
                .collect();
            for (rule, comment) in &rules {
                if let Rule::Image(pattern) = rule
                    && let Some(pinned) = tag_then_digest(pattern)
                {
                    self.push_reject(
                        Rule::Image(pinned),
                        format!("{comment}; Kyverno's glob did not match the tag pinned to a digest (stricter for other rules)"),
                    );
                }
            }
            self.push_allow(at, rules);
        }
    }

    fn kyverno_verify(&mut self, at: &str, item: &Value) {
        let references = strings(&item["imageReferences"]);
        if references.is_empty() {
            self.untranslatable.push(format!("{at}: no imageReferences"));
            return;
        }
        if item.get("attestations").is_some() {
            self.untranslatable.push(format!(
                "{at}: attestations cannot be checked (no Kubewarden host capability returns them; see README, signatures)"
            ));
        }
        if item["required"] == false {
            self.note(format!(
                "{at}: required: false let unsigned images through; here every image a rule matches must be signed (stricter)"
            ));
        }
        let mutate = item["mutateDigest"].as_bool().unwrap_or(true);
        let previous = self.modify_with_digest.get_or_insert((mutate, format!("{at}: mutateDigest: {mutate}")));
        if previous.0 != mutate {
            self.untranslatable
                .push(format!("{at}: mutateDigest differs between verifyImages entries; one setting applies to all"));
        }
        if !mutate && item["verifyDigest"].as_bool().unwrap_or(true) {
            self.contributes();
            self.digests_require.get_or_insert(format!("{at}: verifyDigest without mutateDigest"));
        }
        let mut signers: Vec<(Value, String)> = Vec::new();
        let attestors = item["attestors"].as_array().map(Vec::as_slice).unwrap_or_default();
        if attestors.is_empty() {
            self.untranslatable.push(format!("{at}: no attestors: nothing says who must have signed"));
        }
        for attestor in attestors {
            let entries = attestor["entries"].as_array().cloned().unwrap_or_default();
            if attestor["count"].as_u64().is_some_and(|c| (c as usize) < entries.len()) {
                self.untranslatable.push(format!(
                    "{at}: attestors count {} of {}: registry-guard requires every signer of a rule",
                    attestor["count"],
                    entries.len()
                ));
                continue;
            }
            for entry in entries {
                if let Some(keys) = entry["keys"]["publicKeys"].as_str() {
                    for key in pem_blocks(keys) {
                        signers.push((json!({"pubKeys": [key]}), "keys.publicKeys".into()));
                    }
                } else if let Some(keyless) = entry.get("keyless") {
                    match (keyless["issuer"].as_str(), keyless["subject"].as_str()) {
                        (Some(issuer), Some(subject)) if keyless.get("roots").is_none() => signers.push((
                            json!({"keyless": [{"issuer": issuer, "subject": subject}]}),
                            format!("keyless {subject}"),
                        )),
                        _ => self.untranslatable.push(format!(
                            "{at}: a keyless entry with a regular expression, custom roots or no issuer and subject"
                        )),
                    }
                } else {
                    self.untranslatable
                        .push(format!("{at}: an attestor entry that is neither keys.publicKeys nor keyless"));
                }
            }
        }
        for reference in references {
            let image = if reference == "*" { "*:*/*".to_string() } else { reference.to_string() };
            for (signer, what) in &signers {
                let mut rule = json!({"image": image});
                if let (Some(rule), Some(signer)) = (rule.as_object_mut(), signer.as_object()) {
                    rule.extend(signer.clone());
                }
                self.signatures.push(Entry { value: rule, comment: format!("{at}: {reference:?}, {what}") });
            }
        }
    }
}

/// The PEM blocks of a text (Kyverno's `publicKeys` may hold several).
fn pem_blocks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        current.push_str(line);
        current.push('\n');
        if line.starts_with("-----END") {
            out.push(std::mem::take(&mut current));
        }
    }
    out
}

/// The image strings of a Kyverno pattern, with the container list each
/// stands under; container lists under an `X(…)` (must be absent) or `^(…)`
/// (one element suffices) anchor go to `refused`.
fn collect_images(value: &Value, out: &mut Vec<(&'static str, String)>, refused: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let bare =
                    key.trim_start_matches(['=', 'X', '^', '+', '<']).trim_start_matches('(').trim_end_matches(')');
                let list = match bare {
                    "containers" => Some("containers"),
                    "initContainers" => Some("initContainers"),
                    "ephemeralContainers" => Some("ephemeralContainers"),
                    _ => None,
                };
                match (list, child) {
                    (Some(_), _) if key.starts_with("X(") || key.starts_with("^(") => refused.push(key.clone()),
                    (Some(list), Value::Array(items)) => {
                        for item in items {
                            if let Some(image) = item.get("image").and_then(Value::as_str) {
                                out.push((list, image.to_string()));
                            }
                        }
                    }
                    _ => collect_images(child, out, refused),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_images(i, out, refused)),
        _ => {}
    }
}

/// One Kyverno image glob (no `!`, no `|`): the rule, and what differs;
/// `None` when it constrains nothing (`*`).
pub(super) fn kyverno_rule(glob: &str) -> Result<Option<(Rule, String)>, String> {
    const AS_WRITTEN: &str = "Kyverno matched the string as written (GCR.IO/x, gcr.io:443/x, index.docker.io/… did not match); here every spelling of the registry does";
    if glob == "*" || glob == "?*" || glob == "*?*" {
        return Ok(None);
    }
    if glob == "*@*" {
        return Ok(Some((Rule::Digest, String::new())));
    }
    if glob == "*:*" {
        return Ok(Some((
            Rule::RejectTag("latest".into()),
            "Kyverno required a written tag; here an image without one is :latest, and :latest itself is refused too (stricter)".into(),
        )));
    }
    if let Some(tag) = glob.strip_prefix("*:") {
        return Ok(Some((Rule::Tag(tag.to_string()), String::new())));
    }
    let Some((first, rest)) = glob.split_once('/') else {
        return Err("a name without a registry: write it as an image pattern by hand".into());
    };
    if !looks_like_domain(first) && !first.starts_with("*.") {
        return Err("the registry part is not a host (a pattern over any registry cannot be read safely)".into());
    }
    if first.contains('*') && !first.starts_with("*.") {
        return Err("a wildcard inside the registry host".into());
    }
    if rest == "*" {
        return Ok(Some((Rule::Registry(first.to_string()), AS_WRITTEN.into())));
    }
    // Kyverno matched the whole string: a glob that does not end in `*`
    // and names no tag matched only the image without one, its `:latest`
    // (the pattern alone would match every tag).
    let last = rest.rsplit('/').next().unwrap_or(rest);
    if !glob.ends_with('*') && !glob.contains('@') && !last.contains(':') {
        return Ok(Some((
            Rule::Image(format!("{glob}:latest")),
            "Kyverno matched the string without a tag only, that is :latest".into(),
        )));
    }
    Ok(Some((Rule::Image(glob.to_string()), String::new())))
}

/// An allowed image pattern that names a tag and ends there (`*:latest`,
/// `quay.io/app:1`) also matches that tag pinned to a digest, whose content
/// is the digest's: Kyverno's glob did not (the string ends in the digest).
fn tag_then_digest(pattern: &str) -> Option<String> {
    let last = pattern.rsplit('/').next().unwrap_or(pattern);
    (last.contains(':') && !pattern.ends_with('*') && !pattern.contains('@')).then(|| format!("{pattern}@*"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kyverno_globs_read_safely() {
        assert_eq!(kyverno_rule("*").unwrap(), None);
        assert_eq!(kyverno_rule("*@*").unwrap().unwrap().0, Rule::Digest);
        assert_eq!(kyverno_rule("*:*").unwrap().unwrap().0, Rule::RejectTag("latest".into()));
        assert_eq!(kyverno_rule("*:latest").unwrap().unwrap().0, Rule::Tag("latest".into()));
        assert_eq!(kyverno_rule("gcr.io/*").unwrap().unwrap().0, Rule::Registry("gcr.io".into()));
        assert_eq!(kyverno_rule("*.corp.example/*").unwrap().unwrap().0, Rule::Registry("*.corp.example".into()));
        assert_eq!(kyverno_rule("gcr.io/team/*").unwrap().unwrap().0, Rule::Image("gcr.io/team/*".into()));
        assert!(kyverno_rule("*/library/*").unwrap_err().contains("not a host"));
        assert!(kyverno_rule("nginx*").unwrap_err().contains("without a registry"));
        assert!(kyverno_rule("gcr*.io/*").unwrap_err().contains("wildcard inside the registry"));
    }

    #[test]
    fn pem_blocks_are_split() {
        let text = "-----BEGIN PUBLIC KEY-----\na\n-----END PUBLIC KEY-----\n-----BEGIN PUBLIC KEY-----\nb\n-----END PUBLIC KEY-----";
        assert_eq!(pem_blocks(text).len(), 2);
    }
}
