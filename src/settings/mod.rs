//! Reads and validates the settings document, and compiles it into a
//! `Policy`. Every problem is reported with the path of the setting
//! (`registries.allow[2]: ...`), all of them at once; unknown keys and wrong
//! types are errors, never ignored, so a typo cannot turn the policy into
//! allow-all. `null` counts as absent, as it does for trusted-repos.
//!
//! ```yaml
//! registries: {allow: [host patterns], reject: [host patterns]}
//! images:     {allow: [image patterns], reject: [image patterns]}
//! tags:       {allow: [tag patterns], reject: [tag patterns]}
//! digests:    {require: bool, pin: never | attempt | required}
//! mirrors:    [{from: host pattern, to: registry host[/path prefix]}, ...]
//! ```
//!
//! An empty allow list means what it means in trusted-repos: nothing is
//! allowed (`registries.allow: []`, `images.allow: []`), except `tags.allow`,
//! which constrains tags only when non-empty.

use std::borrow::Cow;
use std::fmt;

use crate::request::discovery::Found;
use crate::request::json::{Document, PlainStringsIter, entry as get};
use request_images::{LAZY_FROM, RequestImages};

/// The entries of a rule list, with their indexes (`Reader::rule_entries`).
enum RuleEntries<'v> {
    /// Read from the settings' bytes as they are iterated, and how many.
    Plain(usize, std::iter::Enumerate<PlainStringsIter<'v>>),
    Listed(std::vec::IntoIter<(usize, &'v str)>),
}

impl<'v> Iterator for RuleEntries<'v> {
    type Item = (usize, &'v str);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            RuleEntries::Plain(_, iter) => iter.next(),
            RuleEntries::Listed(iter) => iter.next(),
        }
    }
}

impl RuleEntries<'_> {
    fn len(&self) -> usize {
        match self {
            RuleEntries::Plain(len, _) => *len,
            RuleEntries::Listed(iter) => iter.len(),
        }
    }
}

/// A mapping's entries, in order.
type Map<'a> = [(Cow<'a, str>, Document<'a>)];

use crate::rules::host_pattern::{HostPattern, HostSet};
use crate::rules::image_pattern::ImageSet;
use crate::rules::mirror::{Mirror, Mirrors};
use crate::rules::tag_pattern::TagSet;

mod image_config;
mod image_fields;
mod request_images;
mod signatures;
mod vulnerabilities;
use crate::rules::{LookupsOnUpdate, Pin, Policy, Section};

/// The settings errors, each prefixed with its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError(pub Vec<String>);

/// How many errors a message lists before "… and N more".
const ERRORS_SHOWN: usize = 20;

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0[..self.0.len().min(ERRORS_SHOWN)].join("; "))?;
        if self.0.len() > ERRORS_SHOWN {
            write!(f, "; … and {} more", self.0.len() - ERRORS_SHOWN)?;
        }
        Ok(())
    }
}

/// Checks the settings as the host sends them (JSON) to `validate_settings`.
pub fn check_json(bytes: &[u8]) -> Result<(), SettingsError> {
    let document = Document::parse_settings(bytes).map_err(not_json)?;
    compile(&document).map(drop)
}

/// The settings a validate payload carried (`None`: none, which allows
/// everything), compiled for the request's `found` images: pattern sets are
/// sorted for lookup only when that many lookups pay for the sort, and
/// rules of long lists that cannot match any of the images are not compiled
/// (`RequestImages`).
pub fn compile_payload_settings<'d>(
    settings: Option<&'d Result<Document<'_>, String>>,
    found: &[Found<'_>],
) -> Result<Policy<'d>, SettingsError> {
    match settings {
        None => Ok(Policy::default()),
        Some(Ok(document)) => compile_with(document, found.len(), RequestImages::of(document, found)),
        Some(Err(e)) => Err(not_json(e.clone())),
    }
}

fn not_json(e: String) -> SettingsError {
    SettingsError(vec![format!("settings are not valid JSON: {e}")])
}

/// Compiles a settings document.
pub fn compile<'d>(document: &'d Document<'_>) -> Result<Policy<'d>, SettingsError> {
    compile_for(document, 0)
}

/// Lookups per image in one pattern set, at most: a registry has up to
/// three names (Docker Hub's), each looked up whole and by dot-suffix.
const LOOKUPS_PER_IMAGE: usize = 8;

