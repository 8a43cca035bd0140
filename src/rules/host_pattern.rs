//! Registry host patterns (`registries.allow` / `registries.reject`, and the
//! registry part of image patterns).
//!
//! Syntax: `host`, `host:port` or `host:*`, where `host` may use `*` and `?`
//! (see `glob.rs`) or be a bracketed IPv6 address. Matching:
//! - case-insensitive; the image's registry is in canonical form
//!   (`registry.rs`), and a Docker Hub image matches when any of its names
//!   (`docker.io`, `index.docker.io`, `registry-1.docker.io`) matches;
//! - no port in the pattern: the image has no port or port 443; `host:5000`:
//!   port 5000 only; `host:*`: any port, the default one included;
//! - `*` alone: any host on the default port; `*:*`: any registry at all;
//! - `*.corp.example` matches `a.corp.example` and `a.b.corp.example`, never
//!   `corp.example`, `evilcorp.example` or `a.corp.example.evil.io`.
//!
//! `HostSet` compiles many patterns, globset-style: literal hosts go into one
//! table and `*.suffix` patterns into another (looked up once per dot of the
//! image's host), sorted for binary search when the request makes enough
//! lookups to pay for it (`str_map.rs`); only the other wildcard patterns are
//! tried one by one. Plain lowercase hosts and `*.suffix` patterns, nearly
//! every rule in practice, are checked in one pass and borrowed, not copied:
//! settings are compiled on every request.

use std::borrow::Cow;

use crate::references::reference::{is_host, is_lowercase_host_name, split_host_port};
use crate::references::registry::{Registry, canonical_host, parse_port};
use crate::rules::WrittenRules;
use crate::rules::glob::Glob;
use crate::rules::str_map::StrMap;

/// Which ports a pattern admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortRule {
    /// No port written (or 443): the image's registry has the default port.
    Default,
    Exact(u16),
    Any,
}

impl PortRule {
    fn admits(self, port: Option<u16>) -> bool {
        match self {
            PortRule::Default => port.is_none(),
            PortRule::Exact(p) => port == Some(p),
            PortRule::Any => true,
        }
    }
}

/// One validated host pattern; a literal host borrows the pattern's text
/// when it is already canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern<'p> {
    host: HostMatch<'p>,
    port: PortRule,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostMatch<'p> {
    /// Canonical host (lowercase, canonical IPv6).
    Literal(Cow<'p, str>),
    /// `*.suffix`: the suffix with its leading dot, no other wildcard.
    DotSuffix(Cow<'p, str>),
    Glob(Glob),
}

impl<'p> HostPattern<'p> {
    /// Validates a pattern; the error is a sentence about `pattern` that the
    /// settings module prefixes with the setting's path.
    pub fn parse(pattern: &'p str) -> Result<Self, String> {
        // The common cases first, without copying: a lowercase host without
        // port or wildcard (`registry.corp.example`) is its own canonical
        // form, and `*.corp.example` its own suffix.
        if is_lowercase_host_name(pattern) {
            return Ok(HostPattern { host: HostMatch::Literal(Cow::Borrowed(pattern)), port: PortRule::Default });
        }
        if pattern.strip_prefix("*.").is_some_and(is_lowercase_host_name) {
            return Ok(HostPattern {
                host: HostMatch::DotSuffix(Cow::Borrowed(&pattern[1..])),
                port: PortRule::Default,
            });
        }
        if pattern.is_empty() {
            return Err("is empty; write a registry host such as \"registry.corp.example\"".into());
        }
        if pattern.contains("://") {
            return Err(format!("{pattern:?} is not a registry host; write it without a scheme"));
        }
        if pattern.contains('/') {
            return Err(format!(
                "{pattern:?} is not a registry host; it has a path (to match repositories, use images)"
            ));
        }
        let (host, port) = split_host_port(pattern);
        let port = match port {
            None => PortRule::Default,
            Some("*") => PortRule::Any,
            Some(digits) => match parse_port(digits) {
                Some(443) => PortRule::Default,
                Some(p) => PortRule::Exact(p),
                None => return Err(format!("{pattern:?}: port {digits:?} is not a number in 1-65535 (or *)")),
            },
        };
        let lowercase = host.to_ascii_lowercase();
        let host = if Glob::has_wildcards(&lowercase) {
            // Set the wildcards aside; what is left must be host characters.
            let set_aside = lowercase.replace(['*', '?'], "a");
            if lowercase.starts_with('[')
                || !set_aside.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            {
                return Err(format!(
                    "{pattern:?} is not a registry host pattern; only letters, digits, '.', '-', '*' and '?' may appear"
                ));
            }
            match lowercase.strip_prefix("*.") {
                Some(suffix) if !Glob::has_wildcards(suffix) && is_host(suffix) => {
                    HostMatch::DotSuffix(Cow::Owned(format!(".{suffix}")))
                }
                _ => HostMatch::Glob(Glob::new(&lowercase)),
            }
        } else {
            if !is_host(host) {
                return Err(format!("{pattern:?} is not a valid registry host"));
            }
            HostMatch::Literal(canonical_host(host).map_err(|e| e.to_string())?)
        };
        Ok(HostPattern { host, port })
    }

    /// The pattern with its own copy of the text it borrowed.
    pub fn into_owned(self) -> HostPattern<'static> {
        let host = match self.host {
            HostMatch::Literal(host) => HostMatch::Literal(Cow::Owned(host.into_owned())),
            HostMatch::DotSuffix(suffix) => HostMatch::DotSuffix(Cow::Owned(suffix.into_owned())),
            HostMatch::Glob(glob) => HostMatch::Glob(glob),
        };
        HostPattern { host, port: self.port }
    }

    pub fn matches(&self, registry: &Registry<'_>) -> bool {
        self.port.admits(registry.port)
            && registry.names().any(|name| match &self.host {
                HostMatch::Literal(host) => host == name,
                HostMatch::DotSuffix(suffix) => name.len() > suffix.len() && name.ends_with(suffix.as_ref()),
                HostMatch::Glob(glob) => glob.matches(name),
            })
    }
}

