//! `signatures` through the built policy.wasm, with the runner's fake
//! Sigstore verifier (examples/signatures/sigstore.yaml) answering the host
//! capability `kubewarden/oci/v2/verify`: verdicts, messages, pins, and
//! what the host is asked.

use registry_guard_e2e::{policy_with_host, repo_root, request};
use registry_guard_runner::capabilities::HostCall;
use registry_guard_runner::check::check;
use registry_guard_runner::host::ValidationResponse;
use serde_json::{Value, json};

use crate::workloads::workloads;

const SIGSTORE: &str = "examples/signatures/sigstore.yaml";
const DIGESTS: &str = "examples/mutation/digests.yaml";
const API: &str = "sha256:5b0c1a3f9e2d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b";
const CI: &str = "sha256:9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b";
const DEBIAN: &str = "sha256:c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

fn key(name: &str) -> String {
    std::fs::read_to_string(repo_root().join(format!("examples/signatures/keys/{name}"))).unwrap()
}

/// Validates `object` on a fresh instance; the response and the host calls.
fn run(settings: &Value, object: &Value) -> (ValidationResponse, Vec<HostCall>) {
    let policy = policy_with_host(Some(DIGESTS), Some(SIGSTORE));
    let verdict = policy.validate_settings(settings);
    assert!(verdict.valid, "{:?}", verdict.message);
    let response = policy.validate(&request("CREATE", object), settings);
    (response, policy.take_host_calls())
}

fn pod(containers: &[&str]) -> Value {
    let list: Vec<Value> =
        containers.iter().enumerate().map(|(i, image)| json!({"name": format!("c{i}"), "image": image})).collect();
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "prod"}, "spec": {"containers": list}})
}

fn rewritten(response: &ValidationResponse, pointer: &str) -> Option<String> {
    response.mutated_object.as_ref().map(|o| o.pointer(pointer).and_then(Value::as_str).unwrap().to_string())
}

fn release_key() -> Value {
    json!({"signatures": [{"image": "ghcr.io/acme/*", "pubKeys": [key("release.pub")]}]})
}

#[test]
fn signed_images_are_pinned_to_the_verified_digest_in_every_workload_kind() {
    for (object, field) in workloads("ghcr.io/acme/api:1.4") {
        let (response, calls) = run(&release_key(), &object);
        assert!(response.accepted, "{field}: {:?}", response.message);
        let pointer = format!("/{}", field.replace(['.', '['], "/").replace(']', ""));
        assert_eq!(rewritten(&response, &pointer), Some(format!("ghcr.io/acme/api:1.4@{API}")), "{field}");
        assert_eq!(calls.len(), 1, "{field}");
        assert_eq!(calls[0].capability, "kubewarden/oci/v2/verify");
    }
}

#[test]
fn unsigned_and_wrongly_signed_images_are_rejected_with_the_field_image_rule_and_reason() {
    let (response, _) = run(&release_key(), &pod(&["ghcr.io/acme/web:3", "ghcr.io/acme/legacy:0.9"]));
    assert!(!response.accepted);
    assert_eq!(
        response.message.unwrap(),
        "spec.containers[0].image \"ghcr.io/acme/web:3\": the signatures of \"ghcr.io/acme/web:3\" were not verified by signatures[0] (pubKeys: key …IpGTb2a/CCbw): Image verification failed: missing signatures: public key ending aJxQPrn7jmnasnNomOgwhFrc5T4KDOSUZ91cDbaTqYUdfgIpGTb2a/CCbw==; \
         spec.containers[1].image \"ghcr.io/acme/legacy:0.9\": the signatures of \"ghcr.io/acme/legacy:0.9\" were not verified by signatures[0] (pubKeys: key …IpGTb2a/CCbw): no signatures found for ghcr.io/acme/legacy:0.9 (it is not in examples/signatures/sigstore.yaml)"
    );
}

#[test]
fn both_keys_must_have_signed_and_annotations_must_match() {
    let both = json!({"signatures": [{"image": "ghcr.io/acme/*", "pubKeys": [key("release.pub"), key("ci.pub")]}]});
    assert!(!run(&both, &pod(&["ghcr.io/acme/api:1.4"])).0.accepted, "api:1.4 has the release key only");
    let prod = json!({"signatures": [{"image": "ghcr.io/acme/*", "pubKeys": [key("release.pub")], "annotations": {"env": "prod"}}]});
    assert!(run(&prod, &pod(&["ghcr.io/acme/api:1.4"])).0.accepted);
    let dev = json!({"signatures": [{"image": "ghcr.io/acme/*", "pubKeys": [key("release.pub")], "annotations": {"env": "dev"}}]});
    assert!(!run(&dev, &pod(&["ghcr.io/acme/api:1.4"])).0.accepted);
}

