//! Mirrors and digest pinning through the built policy.wasm, with the
//! runner's fake registry (e2e-tests/fixtures/digests.yaml) answering the
//! host capability `kubewarden/oci/v1/manifest_digest`: what is rewritten,
//! where, what the host is asked, and what the user sees when lookups fail.

use registry_guard_e2e::{pod, policy_with_digests, repo_root, request};
use registry_guard_runner::capabilities::{Answer, HostCall};
use registry_guard_runner::check::check;
use registry_guard_runner::host::{PolicyInstance, ValidationResponse};
use registry_guard_runner::manifests::Sourced;
use registry_guard_runner::patch;
use serde_json::{Value, json};

use crate::workloads::workloads;

const DIGESTS: &str = "e2e-tests/fixtures/digests.yaml";
const NGINX: &str = "sha256:251ad31786bae2bdf8f9435a21b808b3ddba91ac4bf8d995c416368ed5881c7a";
const APP: &str = "sha256:e1c07cc46589e694b092f1abb7be165c770d4bea6287e6f369af518f4a8fc40a";

fn instance() -> PolicyInstance {
    policy_with_digests(DIGESTS)
}

/// Validates `object` (`operation`) under `settings` on a fresh instance;
/// returns the response and the host calls it made.
fn run(settings: &Value, operation: &str, object: &Value) -> (ValidationResponse, Vec<HostCall>) {
    let policy = instance();
    let verdict = policy.validate_settings(settings);
    assert!(verdict.valid, "{:?}", verdict.message);
    let response = policy.validate(&request(operation, object), settings);
    (response, policy.take_host_calls())
}

fn image_of(object: &Value, pointer: &str) -> String {
    object.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("no {pointer} in {object}")).to_string()
}

fn asked(calls: &[HostCall]) -> Vec<&str> {
    calls.iter().map(|c| c.request.as_str()).collect()
}

#[test]
fn attempt_pins_found_images_and_warns_for_missing_and_failing_lookups() {
    let settings = json!({"digests": {"pin": "attempt"}});
    let object = pod(&["nginx:1.25", "redis:7", "quay.io/org/private:1"]);
    let (response, calls) = run(&settings, "CREATE", &object);
    assert!(response.accepted, "{:?}", response.message);
    let mutated = response.mutated_object.expect("nginx is pinned");
    assert_eq!(image_of(&mutated, "/spec/containers/0/image"), format!("nginx:1.25@{NGINX}"));
    assert_eq!(image_of(&mutated, "/spec/containers/1/image"), "redis:7");
    assert_eq!(image_of(&mutated, "/spec/containers/2/image"), "quay.io/org/private:1");
    assert_eq!(
        response.warnings.unwrap(),
        [
            format!(
                "spec.containers[1].image \"redis:7\" was not pinned (digests.pin: attempt): the digest of \"docker.io/library/redis:7\": manifest unknown: docker.io/library/redis:7 is not in {DIGESTS}"
            ),
            "spec.containers[2].image \"quay.io/org/private:1\" was not pinned (digests.pin: attempt): the digest of \"quay.io/org/private:1\": unauthorized: authentication required".to_string(),
        ]
    );
    assert_eq!(asked(&calls), ["docker.io/library/nginx:1.25", "docker.io/library/redis:7", "quay.io/org/private:1"]);
    assert_eq!(calls[0].capability, "kubewarden/oci/v1/manifest_digest");
    assert_eq!(calls[0].answer, Answer::Payload(format!("{{\"digest\":\"{NGINX}\"}}")));
}

#[test]
fn required_rejects_missing_and_failing_lookups_with_the_image_field_and_host_error() {
    let settings = json!({"digests": {"pin": "required"}});
    let (response, _) = run(&settings, "CREATE", &pod(&["nginx:1.25", "redis:7", "quay.io/org/private:1"]));
    assert!(!response.accepted);
    assert!(response.mutated_object.is_none(), "a rejection carries no mutation");
    assert_eq!(
        response.message.unwrap(),
        format!(
            "spec.containers[1].image \"redis:7\": its digest could not be looked up (digests.pin: required): \"docker.io/library/redis:7\": manifest unknown: docker.io/library/redis:7 is not in {DIGESTS}; \
             spec.containers[2].image \"quay.io/org/private:1\": its digest could not be looked up (digests.pin: required): \"quay.io/org/private:1\": unauthorized: authentication required"
        )
    );
    // Found everywhere: accepted and pinned.
    let (response, _) = run(&settings, "CREATE", &pod(&["nginx:1.25", "quay.io/org/app:1"]));
    let mutated = response.mutated_object.unwrap();
    assert_eq!(image_of(&mutated, "/spec/containers/1/image"), format!("quay.io/org/app:1@{APP}"));
}

