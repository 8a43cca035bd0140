//! The whole pipeline, natively: payload bytes in, ValidationResponse out.
//! Each test is a rule or a bypass the policy must close, seen as the user
//! sees it (verdict and message).

use kubewarden_policy_sdk::response::ValidationResponse;
use serde_json::{Value, json};

use crate::{validate, validate_settings};

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

fn respond(payload: &[u8]) -> ValidationResponse {
    serde_json::from_slice(&validate(payload).unwrap()).unwrap()
}

fn evaluate(settings: Value, operation: &str, object: Value) -> (bool, String) {
    let payload = json!({"request": {"uid": "1", "operation": operation, "object": object}, "settings": settings});
    let response = respond(payload.to_string().as_bytes());
    (response.accepted, response.message.unwrap_or_default())
}

fn pod(images: &[&str]) -> Value {
    let containers: Vec<Value> =
        images.iter().enumerate().map(|(i, image)| json!({"name": format!("c{i}"), "image": image})).collect();
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}})
}

fn allowed(settings: Value, image: &str) -> bool {
    evaluate(settings, "CREATE", pod(&[image])).0
}

#[test]
fn empty_settings_allow_everything_and_objects_without_images_pass() {
    assert!(allowed(json!({}), "evil.com/x:latest"));
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"image": "evil.com/x"}});
    assert_eq!(evaluate(json!({"registries": {"allow": []}}), "CREATE", config_map), (true, String::new()));
}

#[test]
fn delete_is_accepted_whatever_the_object() {
    assert!(evaluate(json!({"registries": {"allow": []}}), "DELETE", pod(&["evil.com/x"])).0);
}

#[test]
fn update_is_checked_like_create() {
    assert!(!evaluate(json!({"registries": {"reject": ["evil.com"]}}), "UPDATE", pod(&["evil.com/x:1"])).0);
}

#[test]
fn registry_allow_list_names_field_image_and_rule() {
    let settings = json!({"registries": {"allow": ["public.ecr.aws", "*.corp.example"]}});
    assert!(allowed(settings.clone(), "public.ecr.aws/x/y:1"));
    assert!(allowed(settings.clone(), "a.b.corp.example/x:1"));
    let (ok, message) = evaluate(settings, "CREATE", pod(&["public.ecr.aws/x:1", "busybox:1"]));
    assert!(!ok);
    assert_eq!(
        message,
        "spec.containers[1].image \"busybox:1\": registry \"docker.io\" is not allowed (registries.allow: public.ecr.aws, *.corp.example)"
    );
}

#[test]
fn docker_hub_cannot_be_reached_under_another_name() {
    let settings = json!({"registries": {"reject": ["docker.io"]}});
    for image in [
        "nginx",
        "library/nginx",
        "index.docker.io/library/nginx",
        "INDEX.DOCKER.IO/library/nginx",
        "registry-1.docker.io/library/nginx:1",
        "docker.io:443/library/nginx",
        "Docker.io/library/nginx",
    ] {
        assert!(!allowed(settings.clone(), image), "{image} slipped through");
    }
}

#[test]
fn uppercase_first_component_is_a_registry_host() {
    // `Evil/app` is pulled from the host "evil" (shown as written), not from Docker Hub.
    let settings = json!({"registries": {"allow": ["docker.io"]}});
    let (ok, message) = evaluate(settings, "CREATE", pod(&["Evil/app:1"]));
    assert!(!ok);
    assert!(message.contains("registry \"Evil\" is not allowed"), "{message}");
    assert!(!allowed(json!({"registries": {"reject": ["evil"]}}), "EVIL/app:1"));
}

#[test]
fn image_patterns_never_ignore_the_registry() {
    // trusted-repos' `nginx` admits evil.com/library/nginx.
    let settings = json!({"images": {"allow": ["nginx"]}});
    assert!(allowed(settings.clone(), "docker.io/library/nginx:1.25"));
    assert!(allowed(settings.clone(), &format!("registry-1.docker.io/library/nginx@{DIGEST}")));
    for image in ["evil.com/library/nginx", "nginx-evil", "docker.io/library/nginx/sub", "library/nginx-evil:1"] {
        let (ok, message) = evaluate(settings.clone(), "CREATE", pod(&[image]));
        assert!(!ok, "{image} slipped through");
        assert!(message.contains("is not allowed (images.allow: nginx)"), "{message}");
    }
    let settings = json!({"images": {"allow": ["docker.io/bitnami/*"]}});
    assert!(allowed(settings.clone(), "bitnami/redis:7"));
    assert!(!allowed(settings.clone(), "docker.io/bitnami-evil/redis"));
    assert!(!allowed(settings, "evil.com/docker.io/bitnami/redis"));
}

