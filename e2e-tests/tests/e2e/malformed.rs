//! Malformed payloads through the real module: each gets a clear rejection
//! (never a trap, never a 500 from the host).

use registry_guard_e2e::{evaluate, policy};
use serde_json::json;

fn rejection(payload: &[u8]) -> String {
    let response = policy().validate_raw(payload);
    assert!(!response.accepted, "{}", String::from_utf8_lossy(payload));
    assert_eq!(response.code, None, "a guest error or trap: {:?}", response.message);
    response.message.unwrap_or_default()
}

#[test]
fn payloads_that_are_not_admission_requests_are_rejected_with_the_reason() {
    let cases: [(&[u8], &str); 6] = [
        (b"garbage", "registry-guard cannot read the admission request: invalid JSON at byte 0: expected a value"),
        (b"", "registry-guard cannot read the admission request: invalid JSON at byte 0: unexpected end of input"),
        (b"{\"settings\": {}}", "registry-guard cannot read the admission request: it has no \"request\""),
        (
            b"{\"request\": 5}",
            "registry-guard cannot read the admission request: request: expected an AdmissionRequest (a mapping), found the number 5",
        ),
        (
            b"{\"request\": {\"operation\": \"CREATE\", \"object\": [1]}}",
            "registry-guard cannot read the admission request: request.object: expected a mapping or null, found a list",
        ),
        (
            b"{\"request\": {\"object\": {\"spec\": {\"containers\": [{\"image\": \"a\\x\"}]}}}}",
            "registry-guard cannot read the admission request: invalid JSON at byte 60: invalid escape",
        ),
    ];
    for (payload, expected) in cases {
        assert_eq!(rejection(payload), expected);
    }
}

#[test]
fn wrong_shapes_where_images_belong_are_rejected() {
    let object = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
        "containers": {"app": {"image": "quay.io/a:1"}},
        "initContainers": [{"name": "i", "image": 42}]}});
    let response = evaluate(&json!({}), &object);
    assert!(!response.accepted);
    let message = response.message.unwrap();
    assert!(message.contains("spec.containers: expected a list of containers, found a mapping"), "{message}");
    assert!(
        message.contains("spec.initContainers[0].image: expected an image reference (a string), found the number 42"),
        "{message}"
    );
}

#[test]
fn json_nested_10000_deep_is_rejected_without_overflowing_the_stack() {
    let depth = 10_000;
    let payload = format!(
        "{{\"request\": {{\"operation\": \"CREATE\", \"object\": {{\"a\": {}{}}}}}}}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let message = rejection(payload.as_bytes());
    assert_eq!(
        message,
        "registry-guard cannot read the admission request: invalid JSON at byte 1049: nested deeper than 1000 levels"
    );
}
