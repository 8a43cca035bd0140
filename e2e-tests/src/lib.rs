//! Helpers for the end-to-end tests: the built `policy.wasm` (compiled once
//! per test process), admission requests, and verdicts as the host sees them.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use registry_guard_runner::admission::create_request;
use registry_guard_runner::capabilities::Host;
use registry_guard_runner::host::{PolicyInstance, PolicyModule, ValidationResponse};
use serde_json::{Value, json};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `$REGISTRY_GUARD_POLICY`, else the `policy.wasm` that `make policy.wasm` builds.
pub fn policy_path() -> PathBuf {
    std::env::var_os("REGISTRY_GUARD_POLICY").map_or_else(|| repo_root().join("policy.wasm"), PathBuf::from)
}

fn module() -> &'static PolicyModule {
    static MODULE: OnceLock<PolicyModule> = OnceLock::new();
    MODULE.get_or_init(|| {
        let path = policy_path();
        assert!(path.exists(), "{} is missing: run `make policy.wasm` (or `make e2e-tests`) first", path.display());
        PolicyModule::load(&path).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// The time `examples/vulnerabilities` is written for.
pub const VULNERABILITIES_NOW: &str = "2026-12-01T12:00:00Z";

/// The built policy whose clock reads `VULNERABILITIES_NOW`, with the
/// runner's fake registry and cluster of `examples/vulnerabilities`
/// (`check --now … --digests … --reports …`).
pub fn policy_for_vulnerabilities() -> PolicyInstance {
    static MODULE: OnceLock<PolicyModule> = OnceLock::new();
    let module = MODULE.get_or_init(|| {
        let seconds = registry_guard::rules::image_config::unix_seconds(VULNERABILITIES_NOW).unwrap();
        PolicyModule::load_at(&policy_path(), seconds).unwrap_or_else(|e| panic!("{e}"))
    });
    let read = |file: &str| std::fs::read_to_string(repo_root().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let digests = "examples/vulnerabilities/digests.yaml";
    let mut host = Host::with_digests(digests, &read(digests)).unwrap_or_else(|e| panic!("{e}"));
    for file in ["examples/vulnerabilities/trivy-reports.yaml", "examples/vulnerabilities/sbomscanner-reports.yaml"] {
        host = host.with_reports(file, &read(file)).unwrap_or_else(|e| panic!("{e}"));
    }
    module.instantiate_with(Arc::new(host)).unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh instance of the built policy.
pub fn policy() -> PolicyInstance {
    module().instantiate().unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh instance whose host answers manifest digests from the fake
/// registry file `digests` (relative to the repository root).
pub fn policy_with_digests(digests: &str) -> PolicyInstance {
    policy_with_host(Some(digests), None)
}

/// A fresh instance whose host answers manifest digests from `digests` and
/// signature verifications from `sigstore` (files relative to the
/// repository root), when given.
pub fn policy_with_host(digests: Option<&str>, sigstore: Option<&str>) -> PolicyInstance {
    policy_with_files(digests, sigstore, None)
}

/// The policy with the runner's fake registry (`--digests`), verifier
/// (`--sigstore`) and image configs (`--image-configs`), each from a file
/// of the repository when given.
pub fn policy_with_files(digests: Option<&str>, sigstore: Option<&str>, configs: Option<&str>) -> PolicyInstance {
    let read = |file: &str| std::fs::read_to_string(repo_root().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut host = match digests {
        Some(file) => Host::with_digests(file, &read(file)).unwrap_or_else(|e| panic!("{e}")),
        None => Host::default(),
    };
    if let Some(file) = sigstore {
        host = host.with_sigstore(file, &read(file)).unwrap_or_else(|e| panic!("{e}"));
    }
    if let Some(file) = configs {
        host = host.with_image_configs(file, &read(file)).unwrap_or_else(|e| panic!("{e}"));
    }
    module().instantiate_with(Arc::new(host)).unwrap_or_else(|e| panic!("{e}"))
}

/// A request for `object` with the given operation.
pub fn request(operation: &str, object: &Value) -> Value {
    let mut request = create_request(object, "e2e");
    request["operation"] = json!(operation);
    if operation == "DELETE" {
        request["oldObject"] = request["object"].take();
    }
    request
}

/// Validates `object` (CREATE) under `settings`, checking the settings first
/// as a PolicyServer does.
pub fn evaluate(settings: &Value, object: &Value) -> ValidationResponse {
    evaluate_request(settings, &request("CREATE", object))
}

pub fn evaluate_request(settings: &Value, request: &Value) -> ValidationResponse {
    let policy = policy();
    let verdict = policy.validate_settings(settings);
    assert!(verdict.valid, "settings {settings} refused: {:?}", verdict.message);
    policy.validate(request, settings)
}

/// A Pod running the given images.
pub fn pod(images: &[&str]) -> Value {
    let containers: Vec<Value> =
        images.iter().enumerate().map(|(i, image)| json!({"name": format!("c{i}"), "image": image})).collect();
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": containers}})
}

/// Reads a YAML or JSON file of the repository.
pub fn read_yaml(relative: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// `$REGISTRY_GUARD_BIN`, else the runner `make runner` builds.
pub fn runner_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("REGISTRY_GUARD_BIN") {
        return PathBuf::from(bin);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo_root().join("target"), PathBuf::from);
    target.join("debug/registry-guard")
}