#[test]
fn digest_only_images_have_no_tag_and_implicit_latest_is_latest() {
    let settings = json!({"tags": {"reject": ["latest"]}});
    // trusted-repos wrongly rejects nginx@sha256:… as `latest`.
    assert!(allowed(settings.clone(), &format!("nginx@{DIGEST}")));
    let (ok, message) = evaluate(settings.clone(), "CREATE", pod(&["nginx"]));
    assert!(!ok);
    assert_eq!(
        message,
        "spec.containers[0].image \"nginx\": tag \"latest\" (implicit: the image names neither tag nor digest) is rejected (tags.reject: \"latest\")"
    );
    assert!(!allowed(settings, &format!("nginx:latest@{DIGEST}")));
}

#[test]
fn tag_allow_list_requires_a_match_when_non_empty() {
    let settings = json!({"tags": {"allow": ["v*"]}});
    assert!(allowed(settings.clone(), "quay.io/a/b:v1.2"));
    assert!(!allowed(settings.clone(), "quay.io/a/b:1.2"));
    assert!(allowed(json!({"tags": {"allow": []}}), "quay.io/a/b:1.2"));
}

#[test]
fn digests_require_pins() {
    let settings = json!({"digests": {"require": true}});
    assert!(allowed(settings.clone(), &format!("quay.io/a/b:1@{DIGEST}")));
    let (ok, message) = evaluate(settings, "CREATE", pod(&["quay.io/a/b:1"]));
    assert!(!ok);
    assert!(
        message.ends_with("the image is not pinned by digest (digests.require: true; write it as name@sha256:...)")
    );
}

#[test]
fn reject_wins_over_allow_and_every_section_must_pass() {
    let settings = json!({"registries": {"allow": ["*.corp.example"], "reject": ["bad.corp.example"]}});
    let (ok, message) = evaluate(settings, "CREATE", pod(&["bad.corp.example/x:1"]));
    assert!(!ok);
    assert!(message.contains("registry \"bad.corp.example\" is rejected (registries.reject: \"bad.corp.example\")"));
    let settings = json!({"registries": {"allow": ["quay.io"]}, "tags": {"reject": ["latest"]}});
    let (ok, message) = evaluate(settings, "CREATE", pod(&["docker.io/x/y:latest"]));
    assert!(!ok);
    assert!(message.contains("is not allowed (registries.allow: quay.io) and tag \"latest\" is rejected"), "{message}");
}

#[test]
fn empty_allow_lists_allow_nothing_as_in_trusted_repos() {
    let (ok, message) = evaluate(json!({"registries": {"allow": []}}), "CREATE", pod(&["quay.io/a:1"]));
    assert!(!ok);
    assert!(message.contains("(registries.allow: empty, so nothing is allowed)"), "{message}");
    assert!(!allowed(json!({"images": {"allow": []}}), "quay.io/a:1"));
}

#[test]
fn unparseable_images_are_rejected_with_the_reason_never_skipped() {
    let (ok, message) = evaluate(json!({}), "CREATE", pod(&["quay.io/a:1", "Nginx:1"]));
    assert!(!ok);
    assert_eq!(
        message,
        "spec.containers[1].image \"Nginx:1\": not a valid image reference: the repository name must be lowercase"
    );
    let (ok, message) = evaluate(json!({}), "CREATE", pod(&["foo_bar.com/app"]));
    assert!(!ok);
    assert!(message.contains("names no registry host"), "{message}");
}

#[test]
fn non_string_images_are_rejected() {
    let object = json!({"spec": {"containers": [{"name": "a", "image": {"evil": true}}]}});
    let (ok, message) = evaluate(json!({}), "CREATE", object);
    assert!(!ok);
    assert_eq!(message, "spec.containers[0].image: expected an image reference (a string), found a mapping");
}

