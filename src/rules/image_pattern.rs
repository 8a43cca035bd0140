//! Image patterns (`images.allow` / `images.reject`).
//!
//! Without `*` or `?`, a pattern is a reference, normalized exactly as images
//! are (`image.rs`): with no tag or digest it matches every tag and digest of
//! that repository on that registry; with a tag, that tag (`nginx:latest`
//! matches `nginx`, whose tag is implicitly `latest`); with a digest, that
//! digest; with both, both.
//!
//! With wildcards, the pattern is split the way Docker splits a reference:
//! no `/`, or a first component that is not a host (no `.` or `:`, not
//! `localhost`, no uppercase letter), means Docker Hub. The registry part is
//! then a host pattern (`host_pattern.rs`: case, ports, Docker Hub aliases),
//! and the rest is matched part by part, as literal patterns are: the path
//! pattern against the image's path (`*` may span `/`), a tag pattern (if
//! any) against the image's tag (`latest` when it names neither tag nor
//! digest), a digest pattern (if any) against its digest; a part the pattern
//! leaves out matches anything. (Matching the whole `path:tag` string instead
//! would make `ngin?` match nothing at all: fail-open in a reject list.) A
//! Docker Hub pattern of one component gets `library/`, as references do.
//! So `docker.io/bitnami/*` matches `bitnami/redis:7` but never
//! `docker.io/bitnami-evil/redis` or `evil.com/docker.io/bitnami/redis`.
//! A Docker Hub pattern of one component that starts with `*` (`*`,
//! `docker.io/*`) is refused as ambiguous: write `docker.io/library/*` for
//! official images or `docker.io/*/*` for all of Docker Hub.

use std::borrow::Cow;

use crate::references::image::Image;
use crate::references::reference::{self, DOCKER_HUB, looks_like_domain};
use crate::references::registry::Registry;
use crate::rules::WrittenRules;
use crate::rules::glob::Glob;
use crate::rules::host_pattern::HostPattern;
use crate::rules::str_map::StrMap;

/// A pattern without wildcards, normalized (borrowing the pattern's text).
#[derive(Debug)]
struct LiteralRule<'p> {
    registry_host: Cow<'p, str>,
    registry_port: Option<u16>,
    tag: Option<&'p str>,
    digest: Option<&'p str>,
    index: usize,
}

/// A pattern with wildcards.
#[derive(Debug)]
struct GlobRule<'p> {
    registry: HostPattern<'p>,
    path: Glob,
    tag: Option<Glob>,
    digest: Option<Glob>,
    index: usize,
}

impl GlobRule<'_> {
    fn matches(&self, image: &Image<'_>) -> bool {
        let part = |glob: &Option<Glob>, value: Option<&str>| match (glob, value) {
            (None, _) => true,
            (Some(glob), Some(value)) => glob.matches(value),
            (Some(_), None) => false,
        };
        self.registry.matches(&image.registry)
            && self.path.matches(&image.path)
            && part(&self.tag, image.tag_for_rules())
            && part(&self.digest, image.digest)
    }
}

/// Many image patterns. Literal patterns are looked up by repository path.
#[derive(Debug, Default)]
pub struct ImageSet<'p> {
    /// The compiled rules as written, by index.
    rules: Vec<&'p str>,
    /// The whole list as messages name it.
    written: WrittenRules<'p>,
    by_path: StrMap<'p, LiteralRule<'p>>,
    globs: Vec<GlobRule<'p>>,
}

impl<'p> ImageSet<'p> {
    /// Validates and adds a pattern; the error is a sentence about `pattern`.
    pub fn insert(&mut self, pattern: &'p str) -> Result<(), String> {
        self.written.count(pattern);
        let index = self.rules.len();
        if pattern.contains("://") {
            return Err(format!("{pattern:?} is not an image reference; write it without a scheme"));
        }
        if Glob::has_wildcards(pattern) {
            let (registry, rest) = split_glob_pattern(pattern)?;
            let (path, tag, digest) = split_rest(&rest);
            self.globs.push(GlobRule {
                registry,
                path: Glob::new(path),
                tag: tag.map(Glob::new),
                digest: digest.map(Glob::new),
                index,
            });
        } else {
            let image = Image::parse(pattern).map_err(|e| format!("{pattern:?} is {e}"))?;
            self.by_path.push(
                image.path,
                LiteralRule {
                    registry_host: image.registry.host,
                    registry_port: image.registry.port,
                    tag: image.tag,
                    digest: image.digest,
                    index,
                },
            );
        }
        self.rules.push(pattern);
        Ok(())
    }

    /// Makes lookups searches when `lookups` pay for it (see `str_map.rs`);
    /// call once all rules are in.
    pub fn finish(&mut self, lookups: usize) {
        self.by_path.finish(lookups);
    }

