//! artifacthub-pkg.yml, metadata.yml, questions-ui.yml and Cargo.toml must
//! tell the same story.

use registry_guard_e2e::{read_yaml, repo_root};
use serde_json::Value;

fn cargo_version() -> String {
    let text = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    let line = text.lines().find(|l| l.starts_with("version = ")).expect("Cargo.toml has a version");
    line.trim_start_matches("version = ").trim_matches('"').to_string()
}

#[test]
fn artifacthub_package_is_in_step_with_metadata() {
    let metadata = read_yaml("metadata.yml");
    let package = read_yaml("artifacthub-pkg.yml");
    let annotation = |key: &str| metadata["annotations"][key].as_str().unwrap_or_default().to_string();
    let version = cargo_version();
    assert_eq!(annotation("io.kubewarden.policy.version"), version, "metadata.yml version");
    assert_eq!(package["version"].as_str(), Some(version.as_str()), "artifacthub-pkg.yml version");
    assert_eq!(package["name"].as_str(), Some(annotation("io.kubewarden.policy.title").as_str()));
    assert_eq!(package["description"].as_str(), Some(annotation("io.kubewarden.policy.description").as_str()));
    assert_eq!(package["displayName"].as_str(), Some(annotation("io.artifacthub.displayName").as_str()));
    let image = format!("{}:v{version}", annotation("io.kubewarden.policy.ociUrl"));
    assert_eq!(package["containersImages"][0]["image"].as_str(), Some(image.as_str()));

    let rules: Value = serde_yaml::from_str(package["annotations"]["kubewarden/rules"].as_str().unwrap()).unwrap();
    assert_eq!(rules, metadata["rules"], "kubewarden/rules");
    let mutation = package["annotations"]["kubewarden/mutation"].as_str().unwrap();
    assert_eq!(mutation, metadata["mutating"].to_string(), "kubewarden/mutation");
    let context_aware = package["annotations"]["kubewarden/contextAware"].as_str().unwrap();
    assert_eq!(context_aware, metadata["contextAware"].to_string());
    let capabilities = package["annotations"]["kubewarden/hostCapabilities"].as_str().unwrap();
    assert_eq!(capabilities, annotation("io.kubewarden.policy.hostCapabilities"), "host capabilities");
    assert!(capabilities.contains("kubewarden/oci/v2/verify"), "signatures need v2/verify");
    assert!(capabilities.contains("kubewarden/oci/v1/oci_manifest_config"), "imageConfig needs oci_manifest_config");
    assert!(
        capabilities.contains("kubewarden/kubernetes/list_resources_by_namespace"),
        "vulnerabilities needs list_resources_by_namespace"
    );
    assert_eq!(context_aware, "true", "vulnerabilities reads the cluster");
    let questions = std::fs::read_to_string(repo_root().join("questions-ui.yml")).unwrap();
    assert_eq!(package["annotations"]["kubewarden/questions-ui"].as_str(), Some(questions.as_str()));
}

#[test]
fn metadata_covers_every_kind_and_the_ephemeralcontainers_subresource() {
    let metadata = read_yaml("metadata.yml");
    let resources: Vec<&str> = metadata["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|rule| rule["resources"].as_array().unwrap().iter().filter_map(Value::as_str))
        .collect();
    for resource in [
        "pods",
        "pods/ephemeralcontainers",
        "podtemplates",
        "replicationcontrollers",
        "deployments",
        "replicasets",
        "statefulsets",
        "daemonsets",
        "jobs",
        "cronjobs",
    ] {
        assert!(resources.contains(&resource), "metadata.yml has no rule for {resource}");
    }
    for rule in metadata["rules"].as_array().unwrap() {
        assert_eq!(rule["operations"], serde_json::json!(["CREATE", "UPDATE"]));
    }
    assert_eq!(metadata["mutating"], true);
    assert_eq!(metadata["backgroundAudit"], true);
    assert_eq!(metadata["executionMode"], "kubewarden-wapc");
}

#[test]
fn questions_ui_covers_every_setting() {
    let questions = read_yaml("questions-ui.yml");
    let mut variables = Vec::new();
    for question in questions["questions"].as_array().unwrap() {
        variables.push(question["variable"].as_str().unwrap().to_string());
        for sub in question["subquestions"].as_array().into_iter().flatten() {
            variables.push(sub["variable"].as_str().unwrap().to_string());
        }
    }
    for setting in [
        "registries.allow",
        "registries.reject",
        "images.allow",
        "images.reject",
        "tags.allow",
        "tags.reject",
        "digests.require",
        "digests.pin",
        "mirrors",
        "signatures",
        "modifyImagesWithDigest",
        "imageFields",
        "imageConfig",
        "exemptImages",
        "lookupsOnUpdate",
        "vulnerabilities",
    ] {
        assert!(variables.iter().any(|v| v == setting), "questions-ui.yml lacks {setting}");
    }
}

/// policy.wasm never links wasm-bindgen (the playground's): a Kubewarden
/// host cannot satisfy its imports. Its only imports are waPC's and WASI's.
#[test]
fn policy_wasm_imports_only_wapc_and_wasi() {
    let bytes = std::fs::read(registry_guard_e2e::policy_path()).unwrap();
    for marker in [&b"__wbindgen"[..], b"__wbg_"] {
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker),
            "policy.wasm mentions {}",
            String::from_utf8_lossy(marker)
        );
    }
    assert!(bytes.windows(b"__host_call".len()).any(|w| w == b"__host_call"), "policy.wasm imports waPC's __host_call");
}
