//! Kubewarden trusted-repos and verify-image-signatures settings, which
//! registry-guard reads the same way (README, "Differences from
//! trusted-repos"): in trusted-repos an empty `registries.allow` or
//! `images.allow` allows nothing, a missing one constrains nothing, and an
//! empty `tags.allow` constrains nothing (kubewarden/trusted-repos-policy,
//! README and src/settings.rs). Plain settings carry no mode: they are read
//! as enforced.

use serde_json::{Value, json};

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

/// Kubewarden's own policy resources (policies.kubewarden.io):
/// ClusterAdmissionPolicy, AdmissionPolicy, and their Group kinds, whose
/// module is trusted-repos or verify-image-signatures. Their meaning
/// (docs.kubewarden.io, "Policies" and "Policy groups"): `mode: protect`
/// (the default) refuses, `monitor` only logs; a namespaced AdmissionPolicy
/// applies in its namespace only; a group admits when its CEL `expression`
/// over the members' verdicts holds.
const MODULES: [&str; 4] =
    ["trusted-repos", "trusted-repos-policy", "verify-image-signatures", "verify-image-signatures-policy"];

/// Whether a module reference (`registry://ghcr.io/kubewarden/policies/
/// trusted-repos:v0.2.0`, `https://…/verify-image-signatures/…/policy.wasm`,
/// with a tag or digest or not) is trusted-repos or verify-image-signatures,
/// by its repository name, whatever the registry.
pub(super) fn is_image_policy_module(module: &str) -> bool {
    let rest = module.split_once("://").map_or(module, |(_, rest)| rest);
    let rest = rest.split_once('@').map_or(rest, |(name, _)| name);
    let mut components = rest.split('/').skip(1).map(|c| {
        let c = c.strip_suffix(".wasm").unwrap_or(c);
        c.split_once(':').map_or(c, |(name, _)| name)
    });
    let names: Vec<&str> = components.by_ref().collect();
    match (module.starts_with("https://") || module.starts_with("http://"), names.last()) {
        // A URL names a release file: any component may be the project.
        (true, _) => names.iter().any(|n| MODULES.contains(n)),
        (false, Some(last)) => MODULES.contains(last),
        (false, None) => false,
    }
}

/// Where a Kubewarden resource applies, carried into `--as-policy`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Scope {
    pub rules: Option<Value>,
    pub namespace_selector: Option<Value>,
    pub object_selector: Option<Value>,
    pub background_audit: Option<Value>,
}

impl Imported {
    pub(super) fn kubewarden_resource(&mut self, sourced: &Sourced) {
        let from = origin(sourced);
        let value = &sourced.value;
        let spec = &value["spec"];
        let kind = value["kind"].as_str().unwrap_or_default();
        let mut scope = Scope {
            rules: spec.get("rules").cloned(),
            namespace_selector: spec.get("namespaceSelector").cloned(),
            object_selector: spec.get("objectSelector").cloned(),
            background_audit: spec.get("backgroundAudit").cloned(),
        };
        for key in ["matchConditions", "contextAwareResources"] {
            if spec.get(key).is_some() {
                self.note(format!(
                    "{from}: spec.{key} is not carried: the policy applies to every object its rules match (stricter)"
                ));
            }
        }
        if kind.starts_with("AdmissionPolicy") {
            match value["metadata"]["namespace"].as_str() {
                // A namespaced policy: its namespace, as a selector.
                Some(namespace) if scope.namespace_selector.is_none() => {
                    scope.namespace_selector = Some(json!({"matchLabels": {"kubernetes.io/metadata.name": namespace}}))
                }
                Some(_) => {}
                None => self.note(format!(
                    "{from}: an AdmissionPolicy without metadata.namespace: imported for every namespace (stricter)"
                )),
            }
        }
        let members: Vec<(String, &Value)> = if kind.ends_with("Group") {
            let Some(policies) = spec["policies"].as_object() else {
                self.untranslatable.push(format!("{from}: a policy group without spec.policies"));
                return;
            };
            if !is_conjunction(spec["expression"].as_str().unwrap_or_default(), policies.keys()) {
                self.untranslatable.push(format!(
                    "{from}: expression {:?} is not every member joined by &&: registry-guard applies every rule, it cannot say \"or\" or \"not\"",
                    spec["expression"].as_str().unwrap_or_default()
                ));
                return;
            }
            policies.iter().map(|(name, member)| (format!("{from}, policies.{name}"), member)).collect()
        } else {
            vec![(from.clone(), spec)]
        };
        let mut imported_any = false;
        for (at, member) in members {
            let module = member["module"].as_str().unwrap_or_default();
            if !is_image_policy_module(module) {
                self.untranslatable.push(format!(
                    "{at}: module {module:?} is not trusted-repos or verify-image-signatures: not an image policy registry-guard can import"
                ));
                continue;
            }
            // No settings, or `null`: trusted-repos' defaults, which constrain nothing.
            let settings = member.get("settings").filter(|s| !s.is_null()).cloned().unwrap_or_else(|| json!({}));
            if let Err(errors) = registry_guard::settings::check_json(settings.to_string().as_bytes()) {
                self.untranslatable.push(format!("{at}: spec.settings are not valid for registry-guard: {errors}"));
                continue;
            }
            self.kubewarden_settings_value(&at, &settings);
            imported_any = true;
        }
        if imported_any {
            let monitor = [("monitor", "Kubewarden logs what it would refuse, never refuses")];
            self.mode(&from, "mode", spec["mode"].as_str(), "protect", &monitor);
            self.scopes.push((from, scope));
        }
    }
}

/// Whether a group's CEL expression is its members' calls joined by `&&`,
/// each once (`trusted() && signed()`): the only combination that is every
/// rule applying.
fn is_conjunction<'a>(expression: &str, members: impl Iterator<Item = &'a String>) -> bool {
    let mut calls: Vec<&str> = expression.split("&&").map(str::trim).collect();
    let mut names: Vec<String> = members.map(|m| format!("{m}()")).collect();
    calls.sort_unstable();
    names.sort_unstable();
    !calls.is_empty() && calls == names.iter().map(String::as_str).collect::<Vec<_>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_are_recognized_by_repository_name() {
        for module in [
            "registry://ghcr.io/kubewarden/policies/trusted-repos:v0.2.0",
            "ghcr.io/kubewarden/policies/trusted-repos@sha256:0000",
            "registry://registry.corp.example/mirror/verify-image-signatures:v1",
            "https://github.com/kubewarden/verify-image-signatures/releases/download/v0.3.0/policy.wasm",
            "https://example.com/trusted-repos.wasm",
        ] {
            assert!(is_image_policy_module(module), "{module}");
        }
        for module in [
            "registry://ghcr.io/kubewarden/policies/capabilities-psp:v0.1.0",
            "registry://ghcr.io/evil/trusted-repos-fake:v1",
            "trusted-repos",
            "",
        ] {
            assert!(!is_image_policy_module(module), "{module}");
        }
    }

    #[test]
    fn only_a_conjunction_of_every_member_is_every_rule_applying() {
        let members = ["trusted".to_string(), "signed".to_string()];
        assert!(is_conjunction("trusted() && signed()", members.iter()));
        assert!(is_conjunction("signed()&&trusted()", members.iter()));
        assert!(!is_conjunction("trusted() || signed()", members.iter()));
        assert!(!is_conjunction("trusted()", members.iter()));
        assert!(!is_conjunction("!trusted() && signed()", members.iter()));
    }
}
