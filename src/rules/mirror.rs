//! Mirrors: pulls from one registry routed through another, such as every
//! Docker Hub pull through a pull-through cache.
//!
//! A rule `{from: <host pattern>, to: <host>[/<prefix>]}` rewrites an image
//! whose registry matches `from` (with the matching of `registries`) to the
//! `to` host, with the prefix put before its path:
//! `nginx:1.25` with `{from: docker.io, to: registry.corp.example/dockerhub}`
//! becomes `registry.corp.example/dockerhub/library/nginx:1.25` (the
//! `library/` of official images stays, as pull-through caches such as
//! Harbor's expect it). The first matching rule wins.
//!
//! Rewriting is idempotent, because Kubernetes may call a mutating webhook
//! again on its own output (reinvocation), and an UPDATE may carry an image
//! this policy already rewrote: an image that already lies under any rule's
//! `to` (same registry, path under the prefix) is left as it is.

use std::borrow::Cow;

use crate::references::image::Image;
use crate::references::reference::{self, NAME_TOTAL_LENGTH_MAX, looks_like_domain};
use crate::references::registry::Registry;
use crate::rules::host_pattern::HostPattern;

/// One validated mirror rule.
#[derive(Debug)]
pub struct Mirror {
    from: HostPattern<'static>,
    /// `from` as written, for messages.
    pub from_written: String,
    /// The `to` registry, canonical.
    to: Registry<'static>,
    /// Path prefix without slashes at either end; empty for none.
    prefix: String,
}

impl Mirror {
    /// Validates a rule; each error names the field (`from`, `to`) it is about.
    pub fn parse(from: &str, to: &str) -> Result<Mirror, (&'static str, String)> {
        let from_pattern = HostPattern::parse(from).map_err(|e| ("from", e))?.into_owned();
        let (to, prefix) = parse_target(to).map_err(|e| ("to", e))?;
        Ok(Mirror { from: from_pattern, from_written: from.to_string(), to, prefix })
    }

    /// The `to` of this rule as it is written into images.
    pub fn target(&self) -> String {
        if self.prefix.is_empty() { self.to.to_string() } else { format!("{}/{}", self.to, self.prefix) }
    }

    /// The image lies under this rule's target.
    fn holds(&self, image: &Image<'_>) -> bool {
        image.registry.host == self.to.host
            && image.registry.port == self.to.port
            && (self.prefix.is_empty()
                || image.path.strip_prefix(self.prefix.as_str()).is_some_and(|rest| rest.starts_with('/')))
    }

    /// `image` moved under this rule's target.
    fn rewrite<'a>(&self, image: &Image<'a>) -> Result<Image<'a>, String> {
        let path = if self.prefix.is_empty() {
            image.path.clone()
        } else {
            Cow::Owned(format!("{}/{}", self.prefix, image.path))
        };
        // The limit the grammar puts on a repository path (see image.rs).
        if path.len() > NAME_TOTAL_LENGTH_MAX {
            return Err(format!(
                "mirrored to {:?} its path would be {} characters long (at most {NAME_TOTAL_LENGTH_MAX})",
                self.target(),
                path.len()
            ));
        }
        Ok(Image { registry: self.to.clone(), path, tag: image.tag, digest: image.digest })
    }
}

/// `to`: a registry host that reads as one (`.`, `:` or `localhost`), an
/// optional path prefix, no tag or digest.
fn parse_target(to: &str) -> Result<(Registry<'static>, String), String> {
    if to.contains("://") {
        return Err(format!("{to:?} is not a registry; write it without a scheme"));
    }
    let expected =
        "a registry host with a dot, a port or localhost, then an optional path (registry.corp.example/dockerhub)";
    // One trailing slash is forgiven (`registry.corp.example/dockerhub/`).
    let trimmed = to.strip_suffix('/').unwrap_or(to);
    let (domain, prefix) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    // The grammar decides what a host and a path are: `to` followed by one
    // more component must parse as a name whose domain is the `to` host.
    let probe = format!("{trimmed}/x");
    let parsed = reference::parse(&probe).map_err(|e| format!("{to:?} is not {expected}: {e}"))?;
    if !looks_like_domain(domain) || parsed.domain != domain || parsed.tag.is_some() || parsed.digest.is_some() {
        return Err(format!("{to:?} is not {expected}"));
    }
    let registry = Registry::from_domain(domain).map_err(|e| format!("{to:?}: {e}"))?;
    // A host recognized only by its case (`Mirror/x`) would be written in
    // lowercase, and `mirror/x` reads as a Docker Hub image.
    if registry.port.is_none() && !looks_like_domain(&registry.host) {
        return Err(format!("{to:?} is not {expected}"));
    }
    Ok((registry.into_owned(), prefix.to_string()))
}

