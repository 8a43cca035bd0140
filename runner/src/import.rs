//! `registry-guard import FILE...`: image rules written for other engines,
//! printed as registry-guard settings, each rule with a comment saying where
//! it came from and, where the source's meaning was unsafe or differs, what
//! the safe reading is.
//!
//! Read: Kyverno ClusterPolicy/Policy (`validate.pattern` image globs under
//! container lists, `verifyImages`), Gatekeeper constraints
//! (K8sAllowedRepos, K8sDisallowedRepos, K8sDisallowedTags, K8sImageDigests,
//! with `exemptImages`), OpenShift (`image.config.openshift.io/v1` Image:
//! `allowedRegistriesForImport`, `registrySources`; a master config's
//! `imagePolicyConfig.allowedRegistriesForImport`), and Kubewarden
//! trusted-repos and verify-image-signatures settings (their keys, which
//! registry-guard reads the same way). Everything else that is found
//! (JMESPath conditions, preconditions, CEL, `anyPattern`, regular
//! expressions…) is listed as untranslatable, with the reason.
//!
//! Several sources are merged: allow lists are joined (an image any source
//! allows is allowed), which the output says when it happens.

use serde_json::{Value, json};

use crate::manifests::Sourced;
use registry_guard::references::reference::looks_like_domain;

/// A setting with where it came from.
#[derive(Debug, Clone)]
struct Entry {
    value: Value,
    comment: String,
}

/// The settings being built, list by list.
#[derive(Debug, Default)]
pub struct Imported {
    registries_allow: Vec<Entry>,
    registries_reject: Vec<Entry>,
    images_allow: Vec<Entry>,
    images_reject: Vec<Entry>,
    tags_allow: Vec<Entry>,
    tags_reject: Vec<Entry>,
    digests_require: Option<String>,
    exempt: Vec<Entry>,
    signatures: Vec<Entry>,
    modify_with_digest: Option<(bool, String)>,
    /// Notes for the top of the output (modes, scopes, merges).
    pub notes: Vec<String>,
    /// What could not be translated, and why.
    pub untranslatable: Vec<String>,
    /// The sources read.
    sources: Vec<String>,
}

/// Where a rule came from: `file#2 ClusterPolicy restrict-image-registries`.
fn origin(sourced: &Sourced) -> String {
    let kind = sourced.value["kind"].as_str().unwrap_or("settings");
    let name = sourced.value["metadata"]["name"].as_str().map(|n| format!(" {n}")).unwrap_or_default();
    format!("{}#{} {kind}{name}", sourced.source, sourced.index)
}