#[test]
fn keyless_identities_github_actions_and_certificates() {
    let subject = "https://github.com/acme/ci/.github/workflows/release.yml@refs/tags/v2";
    let cases = [
        (json!({"keyless": [{"issuer": ISSUER, "subject": subject}]}), true),
        (
            json!({"keyless": [{"issuer": ISSUER, "subject": "https://github.com/acme/ci/.github/workflows/other.yml@refs/heads/main"}]}),
            false,
        ),
        (json!({"keylessPrefix": [{"issuer": ISSUER, "urlPrefix": "https://github.com/acme/"}]}), true),
        (json!({"keylessPrefix": [{"issuer": ISSUER, "urlPrefix": "https://github.com/ac"}]}), false),
        (json!({"githubActions": {"owner": "acme", "repo": "ci"}}), true),
        (json!({"githubActions": {"owner": "acme", "repo": "web"}}), false),
    ];
    for (signers, trusted) in cases {
        let mut rule = signers.clone();
        rule["image"] = json!("ghcr.io/acme/ci-*");
        let (response, _) = run(&json!({"signatures": [rule]}), &pod(&["ghcr.io/acme/ci-runner:2"]));
        assert_eq!(response.accepted, trusted, "{signers}: {:?}", response.message);
    }
    let certificate =
        json!({"signatures": [{"image": "registry.corp.example/base/*", "certificates": [key("signer.pem")]}]});
    let (response, _) = run(&certificate, &pod(&["registry.corp.example/base/debian:12"]));
    assert_eq!(
        rewritten(&response, "/spec/containers/0/image"),
        Some(format!("registry.corp.example/base/debian:12@{DEBIAN}"))
    );
    assert!(!run(&certificate, &pod(&["registry.corp.example/base/alpine:3"])).0.accepted);
}

#[test]
fn init_and_ephemeral_containers_are_verified() {
    let object = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "prod"}, "spec": {
        "initContainers": [{"name": "i", "image": "ghcr.io/acme/ci-runner:2"}],
        "containers": [{"name": "c", "image": "quay.io/other:1"}],
        "ephemeralContainers": [{"name": "debug", "image": "ghcr.io/acme/web:3"}]}});
    let (response, calls) = run(&release_key(), &object);
    assert_eq!(calls.len(), 2, "quay.io is not asked about");
    assert!(response.message.unwrap().starts_with("spec.ephemeralContainers[0].image \"ghcr.io/acme/web:3\""));
}

#[test]
fn every_spelling_of_an_image_meets_its_rule_and_the_normalized_image_is_asked() {
    for image in ["GHCR.IO/acme/web:3", "ghcr.io:443/acme/web:3", "ghcr.io:00443/acme/web:3"] {
        let (response, calls) = run(&release_key(), &pod(&[image]));
        assert!(!response.accepted, "{image} escaped its rule");
        assert!(calls[0].request.contains("\"image\":\"ghcr.io/acme/web:3\""), "{image}: {}", calls[0].request);
    }
    let (response, _) = run(&release_key(), &pod(&["GHCR.IO/acme/api:1.4"]));
    assert_eq!(rewritten(&response, "/spec/containers/0/image"), Some(format!("GHCR.IO/acme/api:1.4@{API}")));
}

#[test]
fn mirrored_images_are_verified_at_the_source_and_the_mirror_is_pinned() {
    let settings = json!({
        "signatures": [{"image": "ghcr.io/acme/*", "pubKeys": [key("release.pub")]}],
        "mirrors": [{"from": "ghcr.io", "to": "registry.corp.example/ghcr"}]
    });
    let (response, calls) = run(&settings, &pod(&["ghcr.io/acme/ci-runner:2"]));
    assert!(response.accepted, "{:?}", response.message);
    assert!(calls[0].request.contains("\"image\":\"ghcr.io/acme/ci-runner:2\""));
    assert_eq!(
        rewritten(&response, "/spec/containers/0/image"),
        Some(format!("registry.corp.example/ghcr/acme/ci-runner:2@{CI}"))
    );
}

#[test]
fn a_pinned_image_is_verified_at_its_digest_and_left_as_written() {
    let image = format!("ghcr.io/acme/api@{API}");
    let (response, calls) = run(&release_key(), &pod(&[&image]));
    assert!(response.accepted && response.mutated_object.is_none(), "{:?}", response.message);
    assert!(calls[0].request.contains(&format!("\"image\":\"{image}\"")));
    // A digest the registry does not know for the repository: not verified.
    let wrong = format!("ghcr.io/acme/api@{CI}");
    assert!(!run(&release_key(), &pod(&[&wrong])).0.accepted);
}

#[test]
fn the_signatures_example_gets_the_documented_verdicts() {
    let root = repo_root();
    let settings = registry_guard_runner::manifests::read_settings(
        root.join("examples/signatures/settings.yaml").to_str().unwrap(),
    )
    .unwrap();
    let documents = registry_guard_runner::manifests::read_inputs(&[root
        .join("examples/signatures/manifests")
        .display()
        .to_string()])
    .unwrap();
    let verdicts = check(&policy_with_host(None, Some(SIGSTORE)), &settings, documents).unwrap();
    let lines: Vec<String> = verdicts.iter().map(|v| v.line()).collect();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for line in &lines {
        assert!(readme.contains(line.as_str()), "README.md lacks {line}");
    }
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("ok   Deployment prod/api (mutated)"));
    for op in verdicts[0].patch.as_ref().unwrap() {
        let line = format!("     patch: {op}");
        assert!(readme.contains(&line), "README.md lacks {line}");
    }
}
