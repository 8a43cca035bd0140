//! What the sources said, settled into registry-guard's lists without
//! widening: allow groups placed into the two allow lists (never joined),
//! exemptions kept only where no other rule is lifted by them, modes
//! decided, and every entry checked by the policy's own settings
//! validation (an entry it refuses is listed as not translated, never
//! printed; should the whole still be refused, the output allows nothing).

use serde_json::{Value, json};

use super::gatekeeper::covers;
use super::kubewarden::Scope;
use super::{AllowGroup, Entry, Imported, Rule, registry_as_image};

#[derive(Debug, Default)]
pub(super) struct Settled {
    pub registries_allow: Option<Vec<Entry>>,
    pub images_allow: Option<Vec<Entry>>,
    pub tags_allow: Option<Vec<Entry>>,
    pub exempt: Vec<Entry>,
    /// Why the settings allow no image at all, when they do not.
    pub deny_all: Option<String>,
    /// The whole was refused by the policy: print only "allow nothing".
    pub refused_whole: bool,
    /// The ClusterAdmissionPolicy's mode (`--as-policy`).
    pub mode: &'static str,
    /// Where it applies, from the Kubewarden resources read (`--as-policy`).
    pub scope: Option<Scope>,
}

/// A group's alternatives, sorted, to compare groups.
fn key(group: &AllowGroup) -> Vec<String> {
    let mut values: Vec<String> = group.alternatives.iter().map(|(r, _)| format!("{r:?}")).collect();
    values.sort();
    values.dedup();
    values
}

fn entries(group: AllowGroup, as_image: bool) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for (rule, comment) in group.alternatives {
        let value = match rule {
            Rule::Registry(host) if as_image => registry_as_image(&host),
            Rule::Tag(tag) if as_image => format!("*:*/*:{tag}"),
            Rule::Registry(value) | Rule::Image(value) | Rule::Tag(value) | Rule::RejectTag(value) => value,
            Rule::Digest => continue,
        };
        if !out.iter().any(|e| e.value == value.as_str()) {
            out.push(Entry { value: Value::String(value), comment });
        }
    }
    out
}

impl Imported {
    pub(super) fn settle(&mut self) {
        self.cip_allow_group();
        self.place_allow_groups();
        self.resolve_exemptions();
        self.resolve_modes();
        self.resolve_scope();
        self.validate_entries();
    }

    /// One scope for `--as-policy`: the resources' own when they agree;
    /// else every rule of each (so nothing they checked goes unchecked)
    /// and no selector (every namespace and object: stricter), with a note.
    fn resolve_scope(&mut self) {
        let mut scopes = std::mem::take(&mut self.scopes).into_iter();
        let Some((origin, first)) = scopes.next() else { return };
        if self.options.as_policy.is_none() {
            self.note(format!(
                "{origin}: its rules, namespaceSelector, objectSelector and backgroundAudit are carried by `import --as-policy NAME`"
            ));
        }
        let mut merged = first.clone();
        let mut differ = Vec::new();
        for (origin, scope) in scopes {
            if scope == first {
                continue;
            }
            differ.push(origin);
            let mut rules: Vec<Value> = merged.rules.as_ref().and_then(Value::as_array).cloned().unwrap_or_default();
            for rule in scope.rules.as_ref().and_then(Value::as_array).into_iter().flatten() {
                if !rules.contains(rule) {
                    rules.push(rule.clone());
                }
            }
            merged.rules = Some(Value::Array(rules));
            merged.namespace_selector = None;
            merged.object_selector = None;
            if scope.background_audit != merged.background_audit {
                merged.background_audit = None;
            }
        }
        if !differ.is_empty() {
            self.note(format!(
                "{} apply elsewhere than the first resource: the policy takes every rule of each and no namespace or object selector (stricter)",
                differ.join(", ")
            ));
        }
        self.settled.scope = Some(merged);
    }