fn strings(value: &Value) -> Vec<&str> {
    value.as_array().map(|items| items.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// Docker Hub's names, which registry-guard reads as one registry.
fn is_docker_hub(host: &str) -> bool {
    matches!(host.to_ascii_lowercase().as_str(), "docker.io" | "index.docker.io" | "registry-1.docker.io")
}

/// Every image of a registry, as an image pattern.
fn registry_as_image(host: &str) -> String {
    if is_docker_hub(host) { "docker.io/*/*".to_string() } else { format!("{host}/*") }
}

/// What one image rule of another engine means here.
#[derive(Debug, Clone, PartialEq)]
enum Rule {
    Registry(String),
    Image(String),
    Tag(String),
    /// A tag refused whatever the rule's negation (`*:*` → no `latest`).
    RejectTag(String),
    Digest,
}

impl Imported {
    pub fn read(documents: &[Sourced]) -> Imported {
        let mut out = Imported::default();
        for sourced in documents {
            let value = &sourced.value;
            let api_version = value["apiVersion"].as_str().unwrap_or_default();
            let kind = value["kind"].as_str().unwrap_or_default();
            let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
            out.sources.push(origin(sourced));
            match (group, kind) {
                (g, "ClusterPolicy" | "Policy") if g.starts_with("kyverno.io") => out.kyverno(sourced),
                (g, "PolicyException") if g.starts_with("kyverno.io") => out.untranslatable.push(format!(
                    "{}: a Kyverno PolicyException exempts objects (by kind, name, namespace), not images: scope \
                     registry-guard with the ClusterAdmissionPolicy's rules, namespaceSelector or objectSelector; \
                     exempt images with exemptImages",
                    origin(sourced)
                )),
                ("constraints.gatekeeper.sh", _) => out.gatekeeper(sourced),
                ("config.openshift.io", "Image") => out.openshift_image(sourced),
                _ if value.get("imagePolicyConfig").is_some() => out.openshift_master(sourced),
                ("", "") if value.is_object() => out.kubewarden_settings(sourced),
                _ => out
                    .untranslatable
                    .push(format!("{}: not an image policy registry-guard can import", origin(sourced))),
            }
        }
        out
    }

    fn push(&mut self, rule: Rule, negated: bool, comment: String) {
        let (list, value) = match (rule, negated) {
            (Rule::Registry(host), false) => (&mut self.registries_allow, host),
            (Rule::Registry(host), true) => (&mut self.registries_reject, host),
            (Rule::Image(image), false) => (&mut self.images_allow, image),
            (Rule::Image(image), true) => (&mut self.images_reject, image),
            (Rule::Tag(tag), false) => (&mut self.tags_allow, tag),
            (Rule::Tag(tag), true) | (Rule::RejectTag(tag), _) => (&mut self.tags_reject, tag),
            (Rule::Digest, _) => {
                self.digests_require.get_or_insert(comment);
                return;
            }
        };
        if !list.iter().any(|e| e.value == value) {
            list.push(Entry { value: Value::String(value), comment });
        }
    }

    /// Allow rules that mix registries and images are all written as image
    /// patterns: registry-guard's sections must each pass, so `gcr.io` in
    /// registries.allow beside `docker.io/library/nginx` in images.allow
    /// would refuse both.
    fn push_alternatives(&mut self, rules: Vec<(Rule, String)>, negated: bool) {
        let mixed = !negated
            && rules.iter().any(|(r, _)| matches!(r, Rule::Registry(_)))
            && rules.iter().any(|(r, _)| matches!(r, Rule::Image(_)));
        for (rule, comment) in rules {
            let rule = match rule {
                Rule::Registry(host) if mixed => Rule::Image(registry_as_image(&host)),
                other => other,
            };
            self.push(rule, negated, comment);
        }
    }

    // --- Kyverno ---------------------------------------------------------

    fn kyverno(&mut self, sourced: &Sourced) {
        let from = origin(sourced);
        let spec = &sourced.value["spec"];
        let action = spec["validationFailureAction"].as_str().or_else(|| spec["failureAction"].as_str());
        let Some(rules) = spec["rules"].as_array() else {
            self.untranslatable.push(format!("{from}: no spec.rules"));
            return;
        };
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
                self.notes.push(format!(
                    "{at} is scoped by match/exclude: scope registry-guard with the ClusterAdmissionPolicy's rules and namespaceSelector"
                ));
            }
            let validate = &rule["validate"];
            let rule_action = validate["failureAction"].as_str().or(action);
            if let Some(action) = rule_action.filter(|_| validate.is_object()) {
                let mode = if action.eq_ignore_ascii_case("enforce") { "protect" } else { "monitor" };
                let note = format!(
                    "{at}: validationFailureAction {action} → deploy the ClusterAdmissionPolicy with mode: {mode}"
                );
                if !self.notes.contains(&note) {
                    self.notes.push(note);
                }
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
                    self.kyverno_verify(&format!("{at}, verifyImages[{i}]"), item);
                }
            }
        }
    }

    /// The image globs of a `validate.pattern`, under `containers`,
    /// `initContainers`, `ephemeralContainers` (anchors such as
    /// `=(initContainers)` allowed), at any depth (Pod controllers' autogen).
    fn kyverno_pattern(&mut self, at: &str, pattern: &Value) {
        let mut found: Vec<(&'static str, String)> = Vec::new();
        collect_images(pattern, &mut found);
        if found.is_empty() {
            self.untranslatable.push(format!("{at}: validate.pattern checks no container image"));
            return;
        }
        let lists: Vec<&str> = found.iter().map(|(l, _)| *l).collect();
        if !(lists.contains(&"initContainers") && lists.contains(&"ephemeralContainers")) {
            let mut checked = lists.clone();
            checked.sort_unstable();
            checked.dedup();
            self.notes.push(format!(
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
                Ok(None) => {}
                Ok(Some((rule, why))) => {
                    rules.push((rule, if why.is_empty() { comment } else { format!("{comment}; {why}") }))
                }
                Err(why) => self.untranslatable.push(format!("{at}: {alternative:?}: {why}")),
            }
        }
        self.push_alternatives(rules, negated);
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
        let mutate = item["mutateDigest"].as_bool().unwrap_or(true);
        let previous = self.modify_with_digest.get_or_insert((mutate, format!("{at}: mutateDigest: {mutate}")));
        if previous.0 != mutate {
            self.untranslatable
                .push(format!("{at}: mutateDigest differs between verifyImages entries; one setting applies to all"));
        }
        if !mutate && item["verifyDigest"].as_bool().unwrap_or(true) {
            self.digests_require.get_or_insert(format!("{at}: verifyDigest without mutateDigest"));
        }
        let mut signers: Vec<(Value, String)> = Vec::new();
        for attestor in item["attestors"].as_array().into_iter().flatten() {
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

    // --- Gatekeeper ------------------------------------------------------

    fn gatekeeper(&mut self, sourced: &Sourced) {
        let from = origin(sourced);
        let parameters = &sourced.value["spec"]["parameters"];
        let kind = sourced.value["kind"].as_str().unwrap_or_default();
        match kind {
            "K8sAllowedRepos" | "K8sDisallowedRepos" => {
                let negated = kind == "K8sDisallowedRepos";
                let mut rules = Vec::new();
                for repo in strings(&parameters["repos"]) {
                    match gatekeeper_prefix(repo, negated) {
                        Ok((rule, why)) => rules.push((rule, format!("{from}: repos {repo:?}{why}"))),
                        Err(why) => self.untranslatable.push(format!("{from}: repos {repo:?}: {why}")),
                    }
                }
                self.push_alternatives(rules, negated);
            }
            "K8sDisallowedTags" => {
                for tag in strings(&parameters["tags"]) {
                    self.push(Rule::Tag(tag.to_string()), true, format!("{from}: tags {tag:?}"));
                }
            }
            "K8sImageDigests" => self.push(Rule::Digest, false, from.clone()),
            other => {
                self.untranslatable
                    .push(format!("{from}: {other} is not an image constraint registry-guard can import"));
                return;
            }
        }
        for image in strings(&parameters["exemptImages"]) {
            self.exempt.push(Entry {
                value: Value::String(image.to_string()),
                comment: format!("{from}: exemptImages; here it exempts from every registries, images, tags and digests rule, not only this constraint's"),
            });
        }
    }

    // --- OpenShift -------------------------------------------------------

    fn openshift_image(&mut self, sourced: &Sourced) {
        let from = origin(sourced);
        let spec = &sourced.value["spec"];
        self.allowed_for_import(&from, &spec["allowedRegistriesForImport"]);
        let sources = &spec["registrySources"];
        for (key, negated) in [("allowedRegistries", false), ("blockedRegistries", true)] {
            let mut rules = Vec::new();
            for entry in strings(&sources[key]) {
                let rule = match entry.split_once('/') {
                    Some(_) => Rule::Image(format!("{entry}/*")),
                    None => Rule::Registry(entry.to_string()),
                };
                rules.push((rule, format!("{from}: registrySources.{key} {entry:?}")));
            }
            self.push_alternatives(rules, negated);
        }
        if sources.get("insecureRegistries").is_some() {
            self.notes
                .push(format!("{from}: registrySources.insecureRegistries says how to pull, not what: not imported"));
        }
    }

    fn openshift_master(&mut self, sourced: &Sourced) {
        let from = origin(sourced);
        self.allowed_for_import(&from, &sourced.value["imagePolicyConfig"]["allowedRegistriesForImport"]);
    }

    /// `allowedRegistriesForImport: [{domainName, insecure}]`: port 443, or 80
    /// when insecure, unless the domain names a port.
    fn allowed_for_import(&mut self, from: &str, list: &Value) {
        let Some(items) = list.as_array() else { return };
        for item in items {
            let Some(domain) = item["domainName"].as_str() else {
                self.untranslatable.push(format!("{from}: allowedRegistriesForImport entry without domainName"));
                continue;
            };
            let insecure = item["insecure"].as_bool().unwrap_or(false);
            let has_port = domain.rsplit_once(':').is_some_and(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()));
            let host = if has_port || !insecure { domain.to_string() } else { format!("{domain}:80") };
            let why = if insecure && !has_port { " (insecure: port 80)" } else { "" };
            self.push(
                Rule::Registry(host),
                false,
                format!("{from}: allowedRegistriesForImport {domain:?}{why}; OpenShift applies it to image imports, registry-guard to every image"),
            );
        }
    }

    // --- Kubewarden settings ---------------------------------------------

    fn kubewarden_settings(&mut self, sourced: &Sourced) {
        let from = origin(sourced);
        let value = &sourced.value;
        if let Err(errors) = registry_guard::settings::check_json(value.to_string().as_bytes()) {
            self.untranslatable
                .push(format!("{from}: not valid trusted-repos or verify-image-signatures settings: {errors}"));
            return;
        }
        // Through `push`, as every other source: the same lists, no duplicates.
        type MakeRule = fn(String) -> Rule;
        let rules: [(&str, MakeRule); 3] =
            [("registries", Rule::Registry), ("images", Rule::Image), ("tags", Rule::Tag)];
        for (section, rule) in rules {
            for (list, negated) in [("allow", false), ("reject", true)] {
                for entry in strings(&value[section][list]) {
                    self.push(rule(entry.to_string()), negated, format!("{from}: {section}.{list}"));
                }
            }
        }
        for signature in value["signatures"].as_array().into_iter().flatten() {
            self.signatures.push(Entry { value: signature.clone(), comment: format!("{from}: signatures") });
        }
        if let Some(modify) = value["modifyImagesWithDigest"].as_bool() {
            self.modify_with_digest = Some((modify, format!("{from}: modifyImagesWithDigest")));
        }
        if value["digests"]["require"].as_bool() == Some(true) {
            self.digests_require.get_or_insert(format!("{from}: digests.require"));
        }
    }

    // --- Output ----------------------------------------------------------

    /// The settings as JSON (what the host sends the policy).
    pub fn settings(&self) -> Value {
        let mut out = serde_json::Map::new();
        let values = |entries: &[Entry]| Value::Array(entries.iter().map(|e| e.value.clone()).collect());
        for (section, allow, reject) in [
            ("registries", &self.registries_allow, &self.registries_reject),
            ("images", &self.images_allow, &self.images_reject),
            ("tags", &self.tags_allow, &self.tags_reject),
        ] {
            let mut map = serde_json::Map::new();
            if !allow.is_empty() {
                map.insert("allow".into(), values(allow));
            }
            if !reject.is_empty() {
                map.insert("reject".into(), values(reject));
            }
            if !map.is_empty() {
                out.insert(section.into(), Value::Object(map));
            }
        }
        if self.digests_require.is_some() {
            out.insert("digests".into(), json!({"require": true}));
        }
        if !self.exempt.is_empty() {
            out.insert("exemptImages".into(), values(&self.exempt));
        }
        if !self.signatures.is_empty() {
            out.insert("signatures".into(), values(&self.signatures));
        }
        if let Some((modify, _)) = &self.modify_with_digest {
            out.insert("modifyImagesWithDigest".into(), json!(modify));
        }
        Value::Object(out)
    }

    /// The settings as commented YAML.
    pub fn yaml(&self) -> String {
        let mut out = String::from("# registry-guard settings, imported by `registry-guard import` from:\n");
        for source in &self.sources {
            out.push_str(&format!("#   {source}\n"));
        }
        for note in &self.notes {
            out.push_str(&format!("# NOTE: {note}\n"));
        }
        let list = |out: &mut String, indent: &str, entries: &[Entry]| {
            for entry in entries {
                out.push_str(&format!("{indent}# {}\n{indent}- {}\n", one_line(&entry.comment), entry.value));
            }
        };
        for (section, allow, reject) in [
            ("registries", &self.registries_allow, &self.registries_reject),
            ("images", &self.images_allow, &self.images_reject),
            ("tags", &self.tags_allow, &self.tags_reject),
        ] {
            if allow.is_empty() && reject.is_empty() {
                continue;
            }
            out.push_str(&format!("{section}:\n"));
            for (name, entries) in [("allow", allow), ("reject", reject)] {
                if !entries.is_empty() {
                    out.push_str(&format!("  {name}:\n"));
                    list(&mut out, "    ", entries);
                }
            }
        }
        if let Some(comment) = &self.digests_require {
            out.push_str(&format!("digests:\n  # {}\n  require: true\n", one_line(comment)));
        }
        if !self.exempt.is_empty() {
            out.push_str("exemptImages:\n");
            list(&mut out, "  ", &self.exempt);
        }
        if !self.signatures.is_empty() {
            out.push_str("signatures:\n");
            list(&mut out, "  ", &self.signatures);
        }
        if let Some((modify, comment)) = &self.modify_with_digest {
            out.push_str(&format!("# {}\nmodifyImagesWithDigest: {modify}\n", one_line(comment)));
        }
        out
    }
}

fn one_line(text: &str) -> String {
    text.replace('\n', " ")
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
/// stands under.
fn collect_images(value: &Value, out: &mut Vec<(&'static str, String)>) {
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
                    (Some(list), Value::Array(items)) => {
                        for item in items {
                            if let Some(image) = item.get("image").and_then(Value::as_str) {
                                out.push((list, image.to_string()));
                            }
                        }
                    }
                    _ => collect_images(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_images(i, out)),
        _ => {}
    }
}

/// One Kyverno image glob (no `!`, no `|`): the rule, and what differs;
/// `None` when it constrains nothing (`*`).
fn kyverno_rule(glob: &str) -> Result<Option<(Rule, String)>, String> {
    const AS_WRITTEN: &str = "Kyverno matched the string as written (GCR.IO/x, gcr.io:443/x, index.docker.io/… did not match); here every spelling of the registry does";
    if glob == "*" || glob == "?*" {
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
    Ok(Some((Rule::Image(glob.to_string()), String::new())))
}

/// A Gatekeeper repo prefix: the rule, and what the prefix meant that the
/// safe reading does not.
fn gatekeeper_prefix(repo: &str, negated: bool) -> Result<(Rule, String), String> {
    let (first, rest) = match repo.split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (repo, None),
    };
    let loose = |example: String| {
        if negated {
            format!("; Gatekeeper's prefix also refused {example}: refuse those by name if you meant to")
        } else {
            format!("; Gatekeeper's prefix also admitted {example}: not here")
        }
    };
    if !looks_like_domain(first) {
        return match rest {
            // A Docker Hub namespace prefix: `myorg/`.
            Some("") => Ok((Rule::Image(format!("docker.io/{first}/*")), String::new())),
            None => Ok((
                Rule::Image(format!("docker.io/library/{first}")),
                loose(format!("{first}-evil:1 and {first}evil/x")),
            )),
            Some(_) => Err("a Docker Hub path prefix: write it as an image pattern by hand".into()),
        };
    }
    match rest {
        None => Ok((Rule::Registry(first.to_string()), loose(format!("{first}.evil.com/x")))),
        Some("") => Ok((Rule::Registry(first.to_string()), String::new())),
        Some(path) if path.ends_with('/') => Ok((Rule::Image(format!("{first}/{path}*")), String::new())),
        Some(path) => Ok((Rule::Image(format!("{first}/{path}/*")), loose(format!("{first}/{path}-evil/x")))),
    }
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
    fn gatekeeper_prefixes_read_safely() {
        let rule = |repo| gatekeeper_prefix(repo, false).unwrap();
        assert_eq!(rule("gcr.io/").0, Rule::Registry("gcr.io".into()));
        let (bare, why) = rule("gcr.io");
        assert_eq!(bare, Rule::Registry("gcr.io".into()));
        assert!(why.contains("also admitted gcr.io.evil.com/x"));
        assert_eq!(rule("gcr.io/team/").0, Rule::Image("gcr.io/team/*".into()));
        let (path, why) = rule("gcr.io/team");
        assert_eq!(path, Rule::Image("gcr.io/team/*".into()));
        assert!(why.contains("gcr.io/team-evil/x"));
        assert_eq!(rule("openpolicyagent/").0, Rule::Image("docker.io/openpolicyagent/*".into()));
        assert_eq!(rule("nginx").0, Rule::Image("docker.io/library/nginx".into()));
        assert!(gatekeeper_prefix("gcr.io", true).unwrap().1.contains("also refused"));
        assert!(gatekeeper_prefix("library/ngi", false).is_err());
    }

    #[test]
    fn pem_blocks_are_split() {
        let text = "-----BEGIN PUBLIC KEY-----\na\n-----END PUBLIC KEY-----\n-----BEGIN PUBLIC KEY-----\nb\n-----END PUBLIC KEY-----";
        assert_eq!(pem_blocks(text).len(), 2);
    }
}