    /// A rule that cannot match the request's images (see
    /// `settings::RequestImages`): counted, for messages, and neither parsed
    /// nor indexed.
    pub fn keep_uncompiled(&mut self, written: &'p str) {
        self.written.count(written);
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

    /// The first rule (as written) that matches the image.
    pub fn find(&self, image: &Image<'_>) -> Option<&str> {
        let literal = self.by_path.find(image.path.as_ref(), |r| {
            r.registry_host == image.registry.host
                && r.registry_port == image.registry.port
                && r.tag.is_none_or(|t| image.tag_for_rules() == Some(t))
                && r.digest.is_none_or(|d| image.digest == Some(d))
        });
        let index =
            literal.map(|r| r.index).or_else(|| self.globs.iter().find(|g| g.matches(image)).map(|g| g.index))?;
        Some(self.rules[index])
    }
}

/// Splits a wildcard pattern into its registry host pattern and the pattern
/// for `path[:tag][@digest]`, and checks that it is a reference once its
/// wildcards are set aside.
fn split_glob_pattern(pattern: &str) -> Result<(HostPattern<'_>, String), String> {
    let (registry, rest) = match pattern.split_once('/') {
        Some((first, rest)) if looks_like_domain(first) => (first, rest),
        _ => (DOCKER_HUB, pattern),
    };
    let registry_pattern = HostPattern::parse(registry).map_err(|e| format!("{pattern:?}: its registry part {e}"))?;
    let docker_hub = !Glob::has_wildcards(registry) && Registry::from_domain(registry).is_ok_and(|r| r.is_docker_hub());
    let rest = if docker_hub && !rest.contains('/') {
        if rest.starts_with('*') {
            // Read as Docker reads names, `docker.io/*` means official images
            // only; a reject rule meant as "all of Docker Hub" would then let
            // most of it through. Make the author say which.
            return Err(format!(
                "{pattern:?} is ambiguous: a one-component Docker Hub name is an official image, so it would mean \"docker.io/library/{rest}\"; write that, \"docker.io/*/*\" for every Docker Hub repository, or \"*:*/*\" for every image of every registry"
            ));
        }
        format!("library/{rest}")
    } else {
        rest.to_string()
    };
    check_rest_pattern(&rest).map_err(|why| format!("{pattern:?} is not a valid image pattern: {why}"))?;
    Ok((registry_pattern, rest))
}

/// `path[:tag][@digest]` → its parts. Neither wildcards nor paths hold `:`
/// or `@`, so the split is unambiguous.
fn split_rest(rest: &str) -> (&str, Option<&str>, Option<&str>) {
    let (name_and_tag, digest) = match rest.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (rest, None),
    };
    match name_and_tag.split_once(':') {
        Some((path, tag)) => (path, Some(tag), digest),
        None => (name_and_tag, None, digest),
    }
}