#[test]
fn every_place_an_image_hides() {
    let settings = json!({"registries": {"reject": ["evil.com"]}});
    let objects = [
        (
            "spec.template.spec.initContainers[0].image",
            json!({"kind": "Deployment", "spec": {"template": {"spec": {"initContainers": [{"image": "evil.com/x:1"}]}}}}),
        ),
        (
            "spec.jobTemplate.spec.template.spec.containers[0].image",
            json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"image": "evil.com/x:1"}]}}}}}}),
        ),
        (
            "spec.ephemeralContainers[0].image",
            json!({"kind": "Pod", "spec": {"ephemeralContainers": [{"image": "evil.com/x:1"}]}}),
        ),
        (
            "spec.volumes[0].image.reference",
            json!({"kind": "Pod", "spec": {"volumes": [{"name": "v", "image": {"reference": "evil.com/x:1"}}]}}),
        ),
        (
            "template.spec.containers[0].image",
            json!({"kind": "PodTemplate", "template": {"spec": {"containers": [{"image": "evil.com/x:1"}]}}}),
        ),
        (
            "spec.strategy.canary.analysis.templates[0].spec.containers[0].image",
            json!({"kind": "Rollout", "spec": {"strategy": {"canary": {"analysis": {"templates": [{"spec": {"containers": [{"image": "evil.com/x:1"}]}}]}}}}}),
        ),
    ];
    for (field, object) in objects {
        let (ok, message) = evaluate(settings.clone(), "CREATE", object);
        assert!(!ok, "{field}");
        assert!(
            message.starts_with(&format!("{field} \"evil.com/x:1\": registry \"evil.com\" is rejected")),
            "{message}"
        );
    }
}

#[test]
fn many_violations_are_listed_and_bounded() {
    let images: Vec<String> = (0..27).map(|i| format!("evil.com/x{i}:1")).collect();
    let refs: Vec<&str> = images.iter().map(String::as_str).collect();
    let (ok, message) = evaluate(json!({"registries": {"reject": ["evil.com"]}}), "CREATE", pod(&refs));
    assert!(!ok);
    assert!(message.ends_with("; … and 17 more"), "{message}");
}

#[test]
fn malformed_payloads_are_rejected_not_trapped() {
    for (payload, expected) in [
        (&b"garbage"[..], "registry-guard cannot read the admission request: invalid JSON at byte 0: expected a value"),
        (b"{\"settings\": {}}", "registry-guard cannot read the admission request: it has no \"request\""),
        (
            b"{\"request\": {\"object\": \"x\"}}",
            "registry-guard cannot read the admission request: request.object: expected a mapping or null, found the string \"x\"",
        ),
        (
            b"{\"request\": {\"operation\": 5}}",
            "registry-guard cannot read the admission request: request.operation: expected a string, found the number 5",
        ),
        (
            b"[]",
            "registry-guard cannot read the admission request: the payload must be a mapping with request and settings, found a list",
        ),
    ] {
        let response = respond(payload);
        assert!(!response.accepted);
        assert_eq!(response.message.as_deref(), Some(expected));
    }
}

#[test]
fn invalid_settings_reject_every_request() {
    let (ok, message) = evaluate(json!({"registry": {"allow": ["a.io"]}}), "CREATE", pod(&["a.io/x:1"]));
    assert!(!ok);
    assert_eq!(
        message,
        "registry-guard settings are invalid: unknown setting \"registry\"; expected one of: registries, images, tags, digests, mirrors, signatures, modifyImagesWithDigest, imageFields, imageConfig, exemptImages, lookupsOnUpdate, vulnerabilities"
    );
}

#[test]
fn settings_changes_take_effect_between_calls() {
    // The compiled-settings cache must key on the whole document.
    assert!(!allowed(json!({"registries": {"reject": ["a.io"]}}), "a.io/x:1"));
    assert!(allowed(json!({"registries": {"reject": ["b.io"]}}), "a.io/x:1"));
    assert!(!allowed(json!({"registries": {"reject": ["a.io"]}}), "a.io/x:1"));
}