fn compile_for<'d>(document: &'d Document<'_>, images: usize) -> Result<Policy<'d>, SettingsError> {
    compile_with(document, images, None)
}

fn compile_with<'d>(
    document: &'d Document<'_>,
    images: usize,
    request_images: Option<RequestImages<'_>>,
) -> Result<Policy<'d>, SettingsError> {
    let mut reader = Reader { errors: Vec::new(), lookups: images.saturating_mul(LOOKUPS_PER_IMAGE), request_images };
    let policy = reader.policy(document);
    if reader.errors.is_empty() { Ok(policy) } else { Err(SettingsError(reader.errors)) }
}

/// How a pattern set is built: `insert` each entry (validating it), then
/// `finish` (see `str_map.rs`).
type SetBuilder<'d, S> = (fn(&mut S, &'d str) -> Result<(), String>, fn(&mut S, usize));

/// Collects errors while reading the document.
#[derive(Default)]
struct Reader<'f> {
    errors: Vec<String>,
    /// About how many lookups each pattern set will answer (see `str_map.rs`).
    lookups: usize,
    /// On `validate`, the request's images: rules of long lists that cannot
    /// match them are not compiled. `None` compiles (and checks) every rule.
    request_images: Option<RequestImages<'f>>,
}

const TOP_LEVEL_KEYS: &[&str] = &[
    "registries",
    "images",
    "tags",
    "digests",
    "mirrors",
    "signatures",
    "modifyImagesWithDigest",
    "imageFields",
    "imageConfig",
    "exemptImages",
    "lookupsOnUpdate",
    "vulnerabilities",
];
const LIST_KEYS: &[&str] = &["allow", "reject"];
const DIGEST_KEYS: &[&str] = &["require", "pin"];
const MIRROR_KEYS: &[&str] = &["from", "to"];
const PIN_VALUES: &str = "never, attempt or required";

