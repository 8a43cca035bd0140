//! `registry-guard check` on whole folders of manifests shaped like the
//! upstream projects' own examples (Tekton, Argo Workflows, KubeVirt and
//! CDI, OpenShift, Crossplane, Kubewarden; e2e-tests/fixtures/upstream, each
//! file naming its origin). Each folder's `expected.tsv` lists, per
//! document, every field that holds an image and every parameter reference,
//! written from the projects' documentation independently of the policy.
//! Under `registries.allow: [public.ecr.aws]` the check must deny exactly
//! the listed images outside public.ecr.aws, warn exactly about the listed
//! parameters, and accept every other document untouched.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use registry_guard_e2e::{policy, repo_root};
use registry_guard_runner::check::check;
use registry_guard_runner::manifests::read_inputs;
use serde_json::json;

const PROJECTS: &[&str] = &["tekton", "argo", "kubevirt", "openshift", "crossplane", "kubewarden"];

#[derive(Default, Debug, PartialEq, Clone)]
struct Fields {
    denied: BTreeSet<String>,
    warned: BTreeSet<String>,
}

/// (file, 0-based document) → the fields the oracle expects.
fn oracle(folder: &Path) -> BTreeMap<(String, usize), Fields> {
    let text = std::fs::read_to_string(folder.join("expected.tsv")).unwrap();
    let mut out: BTreeMap<(String, usize), Fields> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let cells: Vec<&str> = line.split('\t').collect();
        let [file, document, field, value, kind] = cells[..] else { panic!("expected.tsv: {line:?}") };
        let entry = out.entry((file.to_string(), document.parse().unwrap())).or_default();
        let image = value.trim_start_matches("docker://").trim_start_matches("registry://");
        match kind {
            "image" if image.starts_with("public.ecr.aws/") => {}
            "image" => {
                entry.denied.insert(field.to_string());
            }
            "parameter" => {
                entry.warned.insert(field.to_string());
            }
            other => panic!("expected.tsv: unknown kind {other:?}"),
        }
    }
    out
}

/// The first word of each `field "image": reason` of a message (or of each
/// warning).
fn fields<'a>(parts: impl Iterator<Item = &'a str>) -> BTreeSet<String> {
    parts.map(|part| part.split(' ').next().unwrap().trim_end_matches(':').to_string()).collect()
}

#[test]
fn upstream_examples_are_denied_exactly_where_their_images_are_outside_the_allowed_registries() {
    let settings = json!({"registries": {"allow": ["public.ecr.aws"]}});
    let mut documents_checked = 0;
    let mut images_denied = 0;
    for project in PROJECTS {
        let folder = repo_root().join("e2e-tests/fixtures/upstream").join(project);
        let expected = oracle(&folder);
        let documents = read_inputs(&[folder.display().to_string()]).unwrap();
        let verdicts = check(&policy(), &settings, documents).unwrap();
        assert!(verdicts.len() >= 3, "{project}: {} documents", verdicts.len());
        for verdict in verdicts {
            let file = Path::new(&verdict.source).file_name().unwrap().to_string_lossy().into_owned();
            let key = (file, verdict.document - 1);
            let want = expected.get(&key).cloned().unwrap_or_default();
            let got = Fields {
                denied: verdict.message.as_deref().map_or_else(BTreeSet::new, |m| fields(m.split("; "))),
                warned: fields(verdict.warnings.iter().map(String::as_str)),
            };
            assert_eq!(got, want, "{project}/{}#{}: {}", key.0, key.1, verdict.line());
            assert_eq!(verdict.allowed, want.denied.is_empty(), "{}", verdict.line());
            assert!(verdict.patch.is_none(), "{}: nothing is rewritten", verdict.line());
            documents_checked += 1;
            images_denied += want.denied.len();
        }
    }
    assert!(documents_checked >= 40 && images_denied >= 80, "{documents_checked} documents, {images_denied} images");
}