#[test]
fn validate_settings_answers_valid_or_every_problem() {
    let answer =
        |settings: &str| -> Value { serde_json::from_slice(&validate_settings(settings.as_bytes()).unwrap()).unwrap() };
    assert_eq!(answer("{}"), json!({"valid": true, "message": null}));
    assert_eq!(
        answer(r#"{"registries": {"allow": ["https://reg.corp"]}, "tags": {"reject": 5}}"#),
        json!({"valid": false, "message": "registries.allow[0]: \"https://reg.corp\" is not a registry host; write it without a scheme; tags.reject: expected a list of strings, found the number 5"})
    );
    assert_eq!(answer("nope")["valid"], false);
}

/// `validate` with a fake registry that knows `nginx:1.25` (under either
/// name) and nothing else; returns the response and the images looked up.
fn respond_with_registry(settings: Value, operation: &str, object: &Value) -> (ValidationResponse, Vec<String>) {
    let payload = json!({"request": {"uid": "1", "operation": operation, "object": object}, "settings": settings});
    let mut asked = Vec::new();
    let mut lookup = |image: &str| {
        asked.push(image.to_string());
        match image {
            "docker.io/library/nginx:1.25" | "mirror.corp/hub/library/nginx:1.25" => Ok(DIGEST.to_string()),
            _ => Err("manifest unknown".to_string()),
        }
    };
    let raw = crate::validate_with(payload.to_string().as_bytes(), &mut lookup).unwrap();
    (serde_json::from_slice(&raw).unwrap(), asked)
}

#[test]
fn pinning_rewrites_every_location_in_place_and_nothing_else() {
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d", "annotations": {"image": "nginx:1.25"}},
        "spec": {"replicas": 2, "template": {"spec": {
            "initContainers": [{"name": "i", "image": "nginx:1.25"}],
            "containers": [{"name": "c", "image": "nginx:1.25", "env": [{"name": "image", "value": "nginx:1.25"}]}],
            "ephemeralContainers": [{"name": "e", "image": format!("redis@{DIGEST}")}],
            "volumes": [{"name": "v", "image": {"reference": "nginx:1.25", "pullPolicy": "IfNotPresent"}}]
        }}}
    });
    let (response, asked) = respond_with_registry(json!({"digests": {"pin": "required"}}), "CREATE", &deployment);
    assert!(response.accepted, "{:?}", response.message);
    // One lookup for the four uses of one image; none for the pinned one.
    assert_eq!(asked, ["docker.io/library/nginx:1.25"]);
    let pinned = format!("nginx:1.25@{DIGEST}");
    let mut expected = deployment.clone();
    let spec = &mut expected["spec"]["template"]["spec"];
    spec["initContainers"][0]["image"] = json!(pinned);
    spec["containers"][0]["image"] = json!(pinned);
    spec["volumes"][0]["image"]["reference"] = json!(pinned);
    assert_eq!(response.mutated_object, Some(expected));
    assert_eq!(response.warnings, None);
}

#[test]
fn nothing_changed_means_no_mutated_object() {
    let object = pod(&[&format!("nginx@{DIGEST}")]);
    let (response, asked) = respond_with_registry(json!({"digests": {"pin": "attempt"}}), "CREATE", &object);
    assert!(response.accepted && response.mutated_object.is_none() && asked.is_empty());
    let (response, _) = respond_with_registry(json!({}), "CREATE", &pod(&["nginx:1.25"]));
    assert!(response.accepted && response.mutated_object.is_none());
}

#[test]
fn delete_is_never_mutated_and_update_is() {
    let settings = json!({"mirrors": [{"from": "docker.io", "to": "mirror.corp/hub"}]});
    let (response, _) = respond_with_registry(settings.clone(), "DELETE", &pod(&["nginx:1.25"]));
    assert!(response.accepted && response.mutated_object.is_none());
    let (response, _) = respond_with_registry(settings, "UPDATE", &pod(&["nginx:1.25"]));
    assert_eq!(
        response.mutated_object.unwrap()["spec"]["containers"][0]["image"],
        "mirror.corp/hub/library/nginx:1.25"
    );
}

#[test]
fn an_attempt_that_fails_is_accepted_with_a_warning_and_other_images_still_pinned() {
    let (response, _) =
        respond_with_registry(json!({"digests": {"pin": "attempt"}}), "CREATE", &pod(&["redis:7", "nginx:1.25"]));
    assert!(response.accepted);
    assert_eq!(
        response.warnings.unwrap(),
        [
            "spec.containers[0].image \"redis:7\" was not pinned (digests.pin: attempt): the digest of \"docker.io/library/redis:7\": manifest unknown"
        ]
    );
    let object = response.mutated_object.unwrap();
    assert_eq!(object["spec"]["containers"][0]["image"], "redis:7");
    assert_eq!(object["spec"]["containers"][1]["image"], format!("nginx:1.25@{DIGEST}"));
}

