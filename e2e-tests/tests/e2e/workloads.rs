//! Every workload kind, the ephemeralcontainers subresource and image
//! volumes: an image in its place is found, named by its field, and judged.

use registry_guard_e2e::{evaluate, evaluate_request, request};
use serde_json::{Value, json};

const SETTINGS: &str = r#"{"registries": {"allow": ["quay.io", "*.corp.example"]}, "tags": {"reject": ["latest"]}}"#;

fn settings() -> Value {
    serde_json::from_str(SETTINGS).unwrap()
}

fn pod_spec(image: &str) -> Value {
    json!({"initContainers": [{"name": "init", "image": "quay.io/org/init:1"}], "containers": [{"name": "app", "image": image}]})
}

fn template(image: &str) -> Value {
    json!({"metadata": {"labels": {"app": "x"}}, "spec": pod_spec(image)})
}

/// (object, field path of the `app` container's image) for every kind.
pub(crate) fn workloads(image: &str) -> Vec<(Value, &'static str)> {
    let meta = json!({"name": "w", "namespace": "prod"});
    vec![
        (
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec(image)}),
            "spec.containers[0].image",
        ),
        (
            json!({"apiVersion": "v1", "kind": "PodTemplate", "metadata": meta, "template": template(image)}),
            "template.spec.containers[0].image",
        ),
        (
            json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": meta, "spec": {"template": template(image)}}),
            "spec.template.spec.containers[0].image",
        ),
        (
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": {"template": template(image)}}),
            "spec.template.spec.containers[0].image",
        ),
        (
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta, "spec": {"template": template(image)}}),
            "spec.template.spec.containers[0].image",
        ),
        (
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta, "spec": {"template": template(image)}}),
            "spec.template.spec.containers[0].image",
        ),
        (
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta, "spec": {"template": template(image)}}),
            "spec.template.spec.containers[0].image",
        ),
        (
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": {"template": template(image)}}),
            "spec.template.spec.containers[0].image",
        ),
        (
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta, "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template(image)}}}}),
            "spec.jobTemplate.spec.template.spec.containers[0].image",
        ),
        (
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": meta, "spec": {"template": template(image)}}),
            "spec.template.spec.containers[0].image",
        ),
        (
            json!({"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": meta, "spec": {"template": {"spec": {"containers": [{"image": image}]}}}}),
            "spec.template.spec.containers[0].image",
        ),
    ]
}

#[test]
fn every_workload_kind_is_allowed_with_allowed_images() {
    for (object, _) in workloads("eu.corp.example/team/app:1.2") {
        let response = evaluate(&settings(), &object);
        assert!(response.accepted, "{}: {:?}", object["kind"], response.message);
    }
}

#[test]
fn every_workload_kind_is_denied_naming_the_field_image_and_rule() {
    for (object, field) in workloads("docker.io/library/nginx:1.25") {
        let response = evaluate(&settings(), &object);
        assert!(!response.accepted, "{}", object["kind"]);
        assert_eq!(
            response.message.as_deref(),
            Some(format!("{field} \"docker.io/library/nginx:1.25\": registry \"docker.io\" is not allowed (registries.allow: quay.io, *.corp.example)").as_str()),
            "{}",
            object["kind"]
        );
    }
}

#[test]
fn init_containers_are_checked() {
    let object = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": {
        "initContainers": [{"name": "a", "image": "quay.io/ok:1"}, {"name": "b", "image": "busybox"}],
        "containers": [{"name": "c", "image": "quay.io/ok:1"}]}}}});
    let message = evaluate(&settings(), &object).message.unwrap();
    assert!(
        message.starts_with(
            "spec.template.spec.initContainers[1].image \"busybox\": registry \"docker.io\" is not allowed"
        ),
        "{message}"
    );
    assert!(
        message.contains(
            "tag \"latest\" (implicit: the image names neither tag nor digest) is rejected (tags.reject: \"latest\")"
        ),
        "{message}"
    );
}

#[test]
fn kubectl_debug_on_the_ephemeralcontainers_subresource_is_checked() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "api", "namespace": "prod"}, "spec": {
        "containers": [{"name": "app", "image": "quay.io/org/app:1"}],
        "ephemeralContainers": [{"name": "debugger-x7k2", "image": "busybox:1.36", "targetContainerName": "app"}]}});
    let mut req = request("UPDATE", &pod);
    req["subResource"] = json!("ephemeralcontainers");
    req["resource"]["resource"] = json!("pods");
    req["oldObject"] = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "app", "image": "quay.io/org/app:1"}]}});
    let response = evaluate_request(&settings(), &req);
    assert!(!response.accepted);
    assert_eq!(
        response.message.as_deref(),
        Some(
            "spec.ephemeralContainers[0].image \"busybox:1.36\": registry \"docker.io\" is not allowed (registries.allow: quay.io, *.corp.example)"
        )
    );
}

#[test]
fn image_volumes_are_checked() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "m"}, "spec": {
        "containers": [{"name": "app", "image": "quay.io/org/app:1"}],
        "volumes": [{"name": "model", "image": {"reference": "huggingface.example/models/llm:v1", "pullPolicy": "IfNotPresent"}}]}});
    let response = evaluate(&settings(), &pod);
    assert_eq!(
        response.message.as_deref(),
        Some(
            "spec.volumes[0].image.reference \"huggingface.example/models/llm:v1\": registry \"huggingface.example\" is not allowed (registries.allow: quay.io, *.corp.example)"
        )
    );
}

#[test]
fn delete_is_allowed_and_objects_without_images_pass() {
    let (object, _) = workloads("docker.io/evil:latest").remove(0);
    let response = evaluate_request(&settings(), &request("DELETE", &object));
    assert!(response.accepted);
    let service =
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}});
    assert!(evaluate(&settings(), &service).accepted);
}

#[test]
fn the_policy_instance_is_reused_across_requests_with_changing_settings() {
    // One instance, as a PolicyServer keeps it: the compiled-settings cache
    // must never serve one document's rules for another.
    let policy = registry_guard_e2e::policy();
    let pod = registry_guard_e2e::pod(&["quay.io/org/app:1"]);
    let req = request("CREATE", &pod);
    let deny = json!({"registries": {"reject": ["quay.io"]}});
    let allow = json!({"registries": {"reject": ["docker.io"]}});
    for _ in 0..3 {
        assert!(!policy.validate(&req, &deny).accepted);
        assert!(policy.validate(&req, &allow).accepted);
    }
}