    /// Each group into a list of its own: `tags.allow` for tags only,
    /// `registries.allow` for registries only, `images.allow` for any (as
    /// image patterns); a group left without a list is not translated.
    fn place_allow_groups(&mut self) {
        let mut groups: Vec<AllowGroup> = Vec::new();
        for group in std::mem::take(&mut self.allow) {
            if !groups.iter().any(|g| key(g) == key(&group)) {
                groups.push(group);
            }
        }
        if let Some(empty) = groups.iter().find(|g| g.alternatives.is_empty()) {
            self.settled.registries_allow = Some(Vec::new());
            self.settled.deny_all = Some(format!("{} allows no image", empty.origin));
            return;
        }
        let only = |g: &AllowGroup, f: fn(&Rule) -> bool| g.alternatives.iter().all(|(r, _)| f(r));
        let mut rest = Vec::new();
        for group in groups {
            if only(&group, |r| matches!(r, Rule::Tag(_))) && self.settled.tags_allow.is_none() {
                self.settled.tags_allow = Some(entries(group, false));
            } else if only(&group, |r| matches!(r, Rule::Registry(_))) && self.settled.registries_allow.is_none() {
                self.settled.registries_allow = Some(entries(group, false));
            } else {
                rest.push(group);
            }
        }
        let mut rest = rest.into_iter();
        if let Some(group) = rest.next() {
            self.settled.images_allow = Some(entries(group, true));
        }
        for group in rest {
            self.untranslatable.push(format!(
                "{}: an image must pass this allow rule and the others, and registry-guard has one allow list per \
                 section (registries, images, tags), all in use: joining them would allow more; import this source \
                 as a second policy",
                group.origin
            ));
        }
    }

    /// An exemption lifts every rule here: kept when every other document
    /// admits its images anyway, else left out (stricter), with a note.
    fn resolve_exemptions(&mut self) {
        for exemption in std::mem::take(&mut self.exemptions) {
            let refusing = self
                .contributors
                .iter()
                .find(|(doc, admits)| *doc != exemption.doc && !covers(admits, &exemption.literal))
                .map(|(doc, _)| self.sources.get(*doc).cloned().unwrap_or_else(|| "the ClusterImagePolicies".into()));
            match refusing {
                Some(other) => self.note(format!(
                    "{}: left out (stricter): an exemption here lifts every registries, images, tags and digests \
                     rule, and {other} may refuse the image",
                    exemption.comment
                )),
                None if self.settled.exempt.iter().any(|e| e.value == exemption.pattern.as_str()) => {}
                None => self.settled.exempt.push(Entry {
                    value: Value::String(exemption.pattern),
                    comment: format!(
                        "{}; here it lifts every registries, images, tags and digests rule: kept, since every other imported rule admits these images anyway",
                        exemption.comment
                    ),
                }),
            }
        }
    }

    /// Rules the source only reports are never enforced silently.
    fn resolve_modes(&mut self) {
        let monitored = std::mem::take(&mut self.monitored);
        self.settled.mode = "protect";
        if monitored.is_empty() {
            return;
        }
        if self.options.as_policy.is_none() {
            for item in monitored {
                self.untranslatable.push(format!(
                    "{item}; these settings would enforce it: deploy them with mode: monitor (`import --as-policy NAME` writes that), or leave the rule out"
                ));
            }
        } else if !self.enforced {
            self.settled.mode = "monitor";
            for item in monitored {
                self.note(format!("{item} → mode: monitor"));
            }
        } else {
            for item in monitored {
                self.untranslatable.push(format!(
                    "{item}; other rules are enforced and one policy has one mode: import this source apart (mode: monitor)"
                ));
            }
        }
    }

    /// Every entry through the policy's own settings validation, alone; then
    /// the whole.
    fn validate_entries(&mut self) {
        type Wrap = fn(Value) -> Value;
        let mut refused = Vec::new();
        let settled = &mut self.settled;
        let allow: [(&mut Option<Vec<Entry>>, Wrap); 3] = [
            (&mut settled.registries_allow, |v| json!({"registries": {"allow": [v]}})),
            (&mut settled.images_allow, |v| json!({"images": {"allow": [v]}})),
            (&mut settled.tags_allow, |v| json!({"tags": {"allow": [v]}})),
        ];
        for (list, wrap) in allow {
            if let Some(list) = list {
                keep_valid(list, wrap, &mut refused);
            }
        }
        let others: [(&mut Vec<Entry>, Wrap); 5] = [
            (&mut self.registries_reject, |v| json!({"registries": {"reject": [v]}})),
            (&mut self.images_reject, |v| json!({"images": {"reject": [v]}})),
            (&mut self.tags_reject, |v| json!({"tags": {"reject": [v]}})),
            (&mut settled.exempt, |v| json!({"exemptImages": [v]})),
            (&mut self.signatures, |v| json!({"signatures": [v]})),
        ];
        for (list, wrap) in others {
            keep_valid(list, wrap, &mut refused);
        }
        self.untranslatable.extend(refused);
        if let Err(e) = registry_guard::settings::check_json(self.settings().to_string().as_bytes()) {
            self.untranslatable.push(format!(
                "the imported settings, together, are refused by the policy ({e}): the output allows no image instead"
            ));
            self.settled.deny_all = Some("the imported settings were refused as a whole".into());
            self.settled.refused_whole = true;
        }
    }
}