#[test]
fn a_rejection_carries_no_mutation() {
    let settings = json!({"digests": {"pin": "required"}});
    let (response, _) = respond_with_registry(settings, "CREATE", &pod(&["nginx:1.25", "redis:7"]));
    assert!(!response.accepted && response.mutated_object.is_none());
    assert_eq!(
        response.message.unwrap(),
        "spec.containers[1].image \"redis:7\": its digest could not be looked up (digests.pin: required): \"docker.io/library/redis:7\": manifest unknown"
    );
}

#[test]
fn remembered_verdicts_never_outlive_their_settings() {
    // Same image, settings that disagree, alternating on one thread (one
    // instance): each answer must be its own settings' answer.
    let deny = json!({"registries": {"reject": ["quay.io"]}});
    let allow = json!({"registries": {"allow": ["quay.io"]}});
    for _ in 0..3 {
        assert!(!allowed(deny.clone(), "quay.io/org/app:1"));
        assert!(allowed(allow.clone(), "quay.io/org/app:1"));
    }
    // A remembered refusal names the field where the image is this time.
    let (_, message) = evaluate(deny.clone(), "CREATE", pod(&["nginx:1", "quay.io/org/app:1"]));
    assert!(message.starts_with("spec.containers[1].image \"quay.io/org/app:1\""), "{message}");
}

#[test]
fn a_unicode_escape_with_a_sign_is_not_json_and_is_rejected() {
    // Found by fuzzing (`make fuzz`, 7 M executions): `\u+eca` was read as U+0ECA.
    for payload in [
        r#"{"request": {"operation": "CREATE", "object": {}}, "x": "\u+eca"}"#,
        r#"{"request": {"operation": "CREATE", "object": {"a\u+eca": 1}}}"#,
    ] {
        let response = respond(payload.as_bytes());
        assert!(!response.accepted, "{payload}");
        assert!(
            response
                .message
                .as_deref()
                .unwrap_or_default()
                .starts_with("registry-guard cannot read the admission request"),
            "{:?}",
            response.message
        );
    }
}

#[test]
fn a_number_past_f64_is_not_json_to_the_hosts_and_is_rejected() {
    // Found by fuzzing (`make fuzz`, validate): serde_json, and so every
    // Kubewarden host, refuses it as "number out of range".
    let payload = br#"{"request": {"open": "CREATE", "x": 44444441615E0001000000000000000000000}, "y": 1}"#;
    let response = respond(payload);
    assert!(!response.accepted);
    assert_eq!(
        response.message.unwrap(),
        "registry-guard cannot read the admission request: invalid JSON at byte 36: a number is out of range"
    );
}

#[test]
fn tekton_task_steps_are_checked_and_parameters_warned() {
    let task = json!({"apiVersion": "tekton.dev/v1", "kind": "Task", "metadata": {"name": "t"}, "spec": {
        "steps": [{"name": "a", "image": "public.ecr.aws/x/a:1"}, {"name": "b", "image": "$(params.builder)"}],
        "sidecars": [{"name": "s", "image": "mirror.gcr.io/library/docker:dind"}]}});
    let settings = json!({"registries": {"allow": ["public.ecr.aws"]}});
    let (ok, message) = evaluate(settings.clone(), "CREATE", task.clone());
    assert!(!ok);
    assert_eq!(
        message,
        "spec.sidecars[0].image \"mirror.gcr.io/library/docker:dind\": registry \"mirror.gcr.io\" is not allowed (registries.allow: public.ecr.aws)"
    );
    let mut allowed_task = task;
    allowed_task["spec"]["sidecars"] = json!([]);
    let payload = json!({"request": {"uid": "1", "operation": "CREATE", "object": allowed_task}, "settings": settings});
    let response = respond(payload.to_string().as_bytes());
    assert!(response.accepted);
    assert_eq!(
        response.warnings.unwrap(),
        [
            "spec.steps[1].image \"$(params.builder)\" is a Tekton parameter or result reference, not an image: it is not checked here; registry-guard checks the image when the Pod that runs it is created"
        ]
    );
}