impl Reader<'_> {
    fn error(&mut self, path: &str, message: impl fmt::Display) {
        self.errors.push(if path.is_empty() { message.to_string() } else { format!("{path}: {message}") });
    }

    fn policy<'d>(&mut self, document: &'d Document<'_>) -> Policy<'d> {
        let mut policy = Policy::default();
        let Some(root) = self.object("", document, TOP_LEVEL_KEYS) else {
            return policy;
        };
        if let Some(section) = self.section(root, "registries") {
            policy.registries = Section {
                allow: self.host_set(section, "registries", "allow"),
                reject: self.host_set(section, "registries", "reject"),
            };
        }
        if let Some(section) = self.section(root, "images") {
            policy.images = Section {
                allow: get(section, "allow").and_then(|list| self.image_list("images.allow", list, true)),
                reject: get(section, "reject").and_then(|list| self.image_list("images.reject", list, true)),
            };
        }
        if let Some(section) = self.section(root, "tags") {
            policy.tags = Section {
                // An empty tags.allow constrains nothing (see the module doc).
                allow: self
                    .pattern_set(section, "tags", "allow", (TagSet::insert, TagSet::finish))
                    .filter(|s| !s.is_empty()),
                reject: self.pattern_set(section, "tags", "reject", (TagSet::insert, TagSet::finish)),
            };
        }
        if let Some(digests) = get(root, "digests")
            && let Some(digests) = self.object("digests", digests, DIGEST_KEYS)
        {
            policy.require_digest = self.boolean("digests.require", get(digests, "require"));
            policy.pin = self.pin(get(digests, "pin"));
        }
        if let Some(mirrors) = get(root, "mirrors") {
            policy.mirrors = self.mirrors(mirrors);
        }
        if let Some(signatures) = get(root, "signatures") {
            policy.signatures = self.signatures(signatures);
        }
        policy.exempt = self.exempt_images(get(root, "exemptImages"));
        if let Some(section) = get(root, "imageConfig") {
            policy.image_config = self.image_config(section);
        }
        if let Some(section) = get(root, "vulnerabilities") {
            policy.vulnerabilities = self.vulnerabilities(section);
        }
        if let Some(fields) = get(root, "imageFields") {
            policy.image_fields = self.image_fields(fields);
        }
        policy.lookups_on_update = match get(root, "lookupsOnUpdate") {
            None | Some(Document::Null) => LookupsOnUpdate::ChangedImages,
            Some(Document::String(s)) if s == "changedImages" => LookupsOnUpdate::ChangedImages,
            Some(Document::String(s)) if s == "allImages" => LookupsOnUpdate::AllImages,
            Some(other) => {
                self.error(
                    "lookupsOnUpdate",
                    format_args!("expected changedImages or allImages, found {}", describe(other)),
                );
                LookupsOnUpdate::ChangedImages
            }
        };
        // verify-image-signatures' default: pin verified images.
        policy.pin_verified = match get(root, "modifyImagesWithDigest") {
            None | Some(Document::Null) => true,
            value => self.boolean("modifyImagesWithDigest", value),
        };
        policy
    }

    fn pin(&mut self, value: Option<&Document>) -> Pin {
        match value {
            None | Some(Document::Null) => Pin::Never,
            Some(Document::String(s)) => match s.as_ref() {
                "never" => Pin::Never,
                "attempt" => Pin::Attempt,
                "required" => Pin::Required,
                other => {
                    self.error("digests.pin", format_args!("expected {PIN_VALUES}, found {other:?}"));
                    Pin::Never
                }
            },
            Some(other) => {
                self.error("digests.pin", format_args!("expected {PIN_VALUES}, found {}", describe(other)));
                Pin::Never
            }
        }
    }

    // Out of line: inlined, every section made `Reader::policy` one
    // function of 17 KB, the largest Cranelift compiles (`make
    // compile-profile`).
    #[inline(never)]
    fn mirrors(&mut self, value: &Document) -> Mirrors {
        let mut mirrors = Mirrors::default();
        let items = match value {
            Document::Null => return mirrors,
            Document::Array(items) => items,
            other => {
                self.error("mirrors", format_args!("expected a list of {{from, to}} rules, found {}", describe(other)));
                return mirrors;
            }
        };
        // The settings index of each rule kept, for messages.
        let mut kept = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("mirrors[{i}]");
            let Document::Object(rule) = item else {
                self.error(&path, format_args!("expected a mapping with from and to, found {}", describe(item)));
                continue;
            };
            for key in rule.iter().map(|(k, _)| k).filter(|k| !MIRROR_KEYS.contains(&k.as_ref())) {
                self.error("", format_args!("unknown setting \"{path}.{key}\"; expected one of: from, to"));
            }
            let (Some(from), Some(to)) = (self.text(&path, rule, "from"), self.text(&path, rule, "to")) else {
                continue;
            };
            match Mirror::parse(from, to) {
                Ok(mirror) => match mirrors.shadowed_by(&mirror) {
                    Some(earlier) => self.error(
                        &format!("{path}.from"),
                        format_args!(
                            "{from:?} is already matched by mirrors[{}]; only the first matching rule applies",
                            kept[earlier]
                        ),
                    ),
                    None => {
                        mirrors.0.push(mirror);
                        kept.push(i);
                    }
                },
                Err((field, why)) => self.error(&format!("{path}.{field}"), why),
            }
        }
        mirrors
    }

    /// The required string `key` of a mapping at `path`.
    fn text<'v>(&mut self, path: &str, map: &'v Map<'_>, key: &str) -> Option<&'v str> {
        match get(map, key) {
            Some(Document::String(s)) => Some(s),
            None | Some(Document::Null) => {
                self.error(path, format_args!("{key} is missing"));
                None
            }
            Some(other) => {
                self.error(&format!("{path}.{key}"), format_args!("expected a string, found {}", describe(other)));
                None
            }
        }
    }

    /// `value` as an object whose keys are all in `known`; `None` for null.
    fn object<'v, 'a>(&mut self, path: &str, value: &'v Document<'a>, known: &[&str]) -> Option<&'v Map<'a>> {
        match value {
            Document::Null => None,
            Document::Object(map) => {
                for key in map.iter().map(|(k, _)| k).filter(|k| !known.contains(&k.as_ref())) {
                    let at = if path.is_empty() { String::new() } else { format!("{path}.") };
                    self.error("", format_args!("unknown setting \"{at}{key}\"; expected one of: {}", one_of(known)));
                }
                Some(map)
            }
            other => {
                let what = if path.is_empty() { "the settings" } else { path };
                self.error("", format_args!("{what}: expected a mapping, found {}", describe(other)));
                None
            }
        }
    }

    fn section<'v, 'a>(&mut self, root: &'v Map<'a>, name: &str) -> Option<&'v Map<'a>> {
        self.object(name, get(root, name)?, LIST_KEYS)
    }

    /// A list of strings; `None` when absent or null.
    fn strings<'v>(&mut self, path: &str, value: Option<&'v Document<'_>>) -> Option<Vec<(usize, &'v str)>> {
        match value? {
            Document::Null => None,
            Document::Strings(items) => Some(items.iter().enumerate().collect()),
            Document::Array(items) => {
                let mut strings = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Document::String(s) => strings.push((i, s.as_ref())),
                        other => self.error(
                            &format!("{path}[{i}]"),
                            format_args!("expected a string, found {}", describe(other)),
                        ),
                    }
                }
                Some(strings)
            }
            Document::String(s) => {
                self.error(path, format_args!("expected a list of strings, found the string {s:?} (write [{s:?}])"));
                None
            }
            other => {
                self.error(path, format_args!("expected a list of strings, found {}", describe(other)));
                None
            }
        }
    }

    /// A rule list (`registries.allow`, `images.reject`, `exemptImages`,
    /// ...): `strings`, without a list of the strings when the settings
    /// reader found them all plain (`Document::Strings`): a rule list may
    /// hold thousands, read on every request.
    fn rule_entries<'v>(&mut self, path: &str, value: Option<&'v Document<'_>>) -> Option<RuleEntries<'v>> {
        match value {
            Some(Document::Strings(plain)) => Some(RuleEntries::Plain(plain.len(), plain.iter().enumerate())),
            value => self.strings(path, value).map(|listed| RuleEntries::Listed(listed.into_iter())),
        }
    }

    fn host_set<'d>(&mut self, section: &'d Map<'_>, name: &str, list: &str) -> Option<HostSet<'d>> {
        let path = format!("{name}.{list}");
        let entries = self.rule_entries(&path, get(section, list))?;
        let mut set = HostSet::default();
        let names = match &mut self.request_images {
            Some(images) if entries.len() >= LAZY_FROM => Some(images.gathered().names.clone()),
            _ => None,
        };
        for (i, entry) in entries {
            if names.as_deref().is_some_and(|names| RequestImages::cannot_match(names, entry)) {
                set.keep_uncompiled(entry);
                continue;
            }
            match HostPattern::parse(entry) {
                Ok(pattern) => set.insert(entry, pattern),
                Err(why) => self.error(&format!("{path}[{i}]"), why),
            }
        }
        set.finish(self.lookups);
        Some(set)
    }

    fn pattern_set<'d, S: Default>(
        &mut self,
        section: &'d Map<'_>,
        name: &str,
        list: &str,
        (insert, finish): SetBuilder<'d, S>,
    ) -> Option<S> {
        let path = format!("{name}.{list}");
        let entries = self.rule_entries(&path, get(section, list))?;
        let mut set = S::default();
        for (i, entry) in entries {
            if let Err(why) = insert(&mut set, entry) {
                self.error(&format!("{path}[{i}]"), why);
            }
        }
        finish(&mut set, self.lookups);
        Some(set)
    }

    /// `exemptImages`: image patterns, as in `images.allow`.
    fn exempt_images<'d>(&mut self, value: Option<&'d Document<'_>>) -> Option<ImageSet<'d>> {
        self.image_list("exemptImages", value?, true)
    }

    /// A list of image patterns at `path`; `None` when null or invalid.
    fn image_set<'d>(&mut self, path: &str, value: &'d Document<'_>) -> Option<ImageSet<'d>> {
        self.image_list(path, value, false)
    }

    /// A list of image patterns at `path`, compiled only where it can match
    /// the request's images when `lazy` (the lists `rules::decide` and the
    /// exemption read, on the images as found: see `RequestImages`).
    fn image_list<'d>(&mut self, path: &str, value: &'d Document<'_>, lazy: bool) -> Option<ImageSet<'d>> {
        let entries = self.rule_entries(path, Some(value))?;
        let repositories = match &mut self.request_images {
            Some(images) if lazy && entries.len() >= LAZY_FROM => Some(images.gathered().repositories.clone()),
            _ => None,
        };
        let mut set = ImageSet::default();
        for (i, entry) in entries {
            if repositories.as_deref().is_some_and(|r| RequestImages::image_cannot_match(r, entry)) {
                set.keep_uncompiled(entry);
                continue;
            }
            if let Err(why) = set.insert(entry) {
                self.error(&format!("{path}[{i}]"), why);
            }
        }
        set.finish(self.lookups);
        Some(set)
    }

    /// An age such as `90d` or `168h` (s, m, h or d) at `path`: in seconds,
    /// and as written; `None` when absent, null or invalid.
    fn max_age<'d>(&mut self, path: &str, value: Option<&'d Document<'_>>) -> Option<(u64, &'d str)> {
        match value {
            None | Some(Document::Null) => None,
            Some(Document::String(age)) => match crate::rules::image_config::parse_age(age) {
                Ok(seconds) => Some((seconds, age.as_ref())),
                Err(why) => {
                    self.error(path, why);
                    None
                }
            },
            Some(Document::Number(n)) => {
                self.error(
                    path,
                    format_args!("the number {n} has no unit; write it as \"{n}d\", \"{n}h\", \"{n}m\" or \"{n}s\""),
                );
                None
            }
            Some(other) => {
                self.error(path, format_args!("expected an age such as 90d (s, m, h or d), found {}", describe(other)));
                None
            }
        }
    }

    fn boolean(&mut self, path: &str, value: Option<&Document>) -> bool {
        match value {
            None | Some(Document::Null) => false,
            Some(Document::Bool(b)) => *b,
            Some(other) => {
                self.error(path, format_args!("expected true or false, found {}", describe(other)));
                false
            }
        }
    }
}

