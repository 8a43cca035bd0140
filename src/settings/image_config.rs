//! Reads `imageConfig`: rules on the image's own OCI config.
//!
//! ```yaml
//! imageConfig:
//!   images: ["registry.corp.example/*"]   # optional; image patterns, as images.allow
//!   labels:
//!     require: {"org.opencontainers.image.source": "https://github.com/acme/*"}
//!     reject: {"com.example.deprecated": "true"}
//!   maxAge: 90d                            # s, m, h or d
//!   user: {nonRoot: true}
//!   onLookupFailure: reject                # or allow
//!   platforms: [linux/amd64, linux/arm64]  # optional; which platforms of a multi-platform image are read
//! ```
//!
//! A section with no rule is an error (it would only cost lookups), as is
//! an empty `images` list (it would apply to nothing: write no section).

use super::{Document, Map, Reader, describe, get};
use crate::rules::glob::Glob;
use crate::rules::image_config::{ConfigRule, LabelRule, PlatformPattern};
use crate::rules::image_pattern::ImageSet;

const KEYS: &[&str] = &["images", "labels", "maxAge", "user", "onLookupFailure", "platforms"];
const LABEL_KEYS: &[&str] = &["require", "reject"];
const USER_KEYS: &[&str] = &["nonRoot"];

impl Reader<'_> {
    /// The `imageConfig` section; `None` when absent, null or invalid.
    // Out of line: inlined, every section made `Reader::policy` one
    // function of 17 KB, the largest Cranelift compiles (`make
    // compile-profile`).
    #[inline(never)]
    pub(super) fn image_config<'d>(&mut self, value: &'d Document<'_>) -> Option<ConfigRule<'d>> {
        let section = self.object("imageConfig", value, KEYS)?;
        let errors = self.errors.len();
        let mut rule = ConfigRule::default();
        if let Some(images) = get(section, "images").filter(|v| !matches!(v, Document::Null)) {
            rule.images = self.config_images(images);
        }
        if let Some(labels) = get(section, "labels")
            && let Some(labels) = self.object("imageConfig.labels", labels, LABEL_KEYS)
        {
            rule.require = self.label_rules(labels, "require");
            rule.reject = self.label_rules(labels, "reject");
        }
        rule.max_age = self.max_age("imageConfig.maxAge", get(section, "maxAge"));
        if let Some(user) = get(section, "user")
            && let Some(user) = self.object("imageConfig.user", user, USER_KEYS)
        {
            rule.non_root = self.boolean("imageConfig.user.nonRoot", get(user, "nonRoot"));
        }
        match get(section, "onLookupFailure") {
            None | Some(Document::Null) => {}
            Some(Document::String(s)) if s == "reject" => {}
            Some(Document::String(s)) if s == "allow" => rule.allow_on_failure = true,
            Some(Document::String(s)) => {
                self.error("imageConfig.onLookupFailure", format_args!("expected reject or allow, found {s:?}"))
            }
            Some(other) => self.error(
                "imageConfig.onLookupFailure",
                format_args!("expected reject or allow, found {}", describe(other)),
            ),
        }
        rule.platforms = self.platforms(get(section, "platforms"));
        if self.errors.len() > errors {
            return None;
        }
        if rule.require.is_empty() && rule.reject.is_empty() && rule.max_age.is_none() && !rule.non_root {
            self.error("imageConfig", "has no rule: set labels.require, labels.reject, maxAge or user.nonRoot");
            return None;
        }
        Some(rule)
    }

    /// `platforms`: a non-empty list of distinct `os/architecture[/variant]`.
    fn platforms<'d>(&mut self, value: Option<&'d Document<'_>>) -> Vec<PlatformPattern<'d>> {
        let path = "imageConfig.platforms";
        let items = match value {
            None | Some(Document::Null) => return Vec::new(),
            Some(Document::Array(items)) if !items.is_empty() => items,
            Some(Document::Array(_)) => {
                self.error(path, "is empty, so no platform would be read: remove it to read every platform");
                return Vec::new();
            }
            Some(other) => {
                self.error(
                    path,
                    format_args!("expected a list such as [linux/amd64, linux/arm64], found {}", describe(other)),
                );
                return Vec::new();
            }
        };
        let mut platforms: Vec<PlatformPattern<'d>> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = format!("{path}[{i}]");
            let Document::String(written) = item else {
                self.error(&at, format_args!("expected a platform such as linux/amd64, found {}", describe(item)));
                continue;
            };
            match PlatformPattern::parse(written) {
                Ok(pattern) if platforms.iter().any(|p| p.written == pattern.written) => {
                    self.error(&at, format_args!("{written:?} is listed twice"))
                }
                Ok(pattern) => platforms.push(pattern),
                Err(why) => self.error(&at, why),
            }
        }
        platforms
    }

    fn config_images<'d>(&mut self, value: &'d Document<'_>) -> Option<ImageSet<'d>> {
        let path = "imageConfig.images";
        if matches!(value, Document::Array(items) if items.is_empty()) {
            self.error(path, "is empty, so the section applies to no image: remove imageConfig, or name images");
            return None;
        }
        self.image_set(path, value)
    }

    /// `labels.require` or `labels.reject`: label name → value pattern.
    fn label_rules<'d>(&mut self, labels: &'d Map<'_>, list: &str) -> Vec<LabelRule<'d>> {
        let path = format!("imageConfig.labels.{list}");
        let entries = match get(labels, list) {
            None | Some(Document::Null) => return Vec::new(),
            Some(Document::Object(entries)) => entries,
            Some(other) => {
                self.error(
                    &path,
                    format_args!("expected a mapping of label names to value patterns, found {}", describe(other)),
                );
                return Vec::new();
            }
        };
        let mut rules = Vec::with_capacity(entries.len());
        for (label, pattern) in entries {
            let at = format!("{path}[{label:?}]");
            if label.is_empty() {
                self.error(&path, "a label name is empty");
                continue;
            }
            match pattern {
                Document::String(pattern) => {
                    rules.push(LabelRule { label: label.as_ref(), pattern: pattern.as_ref(), glob: Glob::new(pattern) })
                }
                other => self.error(
                    &at,
                    format_args!(
                        "expected a value pattern (a string: * and ? are wildcards), found {}",
                        describe(other)
                    ),
                ),
            }
        }
        rules
    }
}