#[test]
fn schemes_stay_when_images_are_rewritten() {
    let data_volume = json!({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": "d"},
        "spec": {"source": {"registry": {"url": "docker://nginx:1.25"}}}});
    let settings = json!({"mirrors": [{"from": "docker.io", "to": "mirror.corp/hub"}], "digests": {"pin": "required"}});
    let (response, asked) = respond_with_registry(settings.clone(), "CREATE", &data_volume);
    assert_eq!(asked, ["mirror.corp/hub/library/nginx:1.25"]);
    assert_eq!(
        response.mutated_object.unwrap()["spec"]["source"]["registry"]["url"],
        format!("docker://mirror.corp/hub/library/nginx:1.25@{DIGEST}")
    );
    let policy = json!({"apiVersion": "policies.kubewarden.io/v1", "kind": "ClusterAdmissionPolicy", "metadata": {"name": "p"},
        "spec": {"module": "registry://nginx:1.25"}});
    let (response, _) = respond_with_registry(settings, "CREATE", &policy);
    assert_eq!(
        response.mutated_object.unwrap()["spec"]["module"],
        format!("registry://mirror.corp/hub/library/nginx:1.25@{DIGEST}")
    );
}

#[test]
fn image_fields_find_custom_resource_images() {
    let runner = json!({"apiVersion": "example.com/v1", "kind": "BatchRunner", "metadata": {"name": "r"},
        "spec": {"runners": [{"image": "public.ecr.aws/a:1"}, {"image": "docker.io/evil:1"}], "cache": {"image": 7}}});
    let fields = json!([{"apiGroup": "example.com", "kind": "BatchRunner", "paths": ["spec.runners[*].image", "spec.cache.image"]}]);
    let (ok, message) = evaluate(json!({"registries": {"allow": ["public.ecr.aws"]}}), "CREATE", runner.clone());
    assert!(ok, "without imageFields the kind holds no known image field: {message}");
    let settings = json!({"registries": {"allow": ["public.ecr.aws"]}, "imageFields": fields});
    let (ok, message) = evaluate(settings, "CREATE", runner.clone());
    assert!(!ok);
    assert_eq!(
        message,
        "spec.cache.image: expected an image reference (a string) at this imageFields path, found the number 7; spec.runners[1].image \"docker.io/evil:1\": registry \"docker.io\" is not allowed (registries.allow: public.ecr.aws)"
    );
    // Another group: the entry does not apply.
    let mut other = runner;
    other["apiVersion"] = json!("other.com/v1");
    let settings = json!({"registries": {"allow": ["public.ecr.aws"]}, "imageFields": [{"apiGroup": "example.com", "kind": "BatchRunner", "paths": ["spec.runners[*].image"]}]});
    assert!(evaluate(settings, "CREATE", other).0);
}

#[test]
fn image_fields_naming_a_built_in_field_rewrite_it_once() {
    // The same token found twice must be rewritten once (two edits would
    // make the rewrite fail and the request be refused).
    let settings = json!({"mirrors": [{"from": "docker.io", "to": "mirror.corp/hub"}],
        "imageFields": [{"kind": "Pod", "paths": ["spec.containers[*].image", "spec.extra.image"]}]});
    let mut object = pod(&["nginx:1.25"]);
    object["spec"]["extra"] = json!({"image": "redis:7"});
    let (response, _) = respond_with_registry(settings, "CREATE", &object);
    let mutated = response.mutated_object.unwrap();
    assert_eq!(mutated["spec"]["containers"][0]["image"], "mirror.corp/hub/library/nginx:1.25");
    assert_eq!(mutated["spec"]["extra"]["image"], "mirror.corp/hub/library/redis:7");
}

