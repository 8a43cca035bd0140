//! Differential property tests of `import` (issue 27): for each source kind,
//! a small reference reading of the source engine, written here from its
//! documentation for the subset `import` reads, decides generated Pods; the
//! imported settings, run by the policy natively, must never admit a Pod
//! the source refuses. Where registry-guard decides otherwise on purpose,
//! `deliberate` names the case.
//!
//! And (issue 22): whatever the input, of every source kind, the printed
//! settings are accepted by the policy's own validation, entry by entry
//! (never the "refused as a whole" fallback).

use proptest::prelude::*;
use serde_json::{Value, json};

use super::Imported;
use crate::manifests::Sourced;

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn import(documents: Vec<Value>) -> Imported {
    let documents: Vec<Sourced> = documents
        .into_iter()
        .enumerate()
        .map(|(i, value)| Sourced { source: "gen.yaml".into(), index: i + 1, value, line: 1, text: String::new() })
        .collect();
    Imported::read(&documents)
}

/// The policy's verdict on a Pod running `image`.
fn policy_admits(settings: &Value, image: &str) -> bool {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"},
                     "spec": {"containers": [{"name": "c", "image": image}]}});
    let payload = json!({"request": {"operation": "CREATE", "object": pod}, "settings": settings});
    let mut lookup = |_: &str| Err("no registry in tests".to_string());
    let raw = registry_guard::validate_with(payload.to_string().as_bytes(), &mut lookup).unwrap();
    let response: Value = serde_json::from_slice(&raw).unwrap();
    response["accepted"] == true
}

/// A generated image: registry (None: a Docker Hub short name), path, tag,
/// digest.
#[derive(Debug, Clone)]
struct Image {
    host: Option<&'static str>,
    path: &'static str,
    tag: Option<&'static str>,
    digest: bool,
}

impl Image {
    fn text(&self) -> String {
        let mut out = self.host.map(|h| format!("{h}/")).unwrap_or_default();
        out.push_str(self.path);
        if let Some(tag) = self.tag {
            out.push_str(&format!(":{tag}"));
        }
        if self.digest {
            out.push_str(&format!("@{DIGEST}"));
        }
        out
    }

    /// Other spellings of the same image (README, "How references are
    /// read"): `:latest` written or not; Docker Hub's short and long names;
    /// the default port 443 written or not.
    fn spellings(&self) -> Vec<String> {
        let mut hosts = vec![self.host];
        match self.host {
            None => hosts.extend([Some("docker.io"), Some("index.docker.io")]),
            Some("docker.io") => hosts.extend([None, Some("index.docker.io")]),
            Some("gcr.io:443") => hosts.push(Some("gcr.io")),
            Some("gcr.io") => hosts.push(Some("gcr.io:443")),
            _ => {}
        }
        let mut paths = vec![self.path];
        if let Some(name) = self.path.strip_prefix("library/") {
            paths.push(name);
        } else if !self.path.contains('/') {
            paths.push(Box::leak(format!("library/{}", self.path).into_boxed_str()));
        }
        let mut tags = vec![self.tag];
        match self.tag {
            None if !self.digest => tags.push(Some("latest")),
            Some("latest") if !self.digest => tags.push(None),
            _ => {}
        }
        let mut out = Vec::new();
        for host in &hosts {
            for path in &paths {
                for tag in &tags {
                    out.push(Image { host: *host, path, tag: *tag, digest: self.digest }.text());
                }
            }
        }
        out
    }

    /// As containers/image reads it: domain, repository path, tag, digest.
    fn parts(&self) -> (String, String, Option<&'static str>, bool) {
        let host = self.host.unwrap_or("docker.io");
        let path = if host == "docker.io" && !self.path.contains('/') {
            format!("library/{}", self.path)
        } else {
            self.path.to_string()
        };
        (host.to_string(), path, self.tag, self.digest)
    }
}

fn image() -> impl Strategy<Value = Image> {
    let hosts = prop::sample::select(vec![
        Some("gcr.io"),
        Some("gcr.io:443"),
        Some("gcr.io.evil.com"),
        Some("quay.io"),
        Some("a.corp.example"),
        Some("corp.example"),
        Some("reg:5000"),
        Some("localhost:5000"),
        Some("docker.io"),
        None,
    ]);
    let paths = prop::sample::select(vec!["app", "team/app", "team-evil/app", "team/sub/app", "library/nginx"]);
    let tags = prop::sample::select(vec![None, Some("1"), Some("latest"), Some("v1.2")]);
    (hosts, paths, tags, any::<bool>()).prop_map(|(host, path, tag, digest)| Image { host, path, tag, digest })
}

