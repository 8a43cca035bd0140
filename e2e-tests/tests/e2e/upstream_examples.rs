//! Upstream projects' own example files, unchanged (argo-workflows
//! `examples/` with every artifact location and `resource` manifests;
//! kubevirt `examples/vmi-with-sidecar-hook.yaml`; operators' examples:
//! Spark, Flink, CloudNativePG; origins and commits in
//! e2e-tests/fixtures/upstream/README.md). Each folder's `expected.tsv`
//! (file, document, field, value, image|unread), written from the files
//! independently of the policy, lists every image (those of Argo's YAML
//! `resource` manifests included: `check` reads them) and every manifest
//! left unread. Under allow-all every example is admitted; under deny-all
//! exactly the listed images are named; both warn exactly about the unread
//! manifests. In admission (no YAML reader) a YAML manifest is a warning.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use registry_guard_e2e::{evaluate, policy, read_yaml, repo_root};
use registry_guard_runner::check::check;
use registry_guard_runner::manifests::read_inputs;
use serde_json::{Value, json};

const FOLDERS: &[&str] = &["argo-examples", "kubevirt-examples", "operator-examples"];

#[derive(Default, Debug, Clone, PartialEq)]
struct Fields {
    images: BTreeSet<String>,
    unread: BTreeSet<String>,
}

fn oracle(folder: &Path) -> BTreeMap<(String, usize), Fields> {
    let mut out: BTreeMap<(String, usize), Fields> = BTreeMap::new();
    for line in std::fs::read_to_string(folder.join("expected.tsv")).unwrap().lines() {
        let [file, document, field, _, kind] = line.split('\t').collect::<Vec<_>>()[..] else { panic!("{line:?}") };
        let entry = out.entry((file.to_string(), document.parse().unwrap())).or_default();
        match kind {
            "image" => entry.images.insert(field.to_string()),
            "unread" => entry.unread.insert(field.to_string()),
            other => panic!("expected.tsv: unknown kind {other:?}"),
        };
    }
    out
}

fn first_words<'a>(parts: impl Iterator<Item = &'a str>) -> BTreeSet<String> {
    parts.map(|part| part.split(' ').next().unwrap().trim_end_matches(':').to_string()).collect()
}

/// Checks every folder under `settings`; returns how many images were denied.
fn verdicts_match(settings: Value, deny_all: bool) -> usize {
    let mut denied = 0;
    for folder in FOLDERS {
        let folder = repo_root().join("e2e-tests/fixtures/upstream").join(folder);
        let expected = oracle(&folder);
        let verdicts = check(&policy(), &settings, read_inputs(&[folder.display().to_string()]).unwrap()).unwrap();
        for verdict in verdicts {
            let file = Path::new(&verdict.source).file_name().unwrap().to_string_lossy().into_owned();
            let want = expected.get(&(file, verdict.document - 1)).cloned().unwrap_or_default();
            let got = Fields {
                images: verdict.message.as_deref().map_or_else(BTreeSet::new, |m| first_words(m.split("; "))),
                unread: first_words(verdict.warnings.iter().map(String::as_str)),
            };
            let images = if deny_all { want.images.clone() } else { BTreeSet::new() };
            assert_eq!(got, Fields { images, unread: want.unread.clone() }, "{}", verdict.line());
            assert!(verdict.patch.is_none());
            denied += got.images.len();
        }
    }
    denied
}

#[test]
fn upstream_examples_are_all_admitted_under_allow_all() {
    assert_eq!(verdicts_match(json!({"registries": {"allow": ["*:*"]}}), false), 0);
}

#[test]
fn upstream_examples_have_every_image_named_under_deny_all() {
    // 23 argo-workflows images (3 in YAML manifests; the Azure artifacts'
    // `container` is not one), the KubeVirt hook sidecar and container disk,
    // and 4 in operators' fields.
    assert_eq!(verdicts_match(json!({"registries": {"allow": []}}), true), 29);
}

#[test]
fn in_admission_a_yaml_argo_manifest_is_a_warning_naming_it() {
    let workflow = read_yaml("e2e-tests/fixtures/upstream/argo-examples/k8s-jobs.yaml");
    let response = evaluate(&json!({"registries": {"allow": ["*:*"]}}), &workflow);
    assert!(response.accepted);
    let warnings = response.warnings.unwrap_or_default();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("spec.templates[0].resource.manifest \"apiVersion: batch/v1\\nkind: Job")
            && warnings[0].contains("is an Argo resource manifest the policy does not read (YAML, or not an object)"),
        "{}",
        warnings[0]
    );
}