#[test]
fn image_fields_settings_errors_name_their_path() {
    let raw = validate_settings(
        json!({"imageFields": [
            {"kind": "A", "paths": ["spec.x[0]"]},
            {"apiGroup": 5, "paths": []},
            {"kind": "B", "paths": "spec.image", "extra": 1},
            "C"
        ]})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let verdict: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(verdict["valid"], false);
    assert_eq!(
        verdict["message"],
        "imageFields[0].paths[0]: \"spec.x[0]\": expected [*] after \"x\", found \"[0]\" (only [*], every element of a list, is supported); imageFields[1].apiGroup: expected a string, found the number 5; imageFields[1]: kind is missing; imageFields[1].paths: is empty: name at least one path; unknown setting \"imageFields[2].extra\"; expected one of: apiGroup, kind, paths; imageFields[2].paths: expected a list of strings, found the string \"spec.image\" (write [\"spec.image\"]); imageFields[3]: expected a mapping, found the string \"C\""
    );
}

#[test]
fn exempt_images_skip_the_source_rules_with_a_warning() {
    let settings = json!({
        "registries": {"allow": ["registry.corp.example"]},
        "tags": {"reject": ["latest"]},
        "digests": {"require": true},
        "exemptImages": ["docker.io/datadog/agent:*", "quay.io/vendor/*"]
    });
    let payload = |image: &str| {
        json!({"request": {"uid": "1", "operation": "CREATE", "object": pod(&[image])}, "settings": settings.clone()})
            .to_string()
    };
    let response = respond(payload("datadog/agent:7").as_bytes());
    assert!(response.accepted, "{:?}", response.message);
    assert_eq!(
        response.warnings.unwrap(),
        [
            "spec.containers[0].image \"datadog/agent:7\" is exempt from the registries, images, tags and digests rules (exemptImages: \"docker.io/datadog/agent:*\")"
        ]
    );
    // Every spelling of the exempt image, and nothing else.
    assert!(respond(payload("index.docker.io/datadog/agent:7").as_bytes()).accepted);
    assert!(!respond(payload("docker.io/datadog/agent-evil:7").as_bytes()).accepted);
    assert!(!respond(payload("datadog/other:7").as_bytes()).accepted);
}

#[test]
fn exempt_images_are_still_mirrored_pinned_and_verified() {
    let settings = json!({
        "registries": {"allow": ["mirror.corp"]},
        "mirrors": [{"from": "docker.io", "to": "mirror.corp/hub"}],
        "digests": {"pin": "required"},
        "exemptImages": ["docker.io/library/redis:*"]
    });
    // Exempt as written; mirrored, and pinned (the pin fails: refused).
    let (response, asked) = respond_with_registry(settings.clone(), "CREATE", &pod(&["redis:7"]));
    assert_eq!(asked, ["mirror.corp/hub/library/redis:7"]);
    assert!(response.message.unwrap().contains("its digest could not be looked up (digests.pin: required)"));
    let (response, _) = respond_with_registry(settings, "CREATE", &pod(&["nginx:1.25"]));
    assert!(response.accepted);
}

#[test]
fn a_policy_group_member_that_is_not_a_mapping_is_refused_naming_it() {
    // Issue 28, as `registry-guard check` saw it: accepted before.
    let group = json!({
        "apiVersion": "policies.kubewarden.io/v1", "kind": "AdmissionPolicyGroup",
        "metadata": {"name": "g", "namespace": "default"},
        "spec": {"expression": "a()", "policies": {
            "a": {"module": "registry://ghcr.io/kubewarden/policies/trusted-repos:v0.2.0"},
            "initContainers": [{"image": "evil.io/x:1"}]}}
    });
    let (accepted, message) = evaluate(json!({"registries": {"reject": ["evil.io"]}}), "CREATE", group.clone());
    assert!(!accepted);
    assert_eq!(
        message,
        "spec.policies.initContainers: expected a policy of the group (a mapping with a module), found a list; \
         spec.policies.initContainers[0].image \"evil.io/x:1\": registry \"evil.io\" is rejected (registries.reject: \"evil.io\")"
    );
    // Malformed whatever the settings: the shape itself is refused.
    let (accepted, message) = evaluate(json!({}), "CREATE", group);
    assert!(!accepted);
    assert_eq!(
        message,
        "spec.policies.initContainers: expected a policy of the group (a mapping with a module), found a list"
    );
}

/// Long registry lists are compiled lazily on `validate` (only the rules
/// that can match the request's registries: `settings::RequestImages`). The
/// verdict and message must be those of the same list compiled whole, which
/// `mirrors: []` forces (a mirror may change the registry, so laziness is
/// off): every kind of rule, at the start, middle and end of a list long
/// enough to be lazy, for matching and non-matching images.
#[test]
fn long_registry_lists_decide_as_if_compiled_whole() {
    let rules = [
        "registry.corp.example",
        "Registry.Corp.Example",
        "ports.example:5000",
        "ports.example:*",
        "*.team.example",
        "*.TEAM.example",
        "*.example",
        "*",
        "*:*",
        "[::1]:5000",
        "[0:0::1]:5000",
        "quay.io:443",
        "index.docker.io",
        "docker.io",
        "regi?try.corp.example",
        "registry-7.corp.internal",
    ];
    let images = [
        "registry.corp.example/a:1",
        "ports.example:5000/x:1",
        "a.b.team.example/x:1",
        "[::1]:5000/x:1",
        "quay.io/x:1",
        "busybox:1",
        "evil.com/x:1",
        "registry-7.corp.internal/x:1",
        "registry-8.corp.internal/x:1",
    ];
    let filler: Vec<String> = (0..40).map(|i| format!("registry-{i}.corp.internal")).collect();
    for rule in rules {
        for at in [0, 20, 40] {
            let mut list: Vec<Value> = filler.iter().map(|r| json!(r)).collect();
            list.insert(at, json!(rule));
            for which in ["allow", "reject"] {
                let lazy = json!({"registries": {which: list}});
                let whole = json!({"registries": {which: list}, "mirrors": []});
                for image in images {
                    let object = pod(&[image, "registry-3.corp.internal/y:2"]);
                    assert_eq!(
                        evaluate(lazy.clone(), "CREATE", object.clone()),
                        evaluate(whole.clone(), "CREATE", object),
                        "{which} with {rule:?} at {at}, image {image:?}"
                    );
                }
            }
        }
    }
    // And the message names the list as written, lazily compiled or not.
    let list: Vec<Value> = filler.iter().map(|r| json!(r)).collect();
    let (ok, message) = evaluate(json!({"registries": {"allow": list}}), "CREATE", pod(&["evil.com/x:1"]));
    assert!(!ok);
    assert!(
        message.ends_with("registries.allow: registry-0.corp.internal, registry-1.corp.internal, registry-2.corp.internal, registry-3.corp.internal, registry-4.corp.internal, … and 35 more)"),
        "{message}"
    );
}

/// The same for image lists (`images.allow` / `reject`, `exemptImages`):
/// a long list is compiled only where a pattern's repository is one of the
/// request's (`settings::RequestImages`); verdicts and messages are those of
/// the whole list.
#[test]
fn long_image_lists_decide_as_if_compiled_whole() {
    let digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    let patterns = [
        "nginx".to_string(),
        "nginx:1.25".to_string(),
        "docker.io/library/nginx".to_string(),
        "index.docker.io/library/nginx:latest".to_string(),
        "Registry.Corp.Example/team/app".to_string(),
        "registry.corp.example:443/team/app:1".to_string(),
        format!("registry.corp.example/team/app@{digest}"),
        format!("registry.corp.example/team/app:1@{digest}"),
        "localhost:5000/app".to_string(),
        "host:5000".to_string(),
        "registry.corp.example/team/*".to_string(),
        "*/app".to_string(),
        "registry.corp.example/team/ap?:1".to_string(),
        "quay.io/org/app".to_string(),
    ];
    let images = [
        "nginx:1.25".to_string(),
        "nginx".to_string(),
        "registry.corp.example/team/app:1".to_string(),
        format!("registry.corp.example/team/app@{digest}"),
        "localhost:5000/app:2".to_string(),
        "host:5000".to_string(),
        "quay.io/org/app:3".to_string(),
        "quay.io/other/app:3".to_string(),
        "evil.com/x:1".to_string(),
    ];
    let filler: Vec<String> = (0..40).map(|i| format!("registry.corp.example/team/app-{i}")).collect();
    for pattern in &patterns {
        for at in [0, 20, 40] {
            let mut list: Vec<Value> = filler.iter().map(|r| json!(r)).collect();
            list.insert(at, json!(pattern));
            for settings in [
                json!({"images": {"allow": list}}),
                json!({"images": {"reject": list}}),
                json!({"registries": {"allow": ["quay.io"]}, "exemptImages": list}),
            ] {
                let mut whole = settings.clone();
                whole["mirrors"] = json!([]);
                for image in &images {
                    let object = pod(&[image, "registry.corp.example/team/app-3:2"]);
                    assert_eq!(
                        evaluate(settings.clone(), "CREATE", object.clone()),
                        evaluate(whole.clone(), "CREATE", object),
                        "{settings} with {pattern:?} at {at}, image {image:?}"
                    );
                }
            }
        }
    }
}
