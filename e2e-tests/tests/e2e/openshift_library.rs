//! OpenShift's own template catalog (openshift/library
//! `official/*/templates/*.json`, a representative set in
//! e2e-tests/fixtures/upstream/openshift-library): templates a cluster admin
//! installs unchanged. Under allow-all every template is admitted; under
//! deny-all exactly the concrete images are named, and every template
//! parameter (`${NAME}`) and every blank image an image-change trigger fills
//! is a warning (the trigger's naming its ImageStreamTag). `expected.tsv`
//! lists them (file, field, value, image|parameter|trigger), written from
//! the templates independently of the policy.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use registry_guard_e2e::{policy, repo_root};
use registry_guard_runner::check::{Verdict, check};
use registry_guard_runner::manifests::read_inputs;
use serde_json::{Value, json};

#[derive(Default, Debug, Clone)]
struct Expected {
    images: BTreeSet<String>,
    /// Field → how its warning names it.
    warned: BTreeMap<String, String>,
}

fn oracle(folder: &Path) -> BTreeMap<String, Expected> {
    let mut out: BTreeMap<String, Expected> = BTreeMap::new();
    for line in std::fs::read_to_string(folder.join("expected.tsv")).unwrap().lines() {
        let [file, field, value, kind] = line.split('\t').collect::<Vec<_>>()[..] else { panic!("{line:?}") };
        let entry = out.entry(file.to_string()).or_default();
        match kind {
            "image" => {
                entry.images.insert(field.to_string());
            }
            "parameter" => {
                entry.warned.insert(field.into(), format!("{field} {value:?} is an OpenShift template parameter"));
            }
            "trigger" => {
                let named = format!(
                    "{field} {value:?} is the ImageStreamTag an OpenShift image-change trigger fills this field from"
                );
                entry.warned.insert(field.into(), named);
            }
            other => panic!("expected.tsv: unknown kind {other:?}"),
        }
    }
    out
}

fn run(settings: Value) -> Vec<(String, Verdict)> {
    let folder = repo_root().join("e2e-tests/fixtures/upstream/openshift-library");
    let verdicts = check(&policy(), &settings, read_inputs(&[folder.display().to_string()]).unwrap()).unwrap();
    verdicts
        .into_iter()
        .map(|v| (Path::new(&v.source).file_name().unwrap().to_string_lossy().into_owned(), v))
        .collect()
}

fn first_words<'a>(parts: impl Iterator<Item = &'a str>) -> BTreeSet<String> {
    parts.map(|part| part.split(' ').next().unwrap().trim_end_matches(':').to_string()).collect()
}

fn check_warnings(file: &str, verdict: &Verdict, want: &Expected) {
    assert_eq!(verdict.warnings.len(), want.warned.len(), "{file}: {:#?}", verdict.warnings);
    for (field, named) in &want.warned {
        assert!(
            verdict.warnings.iter().any(|w| w.starts_with(named.as_str())),
            "{file}: no warning {named:?} for {field} in {:#?}",
            verdict.warnings
        );
    }
}

#[test]
fn the_catalog_templates_are_admitted_under_allow_all_with_parameters_and_triggers_warned() {
    let expected = oracle(&repo_root().join("e2e-tests/fixtures/upstream/openshift-library"));
    let verdicts = run(json!({"registries": {"allow": ["*:*"]}}));
    assert_eq!(verdicts.len(), 17);
    let (mut parameters, mut triggers) = (0, 0);
    for (file, verdict) in &verdicts {
        assert!(verdict.allowed, "{}", verdict.line());
        assert!(verdict.patch.is_none());
        let want = expected.get(file).cloned().unwrap_or_default();
        check_warnings(file, verdict, &want);
        parameters += want.warned.values().filter(|w| w.contains("template parameter")).count();
        triggers += want.warned.values().filter(|w| w.contains("trigger")).count();
    }
    // Both patterns of the catalog are covered.
    assert!(parameters >= 8 && triggers >= 8, "{parameters} parameters, {triggers} triggers");
}

#[test]
fn under_deny_all_every_concrete_image_of_the_catalog_templates_is_named() {
    let expected = oracle(&repo_root().join("e2e-tests/fixtures/upstream/openshift-library"));
    let mut denied = 0;
    for (file, verdict) in run(json!({"registries": {"allow": []}})) {
        let want = expected.get(&file).cloned().unwrap_or_default();
        let got = verdict.message.as_deref().map_or_else(BTreeSet::new, |m| first_words(m.split("; ")));
        assert_eq!(got, want.images, "{}", verdict.line());
        assert_eq!(verdict.allowed, want.images.is_empty());
        check_warnings(&file, &verdict, &want);
        denied += want.images.len();
    }
    assert_eq!(denied, 3);
}