#[test]
fn a_host_answer_that_is_not_a_digest_is_a_failed_lookup() {
    let (response, _) = run(&json!({"digests": {"pin": "required"}}), "CREATE", &pod(&["quay.io/org/odd:1"]));
    assert!(!response.accepted);
    assert!(
        response.message.as_deref().unwrap().ends_with(
            "\"quay.io/org/odd:1\": the host answered \"md5:0123\", which is not a digest (sha256, sha384 or sha512, then lowercase hex)"
        ),
        "{:?}",
        response.message
    );
}

#[test]
fn the_implicit_tag_is_written_out_and_pinned_images_are_left_alone() {
    let settings = json!({"digests": {"pin": "required"}});
    let pinned = format!("quay.io/org/other@{APP}");
    let (response, calls) = run(&settings, "CREATE", &pod(&["nginx", &pinned]));
    let mutated = response.mutated_object.unwrap();
    assert!(image_of(&mutated, "/spec/containers/0/image").starts_with("nginx:latest@sha256:b0a6f7e5"));
    assert_eq!(image_of(&mutated, "/spec/containers/1/image"), pinned);
    assert_eq!(asked(&calls), ["docker.io/library/nginx:latest"]);
    // Only pinned images: no mutation, no lookup.
    let (response, calls) = run(&settings, "CREATE", &pod(&[&pinned]));
    assert!(response.accepted && response.mutated_object.is_none() && calls.is_empty());
}

#[test]
fn validation_only_settings_never_mutate_or_call_the_host() {
    let settings = json!({"registries": {"allow": ["quay.io", "docker.io"]}, "digests": {"pin": "never"}});
    let (response, calls) = run(&settings, "CREATE", &pod(&["nginx:1.25", "quay.io/org/app:1"]));
    assert!(response.accepted && response.mutated_object.is_none() && response.warnings.is_none());
    assert!(calls.is_empty());
}

#[test]
fn mirrors_combine_with_allow_rules_and_pinning() {
    let settings = json!({
        "registries": {"allow": ["mirror.corp.example", "quay.io"]},
        "digests": {"pin": "required"},
        "mirrors": [{"from": "docker.io", "to": "mirror.corp.example/hub"}]
    });
    let (response, calls) = run(&settings, "CREATE", &pod(&["nginx:1.25", "quay.io/org/app:1"]));
    assert!(response.accepted, "{:?}", response.message);
    let mutated = response.mutated_object.unwrap();
    assert_eq!(
        image_of(&mutated, "/spec/containers/0/image"),
        format!("mirror.corp.example/hub/library/nginx:1.25@{NGINX}")
    );
    assert_eq!(image_of(&mutated, "/spec/containers/1/image"), format!("quay.io/org/app:1@{APP}"));
    // The mirror is asked for the digest, not Docker Hub.
    assert_eq!(asked(&calls), ["mirror.corp.example/hub/library/nginx:1.25", "quay.io/org/app:1"]);

    // Allowed only through the mirror: ghcr.io has none, so it is refused,
    // and a refused image is never looked up.
    let (response, calls) = run(&settings, "CREATE", &pod(&["ghcr.io/org/app:1"]));
    assert!(!response.accepted && calls.is_empty());
    // The message names the original and the mirrored image.
    let settings = json!({
        "registries": {"allow": ["mirror.corp.example"]},
        "tags": {"reject": ["latest"]},
        "mirrors": [{"from": "docker.io", "to": "mirror.corp.example/hub"}]
    });
    let (response, _) = run(&settings, "CREATE", &pod(&["redis"]));
    assert_eq!(
        response.message.unwrap(),
        "spec.containers[0].image \"redis\" (mirrored to \"mirror.corp.example/hub/library/redis\"): tag \"latest\" (implicit: the image names neither tag nor digest) is rejected (tags.reject: \"latest\")"
    );
}

#[test]
fn every_image_location_of_every_workload_kind_is_rewritten_in_place_and_nothing_else() {
    let settings =
        json!({"mirrors": [{"from": "docker.io", "to": "mirror.corp.example/hub"}], "digests": {"pin": "attempt"}});
    for (object, field) in workloads("nginx:1.25") {
        let mut object = object;
        // Every other place an image lives, where the kind has a pod spec.
        let pointer = format!("/{}", field.replace(".image", "").replace(['.', '['], "/").replace(']', ""));
        let spec_pointer = pointer.trim_end_matches("/containers/0");
        if let Some(spec) = object.pointer_mut(spec_pointer).and_then(Value::as_object_mut) {
            spec.insert("ephemeralContainers".into(), json!([{"name": "dbg", "image": "nginx:1.25"}]));
            spec.insert(
                "volumes".into(),
                json!([{"name": "m", "image": {"reference": "nginx:1.25", "pullPolicy": "Always"}}]),
            );
        }
        let (response, calls) = run(&settings, "CREATE", &object);
        assert!(response.accepted, "{}: {:?}", object["kind"], response.message);
        let mutated = response.mutated_object.unwrap_or_else(|| panic!("{}: not mutated", object["kind"]));
        let ops = patch::diff(&object, &mutated);
        let paths: Vec<&str> = ops.iter().map(|op| op["path"].as_str().unwrap()).collect();
        let pinned = format!("mirror.corp.example/hub/library/nginx:1.25@{NGINX}");
        for op in &ops {
            assert_eq!(op["op"], "replace", "{}: {op}", object["kind"]);
            assert_eq!(op["value"], pinned.as_str(), "{}: {op}", object["kind"]);
        }
        let mut expected = vec![
            format!("{spec_pointer}/containers/0/image"),
            format!("{spec_pointer}/ephemeralContainers/0/image"),
            format!("{spec_pointer}/volumes/0/image/reference"),
        ];
        if object.pointer(&format!("{spec_pointer}/initContainers")).is_some() {
            // quay.io/org/init:1 is not in the fake registry: left, with a warning.
            assert_eq!(response.warnings.as_ref().map(Vec::len), Some(1), "{}", object["kind"]);
        }
        expected.sort();
        let mut paths: Vec<String> = paths.into_iter().map(str::to_string).collect();
        paths.sort();
        assert_eq!(paths, expected, "{}", object["kind"]);
        // One lookup for one image, however many places hold it.
        let nginx_calls = calls.iter().filter(|c| c.request.contains("nginx")).count();
        assert_eq!(nginx_calls, 1, "{}", object["kind"]);
    }
}