/// Many host patterns, compiled for lookup. Remembers each rule as written
/// (borrowed from the settings document, as the literal hosts are).
#[derive(Debug, Default)]
pub struct HostSet<'p> {
    /// The compiled rules as written, by index.
    rules: Vec<&'p str>,
    /// The whole list as messages name it.
    written: WrittenRules<'p>,
    literal: StrMap<'p, (PortRule, usize)>,
    dot_suffix: StrMap<'p, (PortRule, usize)>,
    others: Vec<(HostPattern<'p>, usize)>,
}

impl<'p> HostSet<'p> {
    pub fn insert(&mut self, written: &'p str, pattern: HostPattern<'p>) {
        self.written.count(written);
        let index = self.rules.len();
        self.rules.push(written);
        match pattern.host {
            HostMatch::Literal(host) => self.literal.push(host, (pattern.port, index)),
            HostMatch::DotSuffix(suffix) => self.dot_suffix.push(suffix, (pattern.port, index)),
            HostMatch::Glob(_) => self.others.push((pattern, index)),
        }
    }

    /// A rule that cannot match the request's registries (see
    /// `settings::RequestImages`): counted as written, for messages, and
    /// neither parsed nor indexed.
    pub fn keep_uncompiled(&mut self, written: &'p str) {
        self.written.count(written);
    }

    /// Makes lookups searches when `lookups` pay for it (see `str_map.rs`);
    /// call once all rules are in.
    pub fn finish(&mut self, lookups: usize) {
        self.literal.finish(lookups);
        self.dot_suffix.finish(lookups);
    }

    /// The first rules as written (up to `ALLOWED_RULES_SHOWN`), for
    /// messages.
    pub fn first_rules(&self) -> &[&'p str] {
        self.written.first()
    }

    /// How many rules the list has, compiled or not.
    pub fn rule_count(&self) -> usize {
        self.written.total()
    }

    /// The first rule (as written) that matches the registry.
    pub fn find(&self, registry: &Registry<'_>) -> Option<&str> {
        let port_ok = |(port, _): &(PortRule, usize)| port.admits(registry.port);
        let found = registry.names().find_map(|name| {
            self.literal.find(name, port_ok).or_else(|| {
                // Each proper dot-suffix of the name: "a.b.c" -> ".b.c", ".c".
                name.match_indices('.')
                    .filter(|(at, _)| *at > 0)
                    .find_map(|(at, _)| self.dot_suffix.find(&name[at..], port_ok))
            })
        });
        let found = found.map(|(_, i)| *i);
        found.or_else(|| self.others.iter().find(|(p, _)| p.matches(registry)).map(|(_, i)| *i)).map(|i| self.rules[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set<'p>(patterns: &[&'p str]) -> HostSet<'p> {
        let mut set = HostSet::default();
        for p in patterns {
            set.insert(p, HostPattern::parse(p).unwrap());
        }
        set
    }

