//! Kubewarden trusted-repos and verify-image-signatures settings, which
//! registry-guard reads the same way (README, "Differences from
//! trusted-repos"): in trusted-repos an empty `registries.allow` or
//! `images.allow` allows nothing, a missing one constrains nothing, and an
//! empty `tags.allow` constrains nothing (kubewarden/trusted-repos-policy,
//! README and src/settings.rs). Plain settings carry no mode: they are read
//! as enforced.

use super::{Entry, Imported, Rule, origin, strings};
use crate::manifests::Sourced;

/// The keys of trusted-repos and verify-image-signatures settings.
const KNOWN: [&str; 6] = ["registries", "images", "tags", "digests", "signatures", "modifyImagesWithDigest"];

impl Imported {
    pub(super) fn kubewarden_settings(&mut self, sourced: &Sourced) {
        let from = origin(sourced);
        let value = &sourced.value;
        if let Err(errors) = registry_guard::settings::check_json(value.to_string().as_bytes()) {
            self.untranslatable
                .push(format!("{from}: not valid trusted-repos or verify-image-signatures settings: {errors}"));
            return;
        }
        self.enforcement(&from, None);
        self.kubewarden_settings_value(&from, value);
    }

    /// Settings already checked as valid.
    pub(super) fn kubewarden_settings_value(&mut self, from: &str, value: &serde_json::Value) {
        for key in value.as_object().into_iter().flat_map(|m| m.keys()) {
            if !KNOWN.contains(&key.as_str()) {
                self.untranslatable.push(format!(
                    "{from}: {key} is registry-guard's own setting, not trusted-repos' or verify-image-signatures': copy it by hand"
                ));
            }
        }
        type MakeRule = fn(String) -> Rule;
        let rules: [(&str, MakeRule); 3] =
            [("registries", Rule::Registry), ("images", Rule::Image), ("tags", Rule::Tag)];
        for (section, rule) in rules {
            let allow = &value[section]["allow"];
            // `tags.allow: []` constrains nothing; an empty registries or
            // images allow list allows nothing.
            if allow.is_array() && !(section == "tags" && strings(allow).is_empty()) {
                let alternatives = strings(allow)
                    .into_iter()
                    .map(|entry| (rule(entry.to_string()), format!("{from}: {section}.allow")))
                    .collect();
                self.push_allow(&format!("{from}: {section}.allow"), alternatives);
            }
            for entry in strings(&value[section]["reject"]) {
                self.push_reject(rule(entry.to_string()), format!("{from}: {section}.reject"));
            }
        }
        for signature in value["signatures"].as_array().into_iter().flatten() {
            self.signatures.push(Entry { value: signature.clone(), comment: format!("{from}: signatures") });
        }
        if let Some(modify) = value["modifyImagesWithDigest"].as_bool() {
            self.modify_with_digest = Some((modify, format!("{from}: modifyImagesWithDigest")));
        }
        if value["digests"]["require"].as_bool() == Some(true) {
            self.contributes();
            self.digests_require.get_or_insert(format!("{from}: digests.require"));
        }
        if value["digests"].get("pin").is_some() {
            self.untranslatable.push(format!("{from}: digests.pin is registry-guard's own setting: copy it by hand"));
        }
    }
}
