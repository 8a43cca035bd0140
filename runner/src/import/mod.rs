//! `registry-guard import FILE...`: image rules written for other engines,
//! printed as registry-guard settings, each rule with a comment saying where
//! it came from and, where the source's meaning was unsafe or differs, what
//! the safe reading is.
//!
//! The one guarantee: **import never widens what the source allows**. What
//! it cannot express exactly it expresses more strictly (and says so in a
//! note) or lists as not translated (exit 1 unless `--partial`). In
//! particular:
//!
//! - each allow rule of the source is a group of alternatives, and the source
//!   admits an image only when every group does; registry-guard has two allow
//!   lists that must both pass (`registries.allow`, `images.allow`), so up to
//!   two groups are kept exact and a third is listed as not translated,
//!   never joined into a wider list;
//! - an allow rule with no alternatives (Gatekeeper's `repos: []`, a missing
//!   `repos`, trusted-repos' `registries.allow: []`) allows nothing, as in
//!   the source: it becomes `registries.allow: []`;
//! - a rule the source only reports (Kyverno `Audit` or background-only,
//!   Gatekeeper `dryrun`/`warn`) is not enforced silently: it is listed as
//!   not translated unless `--as-policy` prints a `mode: monitor` resource;
//! - an exemption applies to one rule in the source and to every rule here,
//!   so it is kept only where every other imported rule admits its images
//!   anyway, and otherwise left out (stricter), with a note.
//!
//! Read: Kyverno ClusterPolicy/Policy, Gatekeeper constraints, OpenShift
//! image configs, Kubewarden trusted-repos and verify-image-signatures
//! settings and the policy resources that run them (`List`s unpacked), and
//! Sigstore policy-controller ClusterImagePolicies. One module per source
//! (`kyverno`, `gatekeeper`, `openshift`, `kubewarden`,
//! `policy_controller`); `settle` turns what they read into the final lists
//! and checks every entry with the policy's own settings validation,
//! `output` prints them (settings, or with `--as-policy` a whole
//! ClusterAdmissionPolicy). The source engines' semantics, with citations, are
//! in the README's import table.

mod gatekeeper;
mod kubewarden;
mod kyverno;
mod openshift;
mod output;
mod policy_controller;
mod settle;

#[cfg(test)]
mod differential;

use serde_json::Value;

use crate::manifests::Sourced;

/// A setting with where it came from.
#[derive(Debug, Clone)]
struct Entry {
    value: Value,
    comment: String,
}

/// What one image rule of another engine means here.
#[derive(Debug, Clone, PartialEq)]
enum Rule {
    Registry(String),
    Image(String),
    Tag(String),
    /// A tag refused whatever the rule's negation (`*:*` → no `latest`).
    RejectTag(String),
    Digest,
}

/// One allow rule of the source: an image must match one of its
/// alternatives (each a `Registry`, `Image` or `Tag`, with its comment).
/// No alternative at all allows nothing.
#[derive(Debug, Clone)]
struct AllowGroup {
    origin: String,
    alternatives: Vec<(Rule, String)>,
}

/// What a source document admits whatever its other rules say: another
/// document's exemption may be applied to every rule only when each
/// document admits the exempted images anyway.
#[derive(Debug, Clone)]
enum Admits {
    /// Nothing is known to be admitted (Kyverno, OpenShift, settings).
    Unknown,
    /// Gatekeeper K8sAllowedRepos: every image starting with one of these.
    Prefixes(Vec<String>),
    /// A Gatekeeper constraint with `exemptImages`: these (as written).
    Exempted(Vec<String>),
}

/// A Gatekeeper exemption: the string as written, the image pattern it
/// became, and the document it came from.
#[derive(Debug, Clone)]
struct Exemption {
    literal: String,
    pattern: String,
    comment: String,
    doc: usize,
}

/// How `import` is asked to print.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--as-policy NAME`: a whole ClusterAdmissionPolicy, not settings.
    pub as_policy: Option<String>,
}

