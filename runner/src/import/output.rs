//! The settled lists printed: as the JSON the host sends the policy, as
//! commented YAML settings, or (`--as-policy NAME`) as a whole
//! ClusterAdmissionPolicy.

use serde_json::{Value, json};

use super::{Entry, Imported};

fn one_line(text: &str) -> String {
    text.replace('\n', " ")
}

fn values(entries: &[Entry]) -> Value {
    Value::Array(entries.iter().map(|e| e.value.clone()).collect())
}

/// A section: its name, allow list (if any), reject list.
type Section<'a> = (&'static str, Option<&'a Vec<Entry>>, &'a Vec<Entry>);

impl Imported {
    /// The sections in order.
    fn sections(&self) -> [Section<'_>; 3] {
        let s = &self.settled;
        [
            ("registries", s.registries_allow.as_ref(), &self.registries_reject),
            ("images", s.images_allow.as_ref(), &self.images_reject),
            ("tags", s.tags_allow.as_ref(), &self.tags_reject),
        ]
    }

    /// The settings as JSON (what the host sends the policy).
    pub fn settings(&self) -> Value {
        if self.settled.refused_whole {
            return json!({"registries": {"allow": []}});
        }
        let mut out = serde_json::Map::new();
        for (section, allow, reject) in self.sections() {
            let mut map = serde_json::Map::new();
            if let Some(allow) = allow {
                map.insert("allow".into(), values(allow));
            }
            if !reject.is_empty() {
                map.insert("reject".into(), values(reject));
            }
            if !map.is_empty() {
                out.insert(section.into(), Value::Object(map));
            }
        }
        if self.digests_require.is_some() {
            out.insert("digests".into(), json!({"require": true}));
        }
        if !self.settled.exempt.is_empty() {
            out.insert("exemptImages".into(), values(&self.settled.exempt));
        }
        if !self.signatures.is_empty() {
            out.insert("signatures".into(), values(&self.signatures));
        }
        if let Some((modify, _)) = &self.modify_with_digest {
            out.insert("modifyImagesWithDigest".into(), json!(modify));
        }
        Value::Object(out)
    }

    /// The header: sources and notes, as YAML comments.
    fn header(&self, title: &str) -> String {
        let mut out = format!("# {title}, imported by `registry-guard import` from:\n");
        for source in &self.sources {
            out.push_str(&format!("#   {source}\n"));
        }
        for note in &self.notes {
            out.push_str(&format!("# NOTE: {}\n", one_line(note)));
        }
        if let Some(why) = &self.settled.deny_all {
            out.push_str(&format!("# NOTE: {}: these settings allow no image\n", one_line(why)));
        }
        out
    }

    /// The settings as commented YAML, each line indented by `indent`.
    fn settings_yaml(&self, indent: &str) -> String {
        let mut out = String::new();
        if self.settled.refused_whole {
            out.push_str(&format!("{indent}registries:\n{indent}  allow: []\n"));
            return out;
        }
        let list = |out: &mut String, pad: &str, entries: &[Entry]| {
            for entry in entries {
                out.push_str(&format!("{indent}{pad}# {}\n{indent}{pad}- {}\n", one_line(&entry.comment), entry.value));
            }
        };
        for (section, allow, reject) in self.sections() {
            if allow.is_none() && reject.is_empty() {
                continue;
            }
            out.push_str(&format!("{indent}{section}:\n"));
            match allow {
                Some(entries) if entries.is_empty() => out.push_str(&format!("{indent}  allow: []\n")),
                Some(entries) => {
                    out.push_str(&format!("{indent}  allow:\n"));
                    list(&mut out, "    ", entries);
                }
                None => {}
            }
            if !reject.is_empty() {
                out.push_str(&format!("{indent}  reject:\n"));
                list(&mut out, "    ", reject);
            }
        }
        if let Some(comment) = &self.digests_require {
            out.push_str(&format!("{indent}digests:\n{indent}  # {}\n{indent}  require: true\n", one_line(comment)));
        }
        if !self.settled.exempt.is_empty() {
            out.push_str(&format!("{indent}exemptImages:\n"));
            list(&mut out, "  ", &self.settled.exempt);
        }
        if !self.signatures.is_empty() {
            out.push_str(&format!("{indent}signatures:\n"));
            list(&mut out, "  ", &self.signatures);
        }
        if let Some((modify, comment)) = &self.modify_with_digest {
            out.push_str(&format!("{indent}# {}\n{indent}modifyImagesWithDigest: {modify}\n", one_line(comment)));
        }
        if out.is_empty() {
            out.push_str(&format!("{indent}{{}}\n"));
        }
        out
    }

    /// The settings as commented YAML.
    pub fn yaml(&self) -> String {
        format!("{}{}", self.header("registry-guard settings"), self.settings_yaml(""))
    }

    /// `--as-policy NAME`: a whole registry-guard ClusterAdmissionPolicy
    /// (the README's "Deploying it" resource), in the mode the sources'
    /// rules had, mutating exactly when the settings can rewrite.
    pub fn policy_yaml(&self, name: &str) -> String {
        let settings = self.settings();
        let mutating = settings.get("signatures").is_some() && settings["modifyImagesWithDigest"] != false;
        let mut out = self.header("a registry-guard ClusterAdmissionPolicy");
        let scope = self.settled.scope.as_ref();
        let background_audit = scope.and_then(|s| s.background_audit.clone()).unwrap_or(json!(true));
        out.push_str(&format!(
            "apiVersion: policies.kubewarden.io/v1\nkind: ClusterAdmissionPolicy\nmetadata:\n  name: {}\nspec:\n  \
             module: registry://ghcr.io/registry-guard/policies/registry-guard:v0.1.0\n  mode: {}\n  mutating: {mutating}\n  \
             backgroundAudit: {background_audit}\n",
            json!(name),
            self.settled.mode
        ));
        // JSON is YAML: the resources' own fields, as they were.
        match scope.and_then(|s| s.rules.as_ref()) {
            Some(rules) => out.push_str(&format!("  rules: {rules}\n")),
            None => out.push_str(RULES),
        }
        for (key, value) in [
            ("namespaceSelector", scope.and_then(|s| s.namespace_selector.as_ref())),
            ("objectSelector", scope.and_then(|s| s.object_selector.as_ref())),
        ] {
            if let Some(value) = value {
                out.push_str(&format!("  {key}: {value}\n"));
            }
        }
        out.push_str("  settings:\n");
        out.push_str(&self.settings_yaml("    "));
        out
    }
}

/// The README's core `rules` (metadata.yml's), in the resource's `spec`.
const RULES: &str = r#"  rules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      resources: ["pods", "pods/ephemeralcontainers", "podtemplates", "replicationcontrollers"]
      operations: ["CREATE", "UPDATE"]
    - apiGroups: ["apps"]
      apiVersions: ["v1"]
      resources: ["deployments", "replicasets", "statefulsets", "daemonsets"]
      operations: ["CREATE", "UPDATE"]
    - apiGroups: ["batch"]
      apiVersions: ["v1"]
      resources: ["jobs", "cronjobs"]
      operations: ["CREATE", "UPDATE"]
"#;