/// One rule of a source: whether it admits an image written this way.
type Rule<'a> = Box<dyn Fn(&str) -> bool + 'a>;

/// Whether each of the source's rules (a Gatekeeper constraint, a Kyverno
/// glob, policy-controller as a whole) admits `image` under some spelling.
/// registry-guard reads every spelling of an image alike, and so the import
/// reads each rule: an image each rule admits under some spelling is
/// admitted, even where no one spelling passed them all (Gatekeeper `repos:
/// [team/]` beside `repos: [docker.io]`, or beside Kyverno
/// `docker.io/team/*`, refused `docker.io/team/app` however written: a
/// contradiction of spellings that this property found, not a rule any
/// engine wrote; README, "Coming from Kyverno, Gatekeeper or OpenShift").
fn each_admits_a_spelling(image: &Image, rules: &[&dyn Fn(&str) -> bool]) -> bool {
    let spellings = image.spellings();
    rules.iter().all(|rule| spellings.iter().any(|s| rule(s)))
}

/// The property: the import admits `image` only where the source does, or
/// where the source admits the same image under another spelling.
fn never_wider(
    imported: &Imported,
    image: &Image,
    source_admits: impl Fn(&Image, &str) -> bool,
) -> Result<(), TestCaseError> {
    let settings = imported.settings();
    prop_assert!(registry_guard::settings::check_json(settings.to_string().as_bytes()).is_ok(), "{settings}");
    if !imported.untranslatable.is_empty() {
        // Listed, exit 1: the output is not claimed to mean the source.
        return Ok(());
    }
    let text = image.text();
    if policy_admits(&settings, &text) && !source_admits(image, &text) {
        // Deliberate: registry-guard reads every spelling of an image
        // alike (README), where the source compared strings as written.
        let respelled = image.spellings().iter().any(|s| source_admits(image, s));
        prop_assert!(respelled, "{text}: the source refuses it, the import admits it\nsettings: {settings}");
    }
    Ok(())
}

/// A list field: absent, `null`, or a list.
fn field<T: Strategy>(items: T) -> impl Strategy<Value = Option<Option<Vec<T::Value>>>>
where
    T::Value: std::fmt::Debug + Clone,
{
    prop_oneof![Just(None), Just(Some(None)), prop::collection::vec(items, 0..4).prop_map(|v| Some(Some(v)))]
}

fn set(object: &mut Value, key: &str, value: &Option<Option<Vec<String>>>) {
    match value {
        None => {}
        Some(None) => object[key] = Value::Null,
        Some(Some(items)) => object[key] = json!(items),
    }
}

fn list(value: &Option<Option<Vec<String>>>) -> Vec<String> {
    value.clone().flatten().unwrap_or_default()
}

fn strings(items: Vec<&'static str>) -> impl Strategy<Value = String> {
    prop::sample::select(items).prop_map(String::from)
}

// --- Gatekeeper ----------------------------------------------------------

#[derive(Debug, Clone)]
enum Constraint {
    AllowedRepos(Option<Option<Vec<String>>>),
    DisallowedRepos(Option<Option<Vec<String>>>),
    DisallowedTags(Option<Option<Vec<String>>>, Vec<String>),
    ImageDigests(Vec<String>),
}

fn constraint() -> impl Strategy<Value = Constraint> {
    let prefix = || {
        strings(vec![
            "gcr.io",
            "gcr.io/",
            "gcr.io/team",
            "gcr.io/team/",
            "quay.io/",
            "reg:5000/",
            "",
            "corp",
            "docker.io/",
            "team/",
            "a.corp.example/",
            "localhost",
        ])
    };
    let exempt = || {
        prop::collection::vec(
            strings(vec![
                "gcr.io/app:1",
                "gcr.io/team/*",
                "quay.io/app",
                "*",
                "reg:5000/app:latest",
                "gcr.io*",
                "team/app:*",
            ]),
            0..3,
        )
    };
    prop_oneof![
        field(prefix()).prop_map(Constraint::AllowedRepos),
        field(prefix()).prop_map(Constraint::DisallowedRepos),
        (field(strings(vec!["latest", "1", "v1.2", "dev"])), exempt())
            .prop_map(|(t, e)| Constraint::DisallowedTags(t, e)),
        exempt().prop_map(Constraint::ImageDigests),
    ]
}

