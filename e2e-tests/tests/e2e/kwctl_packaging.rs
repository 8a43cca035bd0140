//! Packaging through kwctl: the module annotated with metadata.yml shows
//! that metadata in `kwctl inspect`, and the ClusterAdmissionPolicy that
//! `kwctl scaffold manifest` writes for it has the rules of the README's
//! "Deploying it" example (metadata.yml is the source of truth).

use registry_guard_e2e::{read_yaml, repo_root};
use serde_json::Value;

use crate::kwctl::{Kwctl, declared_host_capabilities, describe, path};

/// The ```yaml policy block under "## Deploying it" in the README.
fn readme_deploying_it_policy() -> Value {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let section = readme.split_once("\n## Deploying it\n").expect("README.md has a \"## Deploying it\" section").1;
    let section = section.split("\n## ").next().unwrap();
    let block = section.split_once("```yaml policy\n").expect("\"Deploying it\" has a ```yaml policy block").1;
    let block = block.split_once("\n```").expect("the ```yaml policy block ends").0;
    serde_yaml::from_str(block).unwrap_or_else(|e| panic!("README.md, Deploying it: {e}"))
}

#[test]
fn kwctl_inspect_shows_metadata_yml() {
    let Some(kwctl) = Kwctl::find("inspect") else { return };
    let annotated = kwctl.annotate();
    let output = kwctl.output(&["inspect", "--output", "yaml", path(&annotated)]);
    let inspected: Value = serde_yaml::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("kwctl inspect --output yaml: {e}\n{}", String::from_utf8_lossy(&output.stdout)));
    let metadata = read_yaml("metadata.yml");

    assert_eq!(inspected["protocolVersion"], "v1", "the protocol version kwctl read from the module");
    for field in ["rules", "mutating", "backgroundAudit", "executionMode"] {
        assert_eq!(inspected[field], metadata[field], "kwctl inspect: {field}");
    }
    // metadata.yml's `contextAware` is not a field kwctl knows; what it
    // keeps is the list of resources the policy may read (`vulnerabilities`).
    assert_eq!(inspected["contextAwareResources"], metadata["contextAwareResources"]);
    let annotations = &inspected["annotations"];
    for (key, value) in metadata["annotations"].as_object().unwrap() {
        assert_eq!(&annotations[key], value, "kwctl inspect: annotation {key}");
    }
    assert_eq!(annotations["io.kubewarden.policy.title"], "registry-guard");
    // The annotation (hosts before 1.35, Artifact Hub) lists what the
    // top-level hostCapabilities (1.35) lists.
    let capabilities = annotations["io.kubewarden.policy.hostCapabilities"].as_str().unwrap_or_default();
    let annotated: Vec<String> = capabilities.split(", ").map(|c| c.trim_start_matches("kubewarden/").into()).collect();
    assert_eq!(annotated, declared_host_capabilities(), "io.kubewarden.policy.hostCapabilities");
    // `-u README.md`: the README is the policy's usage text.
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    assert_eq!(annotations["io.kubewarden.policy.usage"].as_str(), Some(readme.as_str()));
    assert!(annotations["io.kubewarden.kwctl"].is_string(), "kwctl annotate records its version");
}

#[test]
fn kwctl_scaffold_gives_the_rules_of_the_readme_deploying_it_example() {
    let Some(kwctl) = Kwctl::find("scaffold") else { return };
    let annotated = kwctl.annotate();
    let readme = readme_deploying_it_policy();
    let settings = kwctl.scratch.join("settings.json");
    std::fs::write(&settings, serde_json::to_vec(&readme["spec"]["settings"]).unwrap()).unwrap();
    let output = kwctl.output(&[
        "scaffold",
        "manifest",
        "--type",
        "ClusterAdmissionPolicy",
        "--settings-path",
        path(&settings),
        path(&annotated),
    ]);
    let scaffolded: Value = serde_yaml::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("kwctl scaffold manifest: {e}\n{}", String::from_utf8_lossy(&output.stdout)));
    let metadata = read_yaml("metadata.yml");

    assert_eq!(scaffolded["kind"], "ClusterAdmissionPolicy");
    assert_eq!(scaffolded["apiVersion"], readme["apiVersion"]);
    assert_eq!(scaffolded["metadata"]["name"], readme["metadata"]["name"]);
    assert_eq!(scaffolded["spec"]["rules"], metadata["rules"], "kwctl scaffold's rules are metadata.yml's");
    assert_eq!(
        readme["spec"]["rules"], scaffolded["spec"]["rules"],
        "README.md, Deploying it: spec.rules (left) must be what `kwctl scaffold manifest` writes from metadata.yml (right)"
    );
    assert_eq!(scaffolded["spec"]["settings"], readme["spec"]["settings"]);
    // kwctl takes `mutating` from metadata.yml (the policy can mutate); the
    // README's example says false because its settings never mutate
    // (readme.rs checks that).
    assert_eq!(scaffolded["spec"]["mutating"], metadata["mutating"]);
}

/// kwctl 1.35 compares the host capabilities the module calls (the
/// operation names in its data) with metadata.yml's `hostCapabilities`, and
/// warns at `annotate` about any the list lacks, or lists without a call.
#[test]
fn kwctl_annotate_finds_the_declared_host_capabilities_exactly() {
    let Some(kwctl) = Kwctl::find("annotate-capabilities") else { return };
    let out = kwctl.scratch.join("annotated.wasm");
    let policy = registry_guard_e2e::policy_path();
    let output = kwctl.output(&["annotate", "-m", "metadata.yml", "-o", path(&out), path(&policy)]);
    let said = describe(&output);
    assert!(!said.contains("not declared"), "kwctl annotate: a capability is called but not declared\n{said}");
    assert!(!said.contains("not detected"), "kwctl annotate: a capability is declared but never called\n{said}");
    assert!(!said.contains("WARN"), "kwctl annotate warned\n{said}");
}