#[test]
fn rewriting_a_rewritten_object_changes_nothing() {
    // Kubernetes may call a mutating webhook again on its own output, and
    // controllers send UPDATEs of pinned objects: the second pass must be a no-op.
    let settings = json!({"mirrors": [{"from": "*", "to": "mirror.corp.example/hub"}], "digests": {"pin": "attempt"}});
    let object = pod(&["nginx:1.25", "quay.io/org/app:1"]);
    let (first, _) = run(&settings, "CREATE", &object);
    let mutated = first.mutated_object.unwrap();
    assert_eq!(image_of(&mutated, "/spec/containers/1/image"), "mirror.corp.example/hub/org/app:1");
    let (second, calls) = run(&settings, "UPDATE", &mutated);
    assert!(second.accepted && second.mutated_object.is_none(), "{:?}", second.mutated_object);
    // The mirrored quay.io image has no digest in the fake registry: looked
    // up again, still unpinned, still a warning, but not moved again.
    assert_eq!(asked(&calls), ["mirror.corp.example/hub/org/app:1"]);
}

#[test]
fn update_is_rewritten_like_create_and_delete_never() {
    let settings = json!({"digests": {"pin": "attempt"}});
    let object = pod(&["nginx:1.25"]);
    let (response, _) = run(&settings, "UPDATE", &object);
    assert_eq!(image_of(&response.mutated_object.unwrap(), "/spec/containers/0/image"), format!("nginx:1.25@{NGINX}"));
    let (response, calls) = run(&settings, "DELETE", &object);
    assert!(response.accepted && response.mutated_object.is_none() && calls.is_empty());
}

#[test]
fn an_admission_review_is_answered_with_a_json_patch_as_kwctl_prints_it() {
    let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": request("CREATE", &pod(&["nginx:1.25"]))});
    let settings = json!({"digests": {"pin": "required"}});
    let documents =
        vec![Sourced { source: "review.json".into(), index: 1, value: review, line: 1, text: String::new() }];
    let verdicts = check(&instance(), &settings, documents).unwrap();
    let response = serde_json::to_value(verdicts[0].admission_response.as_ref().unwrap()).unwrap();
    assert_eq!(response["allowed"], true);
    assert_eq!(response["patchType"], "JSONPatch");
    let expected =
        json!([{"op": "replace", "path": "/spec/containers/0/image", "value": format!("nginx:1.25@{NGINX}")}]);
    assert_eq!(response["patch"], patch::base64(&serde_json::to_vec(&expected).unwrap()).as_str());
}

#[test]
fn the_mutation_example_gets_the_documented_verdicts() {
    let root = repo_root();
    let settings =
        registry_guard_runner::manifests::read_settings(root.join("examples/mutation/settings.yaml").to_str().unwrap())
            .unwrap();
    let documents = registry_guard_runner::manifests::read_inputs(&[root
        .join("examples/mutation/manifests")
        .display()
        .to_string()])
    .unwrap();
    let verdicts = check(&policy_with_digests("examples/mutation/digests.yaml"), &settings, documents).unwrap();
    let lines: Vec<String> = verdicts.iter().map(|v| v.line()).collect();
    assert_eq!(
        lines,
        [
            "ok   Deployment prod/web (mutated)",
            "deny Pod dev/scratch: spec.containers[0].image \"ubuntu\" (mirrored to \"registry.corp.example/dockerhub/library/ubuntu\"): tag \"latest\" (implicit: the image names neither tag nor digest) is rejected (tags.reject: \"latest\")",
        ]
    );
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for op in verdicts[0].patch.as_ref().unwrap() {
        let line = format!("     patch: {op}");
        assert!(readme.contains(&line), "README.md lacks {line}");
    }
    assert!(readme.contains(&format!("     warning: {}", verdicts[0].warnings[0])));
}