impl Constraint {
    fn document(&self) -> Value {
        let (kind, mut parameters) = match self {
            Constraint::AllowedRepos(repos) => ("K8sAllowedRepos", json!({})).tap(|p| set(p, "repos", repos)),
            Constraint::DisallowedRepos(repos) => ("K8sDisallowedRepos", json!({})).tap(|p| set(p, "repos", repos)),
            Constraint::DisallowedTags(tags, exempt) => {
                ("K8sDisallowedTags", json!({"exemptImages": exempt})).tap(|p| set(p, "tags", tags))
            }
            Constraint::ImageDigests(exempt) => ("K8sImageDigests", json!({"exemptImages": exempt})),
        };
        if parameters["exemptImages"] == json!([]) {
            parameters.as_object_mut().unwrap().remove("exemptImages");
        }
        json!({"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": kind, "metadata": {"name": "c"},
               "spec": {"parameters": parameters}})
    }

    /// Gatekeeper's Rego (gatekeeper-library, library/general/*/template.yaml).
    fn admits(&self, image: &str) -> bool {
        let exempt = |list: &[String]| {
            list.iter().any(|e| match e.strip_suffix('*') {
                Some(prefix) => image.starts_with(prefix),
                None => e == image,
            })
        };
        match self {
            // `not strings.any_prefix_match(image, repos)`: no list, no prefix.
            Constraint::AllowedRepos(repos) => list(repos).iter().any(|p| image.starts_with(p.as_str())),
            Constraint::DisallowedRepos(repos) => !list(repos).iter().any(|p| image.starts_with(p.as_str())),
            Constraint::DisallowedTags(tags, exempted) => {
                let last = image.rsplit('/').next().unwrap_or(image);
                exempt(exempted)
                    || (!list(tags).iter().any(|t| image.ends_with(&format!(":{t}"))) && last.contains(':'))
            }
            // `regex.match("@[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+", image)`.
            Constraint::ImageDigests(exempted) => exempt(exempted) || image.contains("@sha256:"),
        }
    }
}

/// `(a, b).tap(f)`: `b` changed by `f`.
trait Tap<A> {
    fn tap(self, f: impl FnOnce(&mut Value)) -> (A, Value);
}

impl<A> Tap<A> for (A, Value) {
    fn tap(mut self, f: impl FnOnce(&mut Value)) -> (A, Value) {
        f(&mut self.1);
        self
    }
}

// --- Kyverno -------------------------------------------------------------

/// Kyverno's wildcard match (pkg/utils/wildcard): `*` any run, `?` one
/// character, over the string as written.
fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let mut dp = vec![vec![false; t.len() + 1]; p.len() + 1];
    dp[0][0] = true;
    for i in 1..=p.len() {
        dp[i][0] = dp[i - 1][0] && p[i - 1] == '*';
        for j in 1..=t.len() {
            dp[i][j] = match p[i - 1] {
                '*' => dp[i - 1][j] || dp[i][j - 1],
                '?' => dp[i - 1][j - 1],
                c => dp[i - 1][j - 1] && c == t[j - 1],
            };
        }
    }
    dp[p.len()][t.len()]
}

/// A pattern string: `|` is or, a leading `!` negates.
fn kyverno_admits(glob: &str, image: &str) -> bool {
    glob.split('|').map(str::trim).any(|a| match a.strip_prefix('!') {
        Some(plain) => !wildcard(plain, image),
        None => wildcard(a, image),
    })
}

fn kyverno_glob() -> impl Strategy<Value = String> {
    let atom = strings(vec![
        "gcr.io/*",
        "gcr.io/team/*",
        "*.corp.example/*",
        "quay.io/app:*",
        "*:latest",
        "*:v*",
        "*@*",
        "*:*",
        "*",
        "reg:5000/*",
        "docker.io/team/*",
    ]);
    (prop::collection::vec(atom, 1..3), any::<bool>()).prop_map(|(atoms, negated)| {
        atoms.iter().map(|a| if negated { format!("!{a}") } else { a.clone() }).collect::<Vec<_>>().join(" | ")
    })
}

