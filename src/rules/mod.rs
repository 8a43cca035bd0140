//! The compiled policy and the decision for one image. `decide` is a pure
//! function of the policy and the image, so that digest pinning and signature
//! checks can join the same pipeline later.
//!
//! Within a section, reject wins over allow. Across sections, every rule must
//! pass; every failing rule is reported, not only the first.

pub mod glob;
pub mod host_pattern;
pub mod image_config;
pub mod image_pattern;
pub mod mirror;
pub mod signatures;
pub mod str_map;
pub mod tag_pattern;
pub mod vulnerabilities;

use std::fmt;

use crate::references::image::Image;
use crate::request::custom_fields::FieldRule;
use crate::rules::host_pattern::HostSet;
use crate::rules::image_config::{ConfigRule, Failure};
use crate::rules::image_pattern::ImageSet;
use crate::rules::mirror::Mirrors;
use crate::rules::signatures::SignatureRule;
use crate::rules::tag_pattern::TagSet;

/// A rule section: an allow list, a reject list, or both.
#[derive(Debug, Default)]
pub struct Section<S> {
    /// `None`: everything allowed. `Some(empty)`: nothing allowed.
    pub allow: Option<S>,
    pub reject: Option<S>,
}

/// Settings compiled for matching. `Policy::default()` allows every image.
/// Rules borrow their text from the settings document they were read from.
#[derive(Debug, Default)]
pub struct Policy<'s> {
    pub registries: Section<HostSet<'s>>,
    pub images: Section<ImageSet<'s>>,
    /// `allow` is `None` when `tags.allow` is absent or empty.
    pub tags: Section<TagSet<'s>>,
    pub require_digest: bool,
    /// `digests.pin`.
    pub pin: Pin,
    pub mirrors: Mirrors,
    /// `signatures`, in order.
    pub signatures: Vec<SignatureRule<'s>>,
    /// `modifyImagesWithDigest`: an image verified by tag is pinned to the
    /// digest that was verified.
    pub pin_verified: bool,
    /// `exemptImages`: images the registries, images, tags and digests
    /// rules do not apply to.
    pub exempt: Option<ImageSet<'s>>,
    /// `imageConfig`: rules on the image's own config.
    pub image_config: Option<ConfigRule<'s>>,
    /// `vulnerabilities`: a fresh scan report under limits.
    pub vulnerabilities: Option<vulnerabilities::VulnerabilityRule<'s>>,
    /// `imageFields`: where custom resources keep images.
    pub image_fields: Vec<FieldRule<'s>>,
    /// `lookupsOnUpdate`: which images of an UPDATE are looked up.
    pub lookups_on_update: LookupsOnUpdate,
}

/// `lookupsOnUpdate`: on an UPDATE, whether an image that `oldObject` holds
/// at the same field is looked up again (signatures, pinning, image
/// configs). The static rules (registries, images, tags, digests.require)
/// run on every image either way.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum LookupsOnUpdate {
    /// Only images that differ from `oldObject` at the same field: an
    /// update that changes replicas or labels makes no registry call, and a
    /// registry outage does not block it.
    #[default]
    ChangedImages,
    /// Every image, on every update.
    AllImages,
}

/// `digests.pin`: whether images without a digest are pinned to the digest
/// their tag points to now.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Pin {
    #[default]
    Never,
    /// Pin when the lookup works; otherwise leave the image, with a warning.
    Attempt,
    /// Pin, or reject the image when the lookup fails.
    Required,
}

impl Policy<'_> {
    /// The settings make host lookups (pinning, signatures, image configs).
    pub fn looks_up(&self) -> bool {
        self.pin != Pin::Never
            || !self.signatures.is_empty()
            || self.image_config.is_some()
            || self.vulnerabilities.is_some()
    }

    /// The settings can change objects (pinning or mirrors). Without them the
    /// policy never mutates and never calls the host.
    pub fn mutates(&self) -> bool {
        self.pin != Pin::Never || !self.mirrors.is_empty() || (self.pin_verified && !self.signatures.is_empty())
    }
}

