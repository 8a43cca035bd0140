//! The policy's view of an image: a parsed reference with its registry in
//! canonical form (see `registry.rs`). Everything the rules match on comes
//! from here, so every rule sees the same normalization.

use std::borrow::Cow;
use std::fmt;

use crate::references::reference::{self, ReferenceError};
use crate::references::registry::{Registry, RegistryError};

/// The tag runtimes pull when a reference has neither tag nor digest.
pub const IMPLICIT_TAG: &str = "latest";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image<'a> {
    pub registry: Registry<'a>,
    /// Repository path; official Docker Hub images carry `library/`.
    pub path: Cow<'a, str>,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

/// Why an image string cannot be checked (the image is then rejected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageError {
    Reference(ReferenceError),
    Registry(RegistryError),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Reference(e) => write!(f, "not a valid image reference: {e}"),
            Self::Registry(e) => write!(f, "not a valid image reference: {e}"),
        }
    }
}

impl<'a> Image<'a> {
    pub fn parse(input: &'a str) -> Result<Self, ImageError> {
        let parsed = reference::parse(input).map_err(ImageError::Reference)?;
        let registry = Registry::from_domain(parsed.domain).map_err(ImageError::Registry)?;
        // The grammar adds `library/` only for `docker.io`; every other name of
        // Docker Hub (`registry-1.docker.io/nginx`, `docker.io:443/nginx`)
        // reaches the same official repository, so it gets the prefix too.
        let path = if registry.is_docker_hub() && !parsed.path.contains('/') {
            Cow::Owned(format!("library/{}", parsed.path))
        } else {
            parsed.path
        };
        // `library/` can push a name the grammar accepted past its limit
        // (found by fuzzing: `inDex.docker.io/<250 characters>`).
        if path.len() > 255 {
            return Err(ImageError::Reference(ReferenceError::NameTooLong));
        }
        Ok(Image { registry, path, tag: parsed.tag, digest: parsed.digest })
    }

    /// The reference as it is written into an object: `registry/path`, then
    /// the tag and digest that are set (no implicit `:latest`).
    pub fn written(&self) -> String {
        let mut out = format!("{}/{}", self.registry, self.path);
        if let Some(tag) = self.tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = self.digest {
            out.push('@');
            out.push_str(digest);
        }
        out
    }

    /// The tag that tag rules apply to: the tag as written, `latest` when neither
    /// tag nor digest is written, none for a digest-only reference.
    pub fn tag_for_rules(&self) -> Option<&'a str> {
        match (self.tag, self.digest) {
            (Some(tag), _) => Some(tag),
            (None, None) => Some(IMPLICIT_TAG),
            (None, Some(_)) => None,
        }
    }
}

impl fmt::Display for Image<'_> {
    /// The normalized image, as messages show it:
    /// `registry/path[:tag][@digest]`, with `:latest` when neither is written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.path)?;
        if let Some(tag) = self.tag_for_rules() {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(input: &str) -> String {
        Image::parse(input).map(|i| i.to_string()).unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn docker_hub_spellings_are_one_registry() {
        for input in [
            "nginx",
            "docker.io/nginx",
            "index.docker.io/library/nginx",
            "INDEX.DOCKER.IO/library/nginx",
            "registry-1.docker.io/nginx",
            "docker.io:443/library/nginx",
            "Docker.IO/library/nginx:latest",
        ] {
            assert_eq!(normalized(input), "docker.io/library/nginx:latest", "{input}");
        }
    }

    #[test]
    fn other_ports_are_other_registries() {
        assert_eq!(normalized("docker.io:5000/nginx"), "docker.io:5000/nginx:latest");
        assert_eq!(normalized("reg.corp:443/team/app:1"), "reg.corp/team/app:1");
        assert_eq!(normalized("reg.corp:00443/app:1"), "reg.corp/app:1");
    }

    #[test]
    fn uppercase_first_component_is_a_host_shown_as_written() {
        // Matched as "evil"; shown as written, since "evil/app" would read
        // as a Docker Hub image.
        let image = Image::parse("Evil/app:1").unwrap();
        assert_eq!(image.registry.host, "evil");
        assert_eq!(normalized("Evil/app:1"), "Evil/app:1");
        assert_eq!(normalized("EVIL.com/app:1"), "evil.com/app:1");
        assert_eq!(normalized("o:443/r:t"), "o:443/r:t");
    }

    #[test]
    fn ipv6_hosts_are_canonical() {
        assert_eq!(normalized("[0:0::1]:5000/app:1"), "[::1]:5000/app:1");
        assert_eq!(normalized("[FC00::1]/app:1"), "[fc00::1]/app:1");
    }

    #[test]
    fn unpullable_registries_are_errors() {
        assert!(
            normalized("foo_bar.com/app")
                .starts_with("error: not a valid image reference: the reference names no registry host")
        );
        assert_eq!(
            normalized("reg.corp:70000/app"),
            "error: not a valid image reference: registry port 70000 is outside 1-65535"
        );
        assert_eq!(
            normalized("reg.corp:0/app"),
            "error: not a valid image reference: registry port 0 is outside 1-65535"
        );
        assert_eq!(
            normalized("[:::::]/app"),
            "error: not a valid image reference: registry host [:::::] is not an IPv6 address"
        );
    }

    #[test]
    fn docker_hub_names_stay_within_the_length_limit_once_normalized() {
        let name = "a".repeat(250);
        assert!(Image::parse(&format!("docker.io/x/{name}")).is_ok());
        assert_eq!(
            normalized(&format!("inDex.docker.io/{name}")),
            "error: not a valid image reference: the repository name is longer than 255 characters"
        );
    }

    #[test]
    fn tag_rules_see_written_tag_implicit_latest_or_nothing() {
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(Image::parse("nginx").unwrap().tag_for_rules(), Some("latest"));
        assert_eq!(Image::parse("nginx:1").unwrap().tag_for_rules(), Some("1"));
        let pinned = format!("nginx@{digest}");
        assert_eq!(Image::parse(&pinned).unwrap().tag_for_rules(), None);
        let both = format!("nginx:1@{digest}");
        assert_eq!(Image::parse(&both).unwrap().tag_for_rules(), Some("1"));
    }
}