/// The settings being built, list by list.
#[derive(Debug, Default)]
pub struct Imported {
    allow: Vec<AllowGroup>,
    registries_reject: Vec<Entry>,
    images_reject: Vec<Entry>,
    tags_reject: Vec<Entry>,
    digests_require: Option<String>,
    exemptions: Vec<Exemption>,
    /// The documents (by position) that gave registries, images, tags or
    /// digests rules, and what each admits anyway.
    contributors: Vec<(usize, Admits)>,
    signatures: Vec<Entry>,
    modify_with_digest: Option<(bool, String)>,
    /// Rules the source only reports: where, and why.
    monitored: Vec<String>,
    /// Whether any rule is enforced by the source.
    enforced: bool,
    /// Notes for the top of the output (modes, scopes, merges).
    pub notes: Vec<String>,
    /// What could not be translated, and why.
    pub untranslatable: Vec<String>,
    /// The sources read.
    sources: Vec<String>,
    /// The document being read (its position among all documents).
    doc: usize,
    /// policy-controller's globs: one allow rule, since an image no
    /// ClusterImagePolicy matches is refused.
    cip_globs: Vec<policy_controller::Glob>,
    /// Where the Kubewarden resources read applied (`--as-policy`).
    scopes: Vec<(String, kubewarden::Scope)>,
    /// The final lists, after `settle`.
    settled: settle::Settled,
    options: Options,
}

/// Where a rule came from: `file#2 ClusterPolicy restrict-image-registries`
/// (an item of a `List`: `file#1.items[0] ClusterAdmissionPolicy name`).
fn origin(sourced: &Sourced) -> String {
    let kind = sourced.value["kind"].as_str().unwrap_or("settings");
    let name = sourced.value["metadata"]["name"].as_str().map(|n| format!(" {n}")).unwrap_or_default();
    match sourced.index {
        0 => format!("{} {kind}{name}", sourced.source),
        index => format!("{}#{index} {kind}{name}", sourced.source),
    }
}