/// Drops the entries the policy refuses (alone, in the settings `wrap`
/// builds), saying why. Out of an allow list that is stricter; out of a
/// reject list or exemptions it is listed (exit 1).
fn keep_valid(entries: &mut Vec<Entry>, wrap: fn(Value) -> Value, refused: &mut Vec<String>) {
    entries.retain(|entry| {
        match registry_guard::settings::check_json(wrap(entry.value.clone()).to_string().as_bytes()) {
            Ok(()) => true,
            Err(e) => {
                refused.push(format!(
                    "{}: {} cannot be written as registry-guard settings: {e}",
                    entry.comment, entry.value
                ));
                false
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::import::Imported;
    use crate::manifests::parse_documents;

    fn import(text: &str) -> Imported {
        Imported::read(&parse_documents("t.yaml", text).unwrap())
    }

    fn allowed(name: &str, repos: &str) -> String {
        format!(
            "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sAllowedRepos\nmetadata: {{name: {name}}}\nspec:\n  parameters: {{repos: {repos}}}\n---\n"
        )
    }

    #[test]
    fn allow_groups_take_a_list_each_and_a_third_is_listed() {
        let one = import(&allowed("a", "[gcr.io/]"));
        assert_eq!(one.settings(), json!({"registries": {"allow": ["gcr.io"]}}));
        let two = import(&(allowed("a", "[gcr.io/]") + &allowed("b", "[quay.io/]")));
        assert_eq!(two.settings(), json!({"registries": {"allow": ["gcr.io"]}, "images": {"allow": ["quay.io/*"]}}));
        let same = import(&(allowed("a", "[gcr.io/]") + &allowed("b", "[gcr.io/]")));
        assert_eq!(same.settings(), json!({"registries": {"allow": ["gcr.io"]}}), "one rule twice is one rule");
        let three =
            import(&(allowed("a", "[gcr.io/]") + &allowed("b", "[quay.io/]") + &allowed("c", "[reg.example/]")));
        assert_eq!(three.untranslatable.len(), 1, "{:?}", three.untranslatable);
        assert!(three.untranslatable[0].starts_with("t.yaml#3 K8sAllowedRepos c: an image must pass this allow rule"));
    }

    #[test]
    fn a_group_of_no_alternative_allows_nothing_whatever_else() {
        let text = allowed("a", "[gcr.io/]") + &allowed("none", "[]");
        let imported = import(&text);
        assert_eq!(imported.settings(), json!({"registries": {"allow": []}}));
        assert!(
            imported
                .yaml()
                .contains("# NOTE: t.yaml#2 K8sAllowedRepos none allows no image: these settings allow no image\n")
        );
    }

    #[test]
    fn an_exemption_is_kept_only_where_every_other_source_admits_its_images() {
        let tags = "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sDisallowedTags\nmetadata: {name: t}\nspec:\n  parameters: {tags: [latest], exemptImages: [\"quay.io/vendor/*\"]}\n---\n";
        let covered = import(&(allowed("a", "[quay.io/]") + tags));
        assert_eq!(covered.settings()["exemptImages"], json!(["quay.io/vendor/*"]));
        let refused = import(&(allowed("a", "[gcr.io/]") + tags));
        assert_eq!(refused.settings().get("exemptImages"), None);
        assert!(
            refused.notes.iter().any(|n| n.contains("exemptImages \"quay.io/vendor/*\": left out (stricter)")
                && n.contains("t.yaml#1 K8sAllowedRepos a may refuse the image")),
            "{:?}",
            refused.notes
        );
    }

    #[test]
    fn an_entry_the_policy_refuses_is_listed_never_printed() {
        let imported = import(&allowed("a", "[\"gcr.io/\", \"bad host/\"]"));
        // `bad host/` reads as a Docker Hub namespace, which the policy
        // refuses: out of the allow list (stricter), listed.
        assert_eq!(imported.settings(), json!({"images": {"allow": ["gcr.io/*"]}}));
        assert_eq!(imported.untranslatable.len(), 1, "{:?}", imported.untranslatable);
        assert!(
            imported.untranslatable[0]
                .contains("\"docker.io/bad host/*\" cannot be written as registry-guard settings: "),
            "{:?}",
            imported.untranslatable
        );
    }
}