/// `path[:tag][@digest]` with wildcards: each part must follow its grammar
/// once each wildcard is replaced by a letter.
fn check_rest_pattern(rest: &str) -> Result<(), String> {
    let (path, tag, digest) = split_rest(rest);
    let set_aside = |s: &str| s.replace(['*', '?'], "a");
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err("the repository path must be lowercase".into());
    }
    // A path is valid when a reference made of it is.
    if reference::parse(&format!("registry.invalid/{}", set_aside(path))).is_err() {
        return Err(format!("{path:?} is not a repository path"));
    }
    if let Some(tag) = tag
        && !reference::is_tag(&set_aside(tag))
    {
        return Err(format!("{tag:?} is not a tag"));
    }
    if let Some(digest) = digest {
        let ok = match digest.split_once(':') {
            Some((algorithm, hex)) => {
                !algorithm.is_empty()
                    && algorithm.bytes().all(|b| b.is_ascii_alphanumeric() || b"+._-*?".contains(&b))
                    && !hex.is_empty()
                    && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f' | b'*' | b'?'))
            }
            None => digest == "*",
        };
        if !ok {
            return Err(format!("{digest:?} is not a digest (algorithm:hex)"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set<'p>(patterns: &[&'p str]) -> ImageSet<'p> {
        let mut set = ImageSet::default();
        for p in patterns {
            set.insert(p).unwrap();
        }
        set
    }

    fn matches(pattern: &str, image: &str) -> bool {
        set(&[pattern]).find(&Image::parse(image).unwrap()).is_some()
    }

    const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    #[test]
    fn repository_pattern_matches_every_tag_and_digest_of_that_repository_only() {
        assert!(matches("nginx", "docker.io/library/nginx:1.25"));
        assert!(matches("nginx", &format!("registry-1.docker.io/library/nginx@{DIGEST}")));
        assert!(matches("nginx", "index.docker.io/nginx"));
        assert!(!matches("nginx", "evil.com/library/nginx"));
        assert!(!matches("nginx", "nginx-evil"));
        assert!(!matches("nginx", "docker.io/library/nginx/sub"));
        assert!(!matches("nginx", "docker.io:5000/library/nginx"));
    }

    #[test]
    fn tag_and_digest_in_pattern_must_match() {
        assert!(matches("quay.io/coreos/etcd:v3.4.12", "quay.io/coreos/etcd:v3.4.12"));
        assert!(matches("quay.io/coreos/etcd:v3.4.12", &format!("quay.io/coreos/etcd:v3.4.12@{DIGEST}")));
        assert!(!matches("quay.io/coreos/etcd:v3.4.12", "quay.io/coreos/etcd:v3.4.13"));
        assert!(!matches("quay.io/coreos/etcd:v3.4.12", "QUAY.io/coreos/etcd"));
        assert!(matches("nginx:latest", "nginx"));
        assert!(matches(&format!("nginx@{DIGEST}"), &format!("nginx:1@{DIGEST}")));
        assert!(!matches(&format!("nginx@{DIGEST}"), "nginx:1"));
    }

    #[test]
    fn wildcard_patterns_keep_their_registry() {
        assert!(matches("docker.io/bitnami/*", "bitnami/redis:7"));
        assert!(matches("docker.io/bitnami/*", "index.docker.io/bitnami/redis"));
        assert!(matches("bitnami/*", "docker.io/bitnami/redis:7"));
        assert!(!matches("docker.io/bitnami/*", "docker.io/bitnami-evil/redis"));
        assert!(!matches("docker.io/bitnami/*", "evil.com/docker.io/bitnami/redis"));
        assert!(!matches("docker.io/bitnami/*", "evil.com/bitnami/redis"));
        assert!(matches("*.corp.example/team/*", "a.corp.example/team/app:1"));
        assert!(!matches("*.corp.example/team/*", "a.corp.example/other/app:1"));
        assert!(matches("quay.io/org/app:v1.*", "quay.io/org/app:v1.2"));
        assert!(matches("quay.io/org/app:v1.?", &format!("quay.io/org/app:v1.2@{DIGEST}")));
        assert!(!matches("quay.io/org/app:v1.?", &format!("quay.io/org/app@{DIGEST}")));
        assert!(matches("quay.io/org/app@sha256:1*", &format!("quay.io/org/app:v1@{DIGEST}")));
        assert!(matches("docker.io/bitnami/*", "bitnami/sub/redis"));
        assert!(!matches("quay.io/org/app:v1.*", "quay.io/org/app:v2.0"));
        assert!(matches("reg.corp:*/app*", "reg.corp:5000/app:1"));
    }

    #[test]
    fn wildcard_patterns_without_registry_mean_docker_hub_official_images() {
        assert!(matches("ngin?", "nginx:1"));
        assert!(matches("ngin?", "nginx"));
        assert!(!matches("ngin?", "nginx-evil:1"));
        assert!(matches("library/*", "redis"));
        assert!(!matches("library/*", "bitnami/redis"));
        assert!(!matches("docker.io/library/*", "quay.io/redis"));
        assert!(matches("*/*", "bitnami/redis"));
        assert!(!matches("*/*", "quay.io/org/redis"));
        assert!(matches("*:*/*", "quay.io/org/redis"));
    }

    #[test]
    fn implicit_latest_is_part_of_what_wildcards_see() {
        assert!(matches("nginx:l*", "nginx"));
        assert!(!matches("nginx:1*", "nginx"));
    }

    #[test]
    fn invalid_patterns_say_why() {
        let err = |p: &str| ImageSet::default().insert(p).expect_err(p);
        assert!(err("Nginx/App").contains("must be lowercase"), "{}", err("Nginx/App"));
        assert!(err("quay.io/Org/*").contains("must be lowercase"));
        assert!(err("quay.io/org//*").contains("is not a repository path"));
        assert!(err("quay.io/org/*:bad~tag").contains("is not a tag"));
        assert!(err("https://quay.io/*").contains("without a scheme"));
        assert!(err("https://quay.io/app").contains("without a scheme"));
        assert!(err("*").contains("is ambiguous"), "{}", err("*"));
        assert!(err("docker.io/*").contains("write that, \"docker.io/*/*\" for every Docker Hub repository"));
        assert!(err("*").ends_with("or \"*:*/*\" for every image of every registry"), "{}", err("*"));
        assert!(err("nginx@sha256:xyz").contains("not a valid image reference"));
        assert!(err("quay.io:99999/*").contains("1-65535"));
    }
}