    fn matches(patterns: &[&str], domain: &str) -> bool {
        let registry = Registry::from_domain(domain).unwrap();
        let by_set = set(patterns).find(&registry).is_some();
        // The one-by-one matcher and the compiled set must agree.
        let one_by_one = patterns.iter().any(|p| HostPattern::parse(p).unwrap().matches(&registry));
        assert_eq!(by_set, one_by_one, "{patterns:?} ~ {domain}");
        by_set
    }

    #[test]
    fn pattern_without_port_matches_default_port_only() {
        assert!(matches(&["registry.corp"], "registry.corp"));
        assert!(matches(&["registry.corp"], "registry.corp:443"));
        assert!(matches(&["registry.corp"], "REGISTRY.Corp"));
        assert!(!matches(&["registry.corp"], "registry.corp:5000"));
    }

    #[test]
    fn pattern_with_port_matches_that_port_and_star_any_port() {
        assert!(matches(&["registry.corp:5000"], "registry.corp:5000"));
        assert!(!matches(&["registry.corp:5000"], "registry.corp"));
        assert!(matches(&["registry.corp:*"], "registry.corp:5000"));
        assert!(matches(&["registry.corp:*"], "registry.corp"));
        assert!(matches(&["registry.corp:443"], "registry.corp"));
    }

    #[test]
    fn star_is_any_host_on_default_port_and_star_star_is_anything() {
        assert!(matches(&["*"], "evil.com"));
        assert!(!matches(&["*"], "evil.com:8443"));
        assert!(matches(&["*:*"], "evil.com:8443"));
        assert!(matches(&["*:*"], "[::1]:5000"));
    }

    #[test]
    fn dot_suffix_matches_subdomains_only() {
        let p = ["*.corp.example"];
        assert!(matches(&p, "a.corp.example"));
        assert!(matches(&p, "a.b.corp.example"));
        assert!(matches(&p, "A.CORP.EXAMPLE"));
        assert!(!matches(&p, "corp.example"));
        assert!(!matches(&p, "evilcorp.example"));
        assert!(!matches(&p, "a.corp.example.evil.io"));
        assert!(!matches(&p, "a.corp.example:5000"));
    }

    #[test]
    fn general_globs() {
        assert!(matches(&["reg-?.corp"], "reg-1.corp"));
        assert!(!matches(&["reg-?.corp"], "reg-10.corp"));
        assert!(matches(&["*.corp.*"], "a.corp.io"));
    }

    #[test]
    fn docker_hub_matches_under_all_its_names() {
        for pattern in ["docker.io", "index.docker.io", "registry-1.docker.io", "*.docker.io", "DOCKER.IO:443"] {
            for image_domain in ["docker.io", "index.docker.io", "registry-1.docker.io", "docker.io:443"] {
                assert!(matches(&[pattern], image_domain), "{pattern} ~ {image_domain}");
            }
        }
        assert!(!matches(&["docker.io"], "docker.io:5000"));
        assert!(!matches(&["docker.io"], "evil.docker.io.example"));
    }

    #[test]
    fn ipv6_literals_match_in_any_spelling() {
        assert!(matches(&["[::1]:5000"], "[0:0:0:0:0:0:0:1]:5000"));
        assert!(!matches(&["[::1]:5000"], "[::2]:5000"));
    }

    #[test]
    fn thousand_literal_rules_are_looked_up() {
        let patterns: Vec<String> = (0..1000).map(|i| format!("reg{i}.corp")).collect();
        let refs: Vec<&str> = patterns.iter().map(String::as_str).collect();
        let set = set(&refs);
        assert_eq!(set.find(&Registry::from_domain("reg999.corp").unwrap()), Some("reg999.corp"));
        assert_eq!(set.others.len(), 0);
    }

    #[test]
    fn invalid_patterns_say_why() {
        let err = |p: &str| HostPattern::parse(p).unwrap_err();
        assert_eq!(err("https://reg.corp"), "\"https://reg.corp\" is not a registry host; write it without a scheme");
        assert!(err("reg.corp/team").contains("has a path"));
        assert!(err("reg.corp:70000").contains("port \"70000\" is not a number in 1-65535"));
        assert!(err("reg.corp:0").contains("1-65535"));
        assert!(err("reg.corp:http").contains("port"));
        assert!(err("foo_bar.com").contains("not a valid registry host"));
        assert!(err("reg corp").contains("not a valid registry host"));
        assert!(err("*.reg corp").contains("only letters, digits"));
        assert!(err("").contains("is empty"));
        assert!(err("[zz::1]").contains("not a valid registry host"));
        assert!(err("[::::::]").contains("not an IPv6 address"));
    }
}
