//! Gatekeeper constraints of the gatekeeper-library's general templates:
//! K8sAllowedRepos, K8sDisallowedRepos, K8sDisallowedTags, K8sImageDigests.
//!
//! Gatekeeper's meaning, from the library's Rego
//! (open-policy-agent/gatekeeper-library at 5c441fb6,
//! library/general/*/template.yaml)
//! and the violations documentation
//! (open-policy-agent.github.io/gatekeeper/website/docs/violations):
//! - K8sAllowedRepos: a container whose image starts with none of `repos`
//!   is refused (`not strings.any_prefix_match(image, repos)`), so an empty,
//!   missing or `null` `repos` refuses every container; an empty string
//!   prefix admits every image. Its template has no `exemptImages`.
//! - K8sDisallowedRepos: an image starting with one of `repos` is refused;
//!   an empty or missing list refuses nothing. No `exemptImages` either.
//! - K8sDisallowedTags: an image ending in `:<tag>` for one of `tags` is
//!   refused, and so is an image whose last path component has no `:` (no
//!   tag written: `nginx`, `localhost:5000/app`), whatever `tags` holds.
//! - K8sImageDigests: an image without `@algorithm:hex` is refused.
//! - `exemptImages` (DisallowedTags, ImageDigests): a string ending in `*`
//!   exempts every image starting with the rest; any other exempts that
//!   exact string; from that constraint only.
//! - `enforcementAction`: `deny` (the default) refuses; `dryrun` only
//!   records the violation for audit; `warn` admits with a warning;
//!   `scoped` takes per-enforcement-point actions from
//!   `scopedEnforcementActions`.

use super::{Admits, Exemption, Imported, Rule, origin, registry_as_image, strings};
use crate::manifests::Sourced;
use registry_guard::references::reference::looks_like_domain;

impl Imported {
    pub(super) fn gatekeeper(&mut self, sourced: &Sourced) {
        let from = origin(sourced);
        let spec = &sourced.value["spec"];
        let parameters = &spec["parameters"];
        let kind = sourced.value["kind"].as_str().unwrap_or_default();
        if !matches!(kind, "K8sAllowedRepos" | "K8sDisallowedRepos" | "K8sDisallowedTags" | "K8sImageDigests") {
            self.untranslatable.push(format!("{from}: {kind} is not an image constraint registry-guard can import"));
            return;
        }
        let reporting = [
            ("dryrun", "Gatekeeper only records the violation for audit"),
            ("warn", "Gatekeeper admits the object with a warning"),
        ];
        self.mode(&from, "enforcementAction", spec["enforcementAction"].as_str(), "deny", &reporting);
        let scoped = ["namespaces", "excludedNamespaces", "labelSelector", "namespaceSelector", "name"];
        if scoped.iter().any(|key| spec["match"].get(key).is_some()) {
            self.note(format!(
                "{from} is scoped by spec.match: scope registry-guard with the ClusterAdmissionPolicy's rules, namespaceSelector and objectSelector"
            ));
        }
        match kind {
            "K8sAllowedRepos" => self.allowed_repos(&from, &parameters["repos"]),
            "K8sDisallowedRepos" => {
                for repo in strings(&parameters["repos"]) {
                    for (rule, why) in refused_prefix(repo) {
                        self.push_reject(rule, format!("{from}: repos {repo:?}{why}"));
                    }
                    if repo.is_empty() {
                        self.push_allow(&from, Vec::new());
                    }
                }
            }
            "K8sDisallowedTags" => {
                for tag in strings(&parameters["tags"]) {
                    self.push_reject(Rule::Tag(tag.to_string()), format!("{from}: tags {tag:?}"));
                }
                self.push_reject(
                    Rule::RejectTag("latest".into()),
                    format!(
                        "{from}: Gatekeeper refuses an image with no tag written; here such an image is :latest, and :latest itself is refused too (stricter)"
                    ),
                );
            }
            _ => self.push_reject(Rule::Digest, from.clone()),
        }
        let exempt = strings(&parameters["exemptImages"]);
        if matches!(kind, "K8sAllowedRepos" | "K8sDisallowedRepos") {
            if !exempt.is_empty() {
                self.note(format!(
                    "{from}: exemptImages is not a parameter of {kind} (gatekeeper-library's template has none): Gatekeeper ignores it, and so does import"
                ));
            }
            return;
        }
        self.admits(Admits::Exempted(exempt.iter().map(|e| e.to_string()).collect()));
        for literal in exempt {
            self.exemptions.push(Exemption {
                literal: literal.to_string(),
                pattern: exemption_pattern(literal),
                comment: format!("{from}: exemptImages {literal:?}"),
                doc: self.doc,
            });
        }
    }

    /// K8sAllowedRepos: one group of alternatives; none (an empty, missing
    /// or `null` list) allows nothing, as Gatekeeper's Rego reads it.
    fn allowed_repos(&mut self, from: &str, repos: &serde_json::Value) {
        if !repos.is_array() {
            self.note(format!(
                "{from}: repos is missing or null: Gatekeeper finds no allowed prefix for any image and refuses every container; so does this"
            ));
        }
        let prefixes: Vec<String> = strings(repos).iter().map(|r| r.to_string()).collect();
        self.admits(Admits::Prefixes(prefixes.clone()));
        if prefixes.iter().any(String::is_empty) {
            // The empty prefix starts every image.
            return;
        }
        let mut rules = Vec::new();
        for repo in &prefixes {
            match allowed_prefix(repo) {
                Ok((rule, why)) => rules.push((rule, format!("{from}: repos {repo:?}{why}"))),
                // Left out of the alternatives: stricter, and listed.
                Err(why) => self.untranslatable.push(format!("{from}: repos {repo:?}: {why}")),
            }
        }
        self.push_allow(from, rules);
    }
}