fn kyverno_policy(globs: &[String]) -> Value {
    let rules: Vec<Value> = globs
        .iter()
        .enumerate()
        .map(|(i, glob)| {
            json!({"name": format!("r{i}"), "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                   "validate": {"pattern": {"spec": {"containers": [{"image": glob}]}}}})
        })
        .collect();
    json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "k"},
           "spec": {"validationFailureAction": "Enforce", "rules": rules}})
}

// --- OpenShift -----------------------------------------------------------

fn openshift_entry() -> impl Strategy<Value = String> {
    strings(vec![
        "quay.io",
        "reg:5000",
        "*.corp.example",
        "gcr.io/team",
        "gcr.io/team/app:1",
        "gcr.io",
        "docker.io",
        "docker.io/library/nginx",
        "gcr.io/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ])
}

/// An entry of `registrySources` as policy.json reads it: a host (or
/// `*.domain`) matches the image's domain; a repository matches it and the
/// repositories below it; `repo:tag` that tag (an image with a digest is
/// pulled by digest, its tag dropped); `repo@digest` that digest.
fn openshift_matches(entry: &str, image: &Image) -> bool {
    let (domain, path, tag, digest) = image.parts();
    let Some((host, rest)) = entry.split_once('/') else {
        return match entry.strip_prefix("*.") {
            Some(suffix) => domain.ends_with(&format!(".{suffix}")),
            None => domain == entry,
        };
    };
    let name = format!("{domain}/{path}");
    if let Some((repo, d)) = entry.split_once('@') {
        return name == repo && digest && d == DIGEST;
    }
    let last = rest.rsplit('/').next().unwrap_or(rest);
    if let Some((_, t)) = last.split_once(':') {
        let repo = &entry[..entry.len() - t.len() - 1];
        return name == repo && !digest && tag.unwrap_or("latest") == t;
    }
    let _ = host;
    name == entry || name.starts_with(&format!("{entry}/"))
}

// --- policy-controller ---------------------------------------------------

/// A ClusterImagePolicy: globs and one authority (`pass`, `fail`, or a key
/// no image in these tests is signed with: the native host verifies none).
#[derive(Debug, Clone)]
struct ImagePolicy {
    globs: Vec<String>,
    authority: &'static str,
}

fn image_policy() -> impl Strategy<Value = ImagePolicy> {
    let glob = strings(vec![
        "gcr.io/**",
        "gcr.io/team/*",
        "gcr.io/*",
        "quay.io/app*",
        "**",
        "reg:5000/**",
        "gcr.io/team/**",
        "gcr.io/*/app",
    ]);
    (prop::collection::vec(glob, 0..3), prop::sample::select(vec!["pass", "fail", "key"]))
        .prop_map(|(globs, authority)| ImagePolicy { globs, authority })
}

impl ImagePolicy {
    fn document(&self) -> Value {
        let images: Vec<Value> = self.globs.iter().map(|g| json!({"glob": g})).collect();
        let authority = match self.authority {
            "key" => json!({"key": {"data": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}}),
            action => json!({"static": {"action": action}}),
        };
        json!({"apiVersion": "policy.sigstore.dev/v1beta1", "kind": "ClusterImagePolicy", "metadata": {"name": "c"},
               "spec": {"images": images, "authorities": [authority]}})
    }

    /// policy-controller's glob: `**` any run, `*` any run without `/`.
    fn matches(&self, image: &str) -> bool {
        self.globs.iter().any(|glob| {
            let pattern = glob.replace("**", "\u{1}");
            let regex_like: Vec<char> = pattern.chars().collect();
            glob_match(&regex_like, &image.chars().collect::<Vec<_>>())
        })
    }
}

/// `\u{1}` any run, `*` any run without `/`, else the character itself.
fn glob_match(pattern: &[char], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('\u{1}', rest)) => (0..=text.len()).any(|i| glob_match(rest, &text[i..])),
        Some(('*', rest)) => {
            (0..=text.len()).take_while(|&i| i == 0 || text[i - 1] != '/').any(|i| glob_match(rest, &text[i..]))
        }
        Some((c, rest)) => text.first() == Some(c) && glob_match(rest, &text[1..]),
    }
}