/// Mirror rules, in order.
#[derive(Debug, Default)]
pub struct Mirrors(pub Vec<Mirror>);

/// What mirroring did to one image.
#[derive(Debug)]
pub enum Mirrored<'a> {
    /// No rule applies, or the image already lies under a target.
    Unchanged,
    Moved(Image<'a>),
    /// The rewritten name would be invalid; the image is refused.
    Refused(String),
}

impl Mirrors {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The index of an earlier rule with the same `from` (written the same
    /// way, case aside), which makes rule `index` unreachable.
    pub fn shadowed_by(&self, rule: &Mirror) -> Option<usize> {
        self.0.iter().position(|earlier| earlier.from_written.eq_ignore_ascii_case(&rule.from_written))
    }

    pub fn apply<'a>(&self, image: &Image<'a>) -> Mirrored<'a> {
        if self.0.iter().any(|rule| rule.holds(image)) {
            return Mirrored::Unchanged;
        }
        match self.0.iter().find(|rule| rule.from.matches(&image.registry)) {
            None => Mirrored::Unchanged,
            Some(rule) => match rule.rewrite(image) {
                Ok(moved) => Mirrored::Moved(moved),
                Err(why) => Mirrored::Refused(why),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mirrors(rules: &[(&str, &str)]) -> Mirrors {
        Mirrors(rules.iter().map(|(from, to)| Mirror::parse(from, to).unwrap()).collect())
    }

    fn apply(mirrors: &Mirrors, image: &str) -> String {
        match mirrors.apply(&Image::parse(image).unwrap()) {
            Mirrored::Unchanged => "unchanged".into(),
            Mirrored::Moved(image) => image.to_string(),
            Mirrored::Refused(why) => format!("refused: {why}"),
        }
    }

    #[test]
    fn docker_hub_images_move_under_the_prefix_with_library() {
        let m = mirrors(&[("docker.io", "registry.corp.example/dockerhub")]);
        assert_eq!(apply(&m, "nginx:1.25"), "registry.corp.example/dockerhub/library/nginx:1.25");
        assert_eq!(apply(&m, "index.docker.io/bitnami/redis"), "registry.corp.example/dockerhub/bitnami/redis:latest");
        assert_eq!(apply(&m, "quay.io/app:1"), "unchanged");
    }

    #[test]
    fn the_first_matching_rule_wins_and_ports_count() {
        let m = mirrors(&[("*.corp.example", "mirror.corp:5000"), ("*", "catchall.corp/all")]);
        assert_eq!(apply(&m, "git.corp.example/team/app:1"), "mirror.corp:5000/team/app:1");
        assert_eq!(apply(&m, "ghcr.io/team/app:1"), "catchall.corp/all/team/app:1");
    }

    #[test]
    fn rewriting_twice_is_rewriting_once() {
        let m = mirrors(&[("*", "mirror.corp/hub")]);
        let once = apply(&m, "nginx:1.25");
        assert_eq!(once, "mirror.corp/hub/library/nginx:1.25");
        assert_eq!(apply(&m, &once), "unchanged");
        // Under the host but not under the prefix: still moved.
        assert_eq!(apply(&m, "mirror.corp/other/app"), "mirror.corp/hub/other/app:latest");
        assert_eq!(apply(&m, "mirror.corp/hubx/app"), "mirror.corp/hub/hubx/app:latest");
    }

    #[test]
    fn digests_are_kept() {
        let m = mirrors(&[("docker.io", "mirror.corp")]);
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(apply(&m, &format!("nginx@{digest}")), format!("mirror.corp/library/nginx@{digest}"));
    }

    #[test]
    fn names_that_would_grow_too_long_are_refused() {
        let m = mirrors(&[("docker.io", &format!("mirror.corp/{}", "p".repeat(200)))]);
        let out = apply(&m, &format!("team/{}", "a".repeat(60)));
        assert!(out.starts_with("refused: mirrored to"), "{out}");
    }

    #[test]
    fn targets_must_name_a_registry_host() {
        for (to, ok) in [
            ("registry.corp.example", true),
            ("registry.corp.example/dockerhub", true),
            ("registry.corp.example/a/b/", true),
            ("localhost:5000/cache", true),
            ("[::1]:5000", true),
            ("dockerhub", false),
            ("Mirror/x", false),
            ("https://registry.corp.example", false),
            ("registry.corp.example/Hub", false),
            ("registry.corp.example/hub:1", false),
            ("registry.corp.example/hub@sha256:0", false),
            ("registry.corp.example:99999", false),
            ("", false),
        ] {
            assert_eq!(Mirror::parse("docker.io", to).is_ok(), ok, "{to}");
        }
        assert_eq!(Mirror::parse("https://x", "mirror.corp").unwrap_err().0, "from");
    }
}