/// One reason an image is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    RegistryRejected {
        registry: String,
        rule: String,
    },
    RegistryNotAllowed {
        registry: String,
        allowed: String,
    },
    ImageRejected {
        image: String,
        rule: String,
    },
    ImageNotAllowed {
        image: String,
        allowed: String,
    },
    TagRejected {
        tag: String,
        implicit: bool,
        rule: String,
    },
    TagNotAllowed {
        tag: String,
        implicit: bool,
        allowed: String,
    },
    DigestRequired,
    /// `digests.pin: required` and the host could not give the digest.
    PinFailed {
        image: String,
        error: String,
    },
    /// A mirror rule would produce an invalid name.
    MirrorRefused(String),
    /// The image's config fails an `imageConfig` rule; for one platform of
    /// a multi-platform image, that platform (`linux/arm64`).
    ImageConfig {
        platform: Option<String>,
        failure: Failure,
    },
    /// `imageConfig` applies and the host could not give the config (of
    /// `platform`, for a multi-platform image).
    ConfigLookupFailed {
        reference: String,
        platform: Option<String>,
        error: String,
    },
    /// A `signatures` rule that applies was not verified.
    NotSigned {
        /// The reference asked about (normalized).
        reference: String,
        /// The rule, described (`signatures[1] (keyless: …)`).
        rule: String,
        error: String,
    },
    /// The `vulnerabilities` gate refused the image: what it found, said.
    Vulnerabilities(String),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let implicit =
            |implicit: &bool| if *implicit { " (implicit: the image names neither tag nor digest)" } else { "" };
        match self {
            Reason::RegistryRejected { registry, rule } => {
                write!(f, "registry {registry:?} is rejected (registries.reject: {rule:?})")
            }
            Reason::RegistryNotAllowed { registry, allowed } => {
                write!(f, "registry {registry:?} is not allowed (registries.allow: {allowed})")
            }
            Reason::ImageRejected { image, rule } => {
                write!(f, "image {image:?} is rejected (images.reject: {rule:?})")
            }
            Reason::ImageNotAllowed { image, allowed } => {
                write!(f, "image {image:?} is not allowed (images.allow: {allowed})")
            }
            Reason::TagRejected { tag, implicit: i, rule } => {
                write!(f, "tag {tag:?}{} is rejected (tags.reject: {rule:?})", implicit(i))
            }
            Reason::TagNotAllowed { tag, implicit: i, allowed } => {
                write!(f, "tag {tag:?}{} is not allowed (tags.allow: {allowed})", implicit(i))
            }
            Reason::DigestRequired => {
                f.write_str("the image is not pinned by digest (digests.require: true; write it as name@sha256:...)")
            }
            Reason::PinFailed { image, error } => {
                write!(f, "its digest could not be looked up (digests.pin: required): {image:?}: {error}")
            }
            Reason::MirrorRefused(why) => write!(f, "{why} (mirrors)"),
            Reason::ImageConfig { platform: None, failure } => failure.fmt(f),
            Reason::ImageConfig { platform: Some(platform), failure } => write!(f, "{platform}: {failure}"),
            Reason::ConfigLookupFailed { reference, platform, error } => {
                let platform = platform.as_ref().map(|p| format!(" ({p})")).unwrap_or_default();
                write!(
                    f,
                    "its image config could not be read (imageConfig.onLookupFailure: reject): {reference:?}{platform}: {error}"
                )
            }
            Reason::NotSigned { reference, rule, error } => {
                write!(f, "the signatures of {reference:?} were not verified by {rule}: {error}")
            }
            Reason::Vulnerabilities(said) => f.write_str(said),
        }
    }
}

/// How many rules of an allow list a message names before "… and N more".
pub const ALLOWED_RULES_SHOWN: usize = 5;

/// A rule list as messages name it: its first rules as written (up to
/// `ALLOWED_RULES_SHOWN`) and how many it has, compiled or not (a long list
/// is compiled only where it can match the request: `settings::RequestImages`).
#[derive(Debug, Default)]
pub struct WrittenRules<'p> {
    first: Vec<&'p str>,
    total: usize,
}

impl<'p> WrittenRules<'p> {
    pub fn count(&mut self, written: &'p str) {
        if self.first.len() < ALLOWED_RULES_SHOWN {
            self.first.push(written);
        }
        self.total += 1;
    }

    pub fn first(&self) -> &[&'p str] {
        &self.first
    }

    pub fn total(&self) -> usize {
        self.total
    }
}

/// `a, b, c, … and 995 more` for a list of `total` rules that begins with
/// `first`, or a plain statement for an empty list.
fn describe_allowed(first: &[&str], total: usize) -> String {
    if total == 0 {
        return "empty, so nothing is allowed".to_string();
    }
    let mut out = first[..first.len().min(ALLOWED_RULES_SHOWN)].join(", ");
    if total > ALLOWED_RULES_SHOWN {
        out.push_str(&format!(", … and {} more", total - ALLOWED_RULES_SHOWN));
    }
    out
}

/// Every reason the policy refuses `image`; empty when it is allowed.
pub fn decide(policy: &Policy<'_>, image: &Image<'_>) -> Vec<Reason> {
    let mut reasons = Vec::new();

    let registry = || image.registry.to_string();
    if let Some(rule) = policy.registries.reject.as_ref().and_then(|set| set.find(&image.registry)) {
        reasons.push(Reason::RegistryRejected { registry: registry(), rule: rule.to_string() });
    } else if let Some(allow) = &policy.registries.allow
        && allow.find(&image.registry).is_none()
    {
        reasons.push(Reason::RegistryNotAllowed {
            registry: registry(),
            allowed: describe_allowed(allow.first_rules(), allow.rule_count()),
        });
    }

    if let Some(rule) = policy.images.reject.as_ref().and_then(|set| set.find(image)) {
        reasons.push(Reason::ImageRejected { image: image.to_string(), rule: rule.to_string() });
    } else if let Some(allow) = &policy.images.allow
        && allow.find(image).is_none()
    {
        reasons.push(Reason::ImageNotAllowed {
            image: image.to_string(),
            allowed: describe_allowed(allow.first_rules(), allow.rule_count()),
        });
    }

    if let Some(tag) = image.tag_for_rules() {
        let implicit = image.tag.is_none();
        if let Some(rule) = policy.tags.reject.as_ref().and_then(|set| set.find(tag)) {
            reasons.push(Reason::TagRejected { tag: tag.to_string(), implicit, rule: rule.to_string() });
        } else if let Some(allow) = &policy.tags.allow
            && allow.find(tag).is_none()
        {
            let allowed = describe_allowed(allow.first_rules(), allow.rule_count());
            reasons.push(Reason::TagNotAllowed { tag: tag.to_string(), implicit, allowed });
        }
    }

    if policy.require_digest && image.digest.is_none() {
        reasons.push(Reason::DigestRequired);
    }
    reasons
}