/// `a, b, c` (not `join`: one instantiation of it for `String`s is enough).
fn one_of(known: &[&str]) -> String {
    let mut out = String::new();
    for (i, key) in known.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(key);
    }
    out
}

/// "a number", "the string \"x\"", … for type errors.
fn describe(value: &Document) -> String {
    match value {
        Document::Null => "null".into(),
        Document::Bool(b) => format!("the boolean {b}"),
        Document::Number(n) => format!("the number {n}"),
        Document::String(s) => format!("the string {s:?}"),
        Document::Array(_) | Document::Strings(_) => "a list".into(),
        Document::Object(_) => "a mapping".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

    /// A document that lives as long as the test (policies borrow it).
    fn doc(value: serde_json::Value) -> &'static Document<'static> {
        Box::leak(Box::new(Document::parse(value.to_string().leak().as_bytes()).unwrap()))
    }

    fn compile_json(bytes: &[u8]) -> Result<(), SettingsError> {
        check_json(bytes)
    }

    fn errors(document: serde_json::Value) -> Vec<String> {
        compile(doc(document)).err().map(|e| e.0).unwrap_or_default()
    }

    #[test]
    fn empty_and_null_settings_allow_everything() {
        for document in [json!({}), json!(null), json!({"registries": null, "images": {"allow": null}})] {
            let policy = compile(doc(document)).unwrap();
            assert!(policy.registries.allow.is_none() && policy.images.allow.is_none() && !policy.require_digest);
        }
    }

    #[test]
    fn the_issue_example_is_valid() {
        let document = json!({
            "registries": {"allow": ["public.ecr.aws", "*.corp.example", "registry.corp:5000"], "reject": ["docker.io"]},
            "images": {"allow": ["nginx", "quay.io/coreos/etcd:v3.4.12", "docker.io/bitnami/*"], "reject": []},
            "tags": {"allow": ["v*"], "reject": ["latest", "*-rc*"]},
            "digests": {"require": false}
        });
        assert_eq!(errors(document), Vec::<String>::new());
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        assert_eq!(
            errors(json!({"registry": {"allow": ["a.io"]}})),
            [
                "unknown setting \"registry\"; expected one of: registries, images, tags, digests, mirrors, signatures, modifyImagesWithDigest, imageFields, imageConfig, exemptImages, lookupsOnUpdate, vulnerabilities"
            ]
        );
        assert_eq!(
            errors(json!({"registries": {"allowed": ["a.io"]}})),
            ["unknown setting \"registries.allowed\"; expected one of: allow, reject"]
        );
        assert_eq!(
            errors(json!({"digests": {"required": true}})),
            ["unknown setting \"digests.required\"; expected one of: require, pin"]
        );
    }

    #[test]
    fn wrong_types_are_errors_naming_the_path() {
        assert_eq!(errors(json!([])), ["the settings: expected a mapping, found a list"]);
        assert_eq!(errors(json!({"registries": ["a.io"]})), ["registries: expected a mapping, found a list"]);
        assert_eq!(
            errors(json!({"registries": {"allow": "a.io"}})),
            ["registries.allow: expected a list of strings, found the string \"a.io\" (write [\"a.io\"])"]
        );
        assert_eq!(errors(json!({"tags": {"reject": [1]}})), ["tags.reject[0]: expected a string, found the number 1"]);
        assert_eq!(
            errors(json!({"digests": {"require": "yes"}})),
            ["digests.require: expected true or false, found the string \"yes\""]
        );
    }

    #[test]
    fn invalid_entries_name_their_index_and_every_error_is_reported() {
        let found = errors(json!({
            "registries": {"allow": ["public.ecr.aws", "*.corp.example", "https://reg.corp"]},
            "images": {"reject": ["Nginx:1"]},
            "tags": {"reject": ["bad tag"]}
        }));
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(
            found[0],
            "registries.allow[2]: \"https://reg.corp\" is not a registry host; write it without a scheme"
        );
        assert!(found[1].starts_with("images.reject[0]: \"Nginx:1\" is not a valid image reference"), "{}", found[1]);
        assert!(found[2].starts_with("tags.reject[0]: \"bad tag\" is not a tag pattern"));
    }

    #[test]
    fn pin_and_mirrors_are_read() {
        let policy = compile(doc(json!({
            "digests": {"pin": "attempt"},
            "mirrors": [{"from": "docker.io", "to": "registry.corp.example/dockerhub"}]
        })))
        .unwrap();
        assert_eq!(policy.pin, Pin::Attempt);
        assert_eq!(policy.mirrors.0.len(), 1);
        assert!(policy.mutates());
        assert!(!compile(doc(json!({"digests": {"pin": "never"}, "mirrors": []}))).unwrap().mutates());
    }

    #[test]
    fn bad_pin_and_mirror_settings_name_their_path() {
        assert_eq!(
            errors(json!({"digests": {"pin": "always"}})),
            ["digests.pin: expected never, attempt or required, found \"always\""]
        );
        assert_eq!(
            errors(json!({"digests": {"pin": true}})),
            ["digests.pin: expected never, attempt or required, found the boolean true"]
        );
        assert_eq!(
            errors(json!({"mirrors": {"from": "docker.io"}})),
            ["mirrors: expected a list of {from, to} rules, found a mapping"]
        );
        assert_eq!(
            errors(json!({"mirrors": [
                "docker.io",
                {"from": "docker.io"},
                {"from": "docker.io", "to": "dockerhub"},
                {"from": "quay.io", "to": "mirror.corp", "via": "x"},
                {"from": "ghcr.io", "to": "mirror.corp"},
                {"from": "GHCR.io", "to": "other.corp"},
                {"from": 1, "to": "mirror.corp"}
            ]})),
            [
                "mirrors[0]: expected a mapping with from and to, found the string \"docker.io\"",
                "mirrors[1]: to is missing",
                "mirrors[2].to: \"dockerhub\" is not a registry host with a dot, a port or localhost, then an optional path (registry.corp.example/dockerhub)",
                "unknown setting \"mirrors[3].via\"; expected one of: from, to",
                "mirrors[5].from: \"GHCR.io\" is already matched by mirrors[4]; only the first matching rule applies",
                "mirrors[6].from: expected a string, found the number 1",
            ]
        );
    }

    #[test]
    fn long_error_lists_are_bounded() {
        let bad: Vec<String> = (0..100).map(|i| format!("bad host {i}")).collect();
        let message = compile(doc(json!({"registries": {"reject": bad}}))).unwrap_err().to_string();
        assert!(message.ends_with("; … and 80 more"), "{message}");
    }

    #[test]
    fn duplicate_keys_are_an_error_not_a_silent_override() {
        let err = compile_json(br#"{"registries": {"allow": ["a.io"]}, "registries": {}}"#).unwrap_err().to_string();
        assert_eq!(err, "settings are not valid JSON: the key \"registries\" appears twice in one mapping");
    }

    #[test]
    fn settings_that_are_not_json_are_an_error() {
        let err = compile_json(b"registries: [").unwrap_err().to_string();
        assert!(err.starts_with("settings are not valid JSON"), "{err}");
    }
}