/// An allowed Gatekeeper repo prefix: the rule, and what the prefix also
/// admitted that the rule does not (the safe reading is narrower).
pub(super) fn allowed_prefix(repo: &str) -> Result<(Rule, String), String> {
    let (first, rest) = match repo.split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (repo, None),
    };
    let loose = |example: String| format!("; Gatekeeper's prefix also admitted {example}: not here");
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

/// A refused Gatekeeper repo prefix: rules that refuse at least every image
/// string starting with it (every spelling of those images too), and what
/// they refuse besides.
pub(super) fn refused_prefix(repo: &str) -> Vec<(Rule, String)> {
    if repo.is_empty() {
        // Every image: the caller adds a group that allows nothing.
        return Vec::new();
    }
    match repo.split_once('/') {
        // `gcr.io/`, `myorg/`: a registry, or a Docker Hub namespace.
        Some((first, "")) if looks_like_domain(first) => vec![(Rule::Registry(first.to_string()), String::new())],
        Some((first, "")) => vec![(Rule::Image(format!("docker.io/{first}/*")), String::new())],
        // `gcr.io/team`, `gcr.io/team/app:1`: every image whose string goes on.
        Some(_) => vec![(Rule::Image(format!("{repo}*")), format!("; as Gatekeeper's prefix, also {repo}-anything"))],
        // `gcr.io`, `nginx`: hosts that start with it (on any port), and
        // Docker Hub names that do.
        None => vec![
            (
                Rule::Registry(format!("{repo}*:*")),
                format!("; as Gatekeeper's prefix: every registry whose name starts with {repo:?}, on any port"),
            ),
            (
                Rule::Image(format!("docker.io/{repo}*")),
                format!("; as Gatekeeper's prefix: official Docker Hub images starting with {repo:?}"),
            ),
            (
                Rule::Image(format!("docker.io/{repo}*/*")),
                format!("; as Gatekeeper's prefix: Docker Hub namespaces starting with {repo:?}"),
            ),
        ],
    }
}

/// A Gatekeeper exemption as an image pattern that matches no image string
/// the exemption does not (but for other spellings of the same image):
/// `prefix*` stays a prefix; an exact name without tag or digest is its
/// `:latest` (the pattern without a tag would match every tag).
pub(super) fn exemption_pattern(literal: &str) -> String {
    if let Some(prefix) = literal.strip_suffix('*') {
        return match prefix.split_once('/') {
            _ if prefix.is_empty() => "*:*/*".to_string(),
            Some((host, "")) if looks_like_domain(host) => registry_as_image(host),
            _ => format!("{prefix}*"),
        };
    }
    let last = literal.rsplit('/').next().unwrap_or(literal);
    if last.contains(':') || literal.contains('@') { literal.to_string() } else { format!("{literal}:latest") }
}

/// Whether a document that admits `admits` anyway admits every image the
/// exemption `literal` matches.
pub(super) fn covers(admits: &Admits, literal: &str) -> bool {
    // The images an exemption matches all start with this.
    let start = literal.strip_suffix('*').unwrap_or(literal);
    match admits {
        Admits::Unknown => false,
        Admits::Prefixes(prefixes) => prefixes.iter().any(|p| start.starts_with(p.as_str())),
        Admits::Exempted(exempt) => exempt.iter().any(|e| match e.strip_suffix('*') {
            Some(prefix) => start.starts_with(prefix),
            None => e == literal,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_prefixes_read_narrower() {
        let rule = |repo| allowed_prefix(repo).unwrap();
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
        assert!(allowed_prefix("library/ngi").is_err());
    }

    #[test]
    fn refused_prefixes_read_wider() {
        let rules = |repo| refused_prefix(repo).into_iter().map(|(r, _)| r).collect::<Vec<_>>();
        assert_eq!(rules("gcr.io/"), [Rule::Registry("gcr.io".into())]);
        assert_eq!(rules("gcr.io/team"), [Rule::Image("gcr.io/team*".into())]);
        assert_eq!(
            rules("gcr.io"),
            [
                Rule::Registry("gcr.io*:*".into()),
                Rule::Image("docker.io/gcr.io*".into()),
                Rule::Image("docker.io/gcr.io*/*".into())
            ]
        );
        assert_eq!(rules("myorg/"), [Rule::Image("docker.io/myorg/*".into())]);
    }

    #[test]
    fn exemptions_match_no_more_than_gatekeeper() {
        assert_eq!(exemption_pattern("openpolicyagent/opa-exp2:*"), "openpolicyagent/opa-exp2:*");
        assert_eq!(exemption_pattern("gcr.io/app"), "gcr.io/app:latest");
        assert_eq!(exemption_pattern("localhost:5000/app"), "localhost:5000/app:latest");
        assert_eq!(exemption_pattern("gcr.io/app:1"), "gcr.io/app:1");
        assert_eq!(exemption_pattern("*"), "*:*/*");
        assert_eq!(exemption_pattern("docker.io/*"), "docker.io/*/*");
        assert!(covers(&Admits::Prefixes(vec!["openpolicyagent/".into()]), "openpolicyagent/opa-exp:latest"));
        assert!(!covers(&Admits::Prefixes(vec!["gcr.io/".into()]), "quay.io/x:1"));
        assert!(covers(&Admits::Exempted(vec!["quay.io/*".into()]), "quay.io/x:*"));
        assert!(!covers(&Admits::Exempted(vec!["quay.io/x".into()]), "quay.io/x*"));
        assert!(!covers(&Admits::Unknown, "quay.io/x"));
    }
}