// --- the properties ------------------------------------------------------

proptest! {
    #[test]
    fn gatekeeper_import_never_admits_what_gatekeeper_refuses(
        constraints in prop::collection::vec(constraint(), 1..3),
        image in image(),
    ) {
        let imported = import(constraints.iter().map(Constraint::document).collect());
        let rules: Vec<Rule<'_>> =
            constraints.iter().map(|c| Box::new(move |text: &str| c.admits(text)) as Rule<'_>).collect();
        let each = each_admits_a_spelling(&image, &rules.iter().map(|r| r.as_ref()).collect::<Vec<_>>());
        never_wider(&imported, &image, |_, text| each || constraints.iter().all(|c| c.admits(text)))?;
    }

    #[test]
    fn kyverno_import_never_admits_what_kyverno_refuses(
        globs in prop::collection::vec(kyverno_glob(), 1..3),
        image in image(),
    ) {
        let imported = import(vec![kyverno_policy(&globs)]);
        let rules: Vec<Rule<'_>> =
            globs.iter().map(|g| Box::new(move |text: &str| kyverno_admits(g, text)) as Rule<'_>).collect();
        let each = each_admits_a_spelling(&image, &rules.iter().map(|r| r.as_ref()).collect::<Vec<_>>());
        never_wider(&imported, &image, |_, text| each || globs.iter().all(|g| kyverno_admits(g, text)))?;
    }

    #[test]
    fn policy_controller_import_never_admits_what_policy_controller_refuses(
        policies in prop::collection::vec(image_policy(), 1..3),
        image in image(),
    ) {
        let imported = import(policies.iter().map(ImagePolicy::document).collect());
        // An image no policy matches is refused (no-match-policy: deny);
        // one a policy matches needs its authority: pass yes, fail and an
        // unsigned image's key no.
        never_wider(&imported, &image, |_, text| {
            let matching: Vec<&ImagePolicy> = policies.iter().filter(|p| p.matches(text)).collect();
            !matching.is_empty() && matching.iter().all(|p| p.authority == "pass")
        })?;
    }

    /// Several engines at once, as a cluster may run them: an image must
    /// pass each (exemptions of one never lift another's rules).
    #[test]
    fn mixed_sources_import_never_admits_what_any_source_refuses(
        constraints in prop::collection::vec(constraint(), 0..3),
        globs in prop::collection::vec(kyverno_glob(), 0..2),
        policies in prop::collection::vec(image_policy(), 0..2),
        image in image(),
    ) {
        let mut documents: Vec<Value> = constraints.iter().map(Constraint::document).collect();
        if !globs.is_empty() {
            documents.push(kyverno_policy(&globs));
        }
        documents.extend(policies.iter().map(ImagePolicy::document));
        prop_assume!(!documents.is_empty());
        let imported = import(documents);
        let policy_controller_admits = |text: &str| {
            let matching: Vec<&ImagePolicy> = policies.iter().filter(|p| p.matches(text)).collect();
            policies.is_empty() || (!matching.is_empty() && matching.iter().all(|p| p.authority == "pass"))
        };
        // Each rule of each engine read on its own (`each_admits_a_spelling`).
        let mut rules: Vec<Rule<'_>> = Vec::new();
        rules.extend(constraints.iter().map(|c| Box::new(move |text: &str| c.admits(text)) as Rule<'_>));
        rules.extend(globs.iter().map(|g| Box::new(move |text: &str| kyverno_admits(g, text)) as Rule<'_>));
        rules.push(Box::new(policy_controller_admits));
        let each = each_admits_a_spelling(&image, &rules.iter().map(|r| r.as_ref()).collect::<Vec<_>>());
        never_wider(&imported, &image, |_, text| {
            each
                || (constraints.iter().all(|c| c.admits(text))
                    && globs.iter().all(|g| kyverno_admits(g, text))
                    && policy_controller_admits(text))
        })?;
    }

    #[test]
    fn openshift_import_never_admits_what_openshift_refuses(
        allowed in field(openshift_entry()),
        blocked in field(openshift_entry()),
        image in image(),
    ) {
        let mut sources = json!({});
        set(&mut sources, "allowedRegistries", &allowed);
        set(&mut sources, "blockedRegistries", &blocked);
        let document = json!({"apiVersion": "config.openshift.io/v1", "kind": "Image", "metadata": {"name": "cluster"},
                              "spec": {"registrySources": sources}});
        let imported = import(vec![document]);
        // Go slices with omitempty: empty, null and absent are one.
        let (allowed, blocked) = (list(&allowed), list(&blocked));
        never_wider(&imported, &image, |image, text| {
            let image = respelled(image, text);
            (allowed.is_empty() || allowed.iter().any(|e| openshift_matches(e, &image)))
                && !blocked.iter().any(|e| openshift_matches(e, &image))
        })?;
    }

    #[test]
    fn trusted_repos_import_never_admits_what_trusted_repos_refuses(
        allow in field(strings(vec!["gcr.io", "quay.io", "reg:5000", "docker.io"])),
        reject in field(strings(vec!["gcr.io", "quay.io", "docker.io"])),
        tags in field(strings(vec!["latest", "v1.2"])),
        wrapped in 0..3u8,
        image in image(),
    ) {
        let mut settings = json!({"registries": {}, "tags": {}});
        set(&mut settings["registries"], "allow", &allow);
        set(&mut settings["registries"], "reject", &reject);
        set(&mut settings["tags"], "reject", &tags);
        // The settings alone, or in a Kubewarden resource running trusted-repos.
        let document = match wrapped {
            0 => settings,
            1 => json!({"apiVersion": "policies.kubewarden.io/v1", "kind": "ClusterAdmissionPolicy", "metadata": {"name": "t"},
                        "spec": {"module": "registry://ghcr.io/kubewarden/policies/trusted-repos:v0.2.0", "settings": settings}}),
            _ => json!({"apiVersion": "policies.kubewarden.io/v1", "kind": "AdmissionPolicyGroup", "metadata": {"name": "g", "namespace": "n"},
                        "spec": {"expression": "t()", "policies": {"t": {"module": "ghcr.io/x/trusted-repos@sha256:00", "settings": settings}}}}),
        };
        let imported = import(vec![document]);
        // trusted-repos (README, src/settings.rs): a registries.allow list,
        // even empty, must hold the image's registry; reject must not; the
        // tag (latest when none is written) must not be rejected. An image
        // pinned by digest alone: trusted-repos reads it as latest,
        // registry-guard as tagless (README, "Differences from
        // trusted-repos": deliberately, the tag is not what is pulled), so
        // the reference reading here is registry-guard's for it.
        never_wider(&imported, &image, |image, text| {
            let image = respelled(image, text);
            let (domain, _, tag, digest) = image.parts();
            let tag = match (tag, digest) { (None, true) => None, (None, false) => Some("latest"), (t, _) => t };
            allow.as_ref().and_then(Option::as_ref).is_none_or(|a| a.contains(&domain))
                && !list(&reject).contains(&domain)
                && !tag.is_some_and(|t| list(&tags).iter().any(|r| r == t))
        })?;
    }
}

/// `image` as the spelling `text` (one of `image.spellings()`).
fn respelled(image: &Image, text: &str) -> Image {
    if image.text() == text {
        return image.clone();
    }
    let (rest, digest) = match text.split_once('@') {
        Some((rest, _)) => (rest, true),
        None => (text, false),
    };
    let (name, tag) = match rest.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, Some(&*Box::leak(tag.to_string().into_boxed_str()))),
        _ => (rest, None),
    };
    let (host, path) = match name.split_once('/') {
        Some((first, path)) if first.contains(['.', ':']) || first == "localhost" => (Some(first), path),
        _ => (None, name),
    };
    let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
    Image { host: host.map(leak), path: leak(path), tag, digest }
}

// --- never invalid (issue 22) --------------------------------------------

/// Strings of every shape an entry may take, the well-formed and the not.
fn junk() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9.:/@*?_ -]{0,24}",
        strings(vec![
            "reg1.io/myrepo/myapp:latest",
            "latest/*",
            "",
            "*",
            "**",
            ":",
            "/",
            "@",
            "docker.io/*",
            "a:b:c",
            "HOST.IO/x",
            "[::1]:5000/x",
            "x@sha256:zz",
            "https://x",
            "*.",
            "?",
            "gcr.io/",
            "*.corp.example",
            "nginx",
            "!*:latest",
            "^https://github\\.com/acme/.*$",
            "*:*",
            "*@*",
            "*:v*",
            "quay.io/a/b@sha256:0123",
        ]),
    ]
}

fn junk_list() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(junk(), 0..4)
}