fn strings(value: &Value) -> Vec<&str> {
    value.as_array().map(|items| items.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// Docker Hub's names, which registry-guard reads as one registry.
fn is_docker_hub(host: &str) -> bool {
    matches!(host.to_ascii_lowercase().as_str(), "docker.io" | "index.docker.io" | "registry-1.docker.io")
}

/// Every image of a registry, as an image pattern.
fn registry_as_image(host: &str) -> String {
    if is_docker_hub(host) { "docker.io/*/*".to_string() } else { format!("{host}/*") }
}

impl Imported {
    /// Reads every document as settings (no `--as-policy`).
    pub fn read(documents: &[Sourced]) -> Imported {
        Imported::read_with(documents, &Options::default())
    }

    pub fn read_with(documents: &[Sourced], options: &Options) -> Imported {
        let mut out = Imported { options: options.clone(), ..Imported::default() };
        for sourced in documents {
            out.read_document(sourced);
        }
        out.settle();
        out
    }

    fn read_document(&mut self, sourced: &Sourced) {
        let value = &sourced.value;
        let api_version = value["apiVersion"].as_str().unwrap_or_default();
        let kind = value["kind"].as_str().unwrap_or_default();
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        if kind == "List"
            && let Some(items) = value["items"].as_array()
        {
            // `kubectl get … -o yaml`: each item a document of its own.
            let at = match sourced.index {
                0 => sourced.source.clone(),
                index => format!("{}#{index}", sourced.source),
            };
            for (i, item) in items.iter().enumerate() {
                let source = format!("{at}.items[{i}]");
                self.read_document(&Sourced {
                    source,
                    index: 0,
                    value: item.clone(),
                    line: sourced.line,
                    text: String::new(),
                });
            }
            return;
        }
        self.doc = self.sources.len();
        self.sources.push(origin(sourced));
        match (group, kind) {
            (g, "ClusterPolicy" | "Policy") if g.starts_with("kyverno.io") => self.kyverno(sourced),
            (g, "PolicyException") if g.starts_with("kyverno.io") => self.untranslatable.push(format!(
                "{}: a Kyverno PolicyException exempts objects (by kind, name, namespace), not images: scope \
                 registry-guard with the ClusterAdmissionPolicy's rules, namespaceSelector or objectSelector; \
                 exempt images with exemptImages",
                origin(sourced)
            )),
            ("constraints.gatekeeper.sh", _) => self.gatekeeper(sourced),
            (
                "policies.kubewarden.io",
                "ClusterAdmissionPolicy" | "AdmissionPolicy" | "ClusterAdmissionPolicyGroup" | "AdmissionPolicyGroup",
            ) => self.kubewarden_resource(sourced),
            ("config.openshift.io", "Image") => self.openshift_image(sourced),
            ("policy.sigstore.dev", "ClusterImagePolicy") => self.policy_controller(sourced),
            _ if value.get("imagePolicyConfig").is_some() => self.openshift_master(sourced),
            ("", "") if value.is_object() => self.kubewarden_settings(sourced),
            _ => {
                self.untranslatable.push(format!("{}: not an image policy registry-guard can import", origin(sourced)))
            }
        }
    }

    /// The current document gives registries, images, tags or digests rules.
    fn contributes(&mut self) {
        if !self.contributors.iter().any(|(doc, _)| *doc == self.doc) {
            self.contributors.push((self.doc, Admits::Unknown));
        }
    }

    /// What the current document admits anyway (Gatekeeper).
    fn admits(&mut self, admits: Admits) {
        self.contributors.retain(|(doc, _)| *doc != self.doc);
        self.contributors.push((self.doc, admits));
    }

    /// A rule the source enforces (`monitored: None`) or only reports
    /// (`Some(why)`).
    fn enforcement(&mut self, at: &str, monitored: Option<String>) {
        match monitored {
            None => self.enforced = true,
            Some(why) => {
                let entry = format!("{at}: {why}");
                if !self.monitored.contains(&entry) {
                    self.monitored.push(entry);
                }
            }
        }
    }

    /// A source's mode field: absent or `enforcing` enforces; one of
    /// `reporting` (value, what the engine then does) only reports; any
    /// other value is listed and read as enforcing (the stricter reading).
    fn mode(&mut self, from: &str, field: &str, value: Option<&str>, enforcing: &str, reporting: &[(&str, &str)]) {
        let monitored = match value {
            None => None,
            Some(value) if value == enforcing => None,
            Some(value) => match reporting.iter().find(|(v, _)| *v == value) {
                Some((_, what)) => Some(format!("{field}: {value} ({what})")),
                None => {
                    self.untranslatable.push(format!(
                        "{from}: {field}: {value} is not one registry-guard reads: imported as {enforcing}, which may be stricter"
                    ));
                    None
                }
            },
        };
        self.enforcement(from, monitored);
    }

    fn note(&mut self, note: String) {
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// A refusing rule: into the reject lists (their union is what every
    /// source refuses), or `digests.require`.
    fn push_reject(&mut self, rule: Rule, comment: String) {
        self.contributes();
        let (list, value) = match rule {
            Rule::Registry(host) => (&mut self.registries_reject, host),
            Rule::Image(image) => (&mut self.images_reject, image),
            Rule::Tag(tag) | Rule::RejectTag(tag) => (&mut self.tags_reject, tag),
            Rule::Digest => {
                self.digests_require.get_or_insert(comment);
                return;
            }
        };
        if !list.iter().any(|e| e.value == value) {
            list.push(Entry { value: Value::String(value), comment });
        }
    }

    /// An allow rule: an image must match one of `alternatives`. A
    /// `RejectTag` or `Digest` alternative cannot be joined to others (no
    /// section says "this or a digest"): it is applied on its own, which is
    /// stricter, and said so.
    fn push_allow(&mut self, origin: &str, alternatives: Vec<(Rule, String)>) {
        self.contributes();
        let (apart, alternatives): (Vec<_>, Vec<_>) =
            alternatives.into_iter().partition(|(r, _)| matches!(r, Rule::RejectTag(_) | Rule::Digest));
        if !apart.is_empty() && !alternatives.is_empty() {
            self.note(format!(
                "{origin}: alternatives that require a digest or refuse a tag are applied on their own, with the \
                 others: stricter than \"one of them\""
            ));
        }
        let only_apart = !apart.is_empty() && alternatives.is_empty();
        for (rule, comment) in apart {
            self.push_reject(rule, comment);
        }
        // A group of no alternatives allows nothing, as in the source; one
        // whose alternatives all went apart has nothing more to say.
        if !only_apart {
            self.allow.push(AllowGroup { origin: origin.to_string(), alternatives });
        }
    }
}