/// A document of any source kind, filled with `junk`.
fn any_source() -> impl Strategy<Value = Value> {
    let gatekeeper = (
        strings(vec!["K8sAllowedRepos", "K8sDisallowedRepos", "K8sDisallowedTags", "K8sImageDigests"]),
        junk_list(),
        junk_list(),
        prop::option::of(junk()),
    )
        .prop_map(|(kind, repos, exempt, action)| {
            json!({"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": kind, "metadata": {"name": "g"},
                   "spec": {"enforcementAction": action, "parameters": {"repos": repos, "tags": repos, "exemptImages": exempt}}})
        });
    let kyverno = (junk_list(), junk_list(), junk(), junk(), prop::option::of(junk())).prop_map(
        |(globs, references, issuer, subject, action)| {
            let rules: Vec<Value> = globs
                .iter()
                .map(|g| json!({"name": "r", "validate": {"pattern": {"spec": {"containers": [{"image": g}]}}}}))
                .chain(std::iter::once(json!({"name": "v", "verifyImages": [{"imageReferences": references,
                    "attestors": [{"entries": [{"keyless": {"issuer": issuer, "subject": subject}}]}]}]})))
                .collect();
            json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "k"},
                   "spec": {"validationFailureAction": action.unwrap_or_else(|| "Enforce".into()), "rules": rules}})
        },
    );
    let openshift =
        (junk_list(), junk_list(), junk(), any::<bool>()).prop_map(|(allowed, blocked, domain, insecure)| {
            json!({"apiVersion": "config.openshift.io/v1", "kind": "Image", "metadata": {"name": "cluster"},
               "spec": {"registrySources": {"allowedRegistries": allowed, "blockedRegistries": blocked},
                        "allowedRegistriesForImport": [{"domainName": domain, "insecure": insecure}]}})
        });
    let settings = (junk_list(), junk_list(), junk_list())
        .prop_map(|(r, i, t)| json!({"registries": {"allow": r}, "images": {"reject": i}, "tags": {"allow": t}}));
    let resource = (junk(), junk_list(), strings(vec!["protect", "monitor", "other"])).prop_map(|(module, allow, mode)| {
        json!({"apiVersion": "policies.kubewarden.io/v1", "kind": "ClusterAdmissionPolicy", "metadata": {"name": "p"},
               "spec": {"module": format!("registry://ghcr.io/kubewarden/policies/trusted-repos{module}"), "mode": mode,
                        "settings": {"registries": {"allow": allow}}}})
    });
    let cip = (junk_list(), junk(), junk(), junk(), strings(vec!["enforce", "warn"])).prop_map(
        |(globs, key, issuer, subject, mode)| {
            let images: Vec<Value> = globs.iter().map(|g| json!({"glob": g})).collect();
            json!({"apiVersion": "policy.sigstore.dev/v1beta1", "kind": "ClusterImagePolicy", "metadata": {"name": "c"},
                   "spec": {"mode": mode, "images": images, "authorities": [
                       {"key": {"data": key}},
                       {"keyless": {"identities": [{"issuer": issuer, "subjectRegExp": subject}]}}]}})
        },
    );
    prop_oneof![gatekeeper, kyverno, openshift, settings, resource, cip]
}

proptest! {
    #[test]
    fn every_import_prints_settings_the_policy_accepts(documents in prop::collection::vec(any_source(), 1..4)) {
        let imported = import(documents);
        let settings = imported.settings();
        prop_assert!(registry_guard::settings::check_json(settings.to_string().as_bytes()).is_ok(), "{settings}");
        // Entry by entry: never the "refused as a whole" fallback.
        prop_assert!(!imported.settled.refused_whole, "{:?}", imported.untranslatable);
        let printed: Value = serde_yaml::from_str(&imported.yaml()).unwrap();
        prop_assert_eq!(&printed, &settings);
        let resource: Value = serde_yaml::from_str(&imported.policy_yaml("p")).unwrap();
        prop_assert_eq!(&resource["spec"]["settings"], &settings);
    }
}
