//! The limits the README documents, through the real module: each input
//! gets a verdict or a clear error, never a trap (times are not asserted;
//! `registry-guard bench` measures).

use registry_guard_e2e::{evaluate, pod, policy, request};
use serde_json::{Value, json};

fn registry_rules() -> Value {
    json!({"registries": {"allow": ["quay.io", "*.corp.example"]}})
}

#[test]
fn a_10_mb_request_gets_a_verdict() {
    let mut object = pod(&["quay.io/org/app:1"]);
    object["metadata"]["annotations"] = json!({"blob": "x".repeat(10 << 20)});
    object["spec"]["containers"][0]["env"] = json!([{"name": "BIG", "value": "y\"\\u0041".repeat(100_000)}]);
    let response = evaluate(&registry_rules(), &object);
    assert!(response.accepted, "{:?}", response.message);
}

#[test]
fn ten_thousand_containers_get_a_bounded_message() {
    let images: Vec<String> = (0..10_000)
        .map(|i| if i % 2 == 0 { format!("quay.io/org/app{i}:1") } else { format!("evil.io/x{i}:1") })
        .collect();
    let refs: Vec<&str> = images.iter().map(String::as_str).collect();
    let response = evaluate(&registry_rules(), &pod(&refs));
    assert!(!response.accepted);
    let message = response.message.unwrap();
    assert!(
        message.starts_with("spec.containers[1].image \"evil.io/x1:1\": registry \"evil.io\" is not allowed"),
        "{message}"
    );
    assert!(message.ends_with("; … and 4990 more"), "{message}");
    assert!(message.len() < 3_000, "{} bytes", message.len());
}

#[test]
fn a_10_kb_image_string_is_rejected_with_a_cut_message() {
    let long = format!("quay.io/{}:1", "a".repeat(10 * 1024));
    let response = evaluate(&registry_rules(), &pod(&[&long]));
    assert!(!response.accepted);
    let message = response.message.unwrap();
    assert!(
        message.ends_with("…\": not a valid image reference: the repository name is longer than 255 characters"),
        "{message}"
    );
    assert!(message.len() < 400);
}

#[test]
fn patterns_with_100_wildcards_are_accepted_and_match() {
    let host = format!("{}corp.example", "*".repeat(100));
    let tag = format!("{}1", "*".repeat(100));
    let image = format!("quay.io/{}*", "a*".repeat(50).trim_end_matches('*'));
    let settings =
        json!({"registries": {"allow": [host, "quay.io"]}, "tags": {"allow": [tag]}, "images": {"allow": [image]}});
    assert!(policy().validate_settings(&settings).valid);
    assert!(evaluate(&settings, &pod(&[&format!("quay.io/{}:v1", "a".repeat(60))])).accepted);
    let response = evaluate(&settings, &pod(&[&format!("quay.io/{}b:v1", "a".repeat(49))]));
    assert!(!response.accepted);
}

#[test]
fn a_hundred_thousand_settings_entries_are_validated_and_used() {
    let hosts: Vec<String> = (0..100_000).map(|i| format!("registry-{i}.corp.internal")).collect();
    let settings = json!({"registries": {"allow": hosts}});
    let verdict = policy().validate_settings(&settings);
    assert!(verdict.valid, "{:?}", verdict.message);
    assert!(evaluate(&settings, &pod(&["registry-99999.corp.internal/app:1"])).accepted);
    let response = evaluate(&settings, &pod(&["quay.io/app:1"]));
    assert_eq!(
        response.message.as_deref(),
        Some(
            "spec.containers[0].image \"quay.io/app:1\": registry \"quay.io\" is not allowed (registries.allow: registry-0.corp.internal, registry-1.corp.internal, registry-2.corp.internal, registry-3.corp.internal, registry-4.corp.internal, … and 99995 more)"
        )
    );
}

#[test]
fn one_instance_answers_many_requests_of_every_kind_in_a_row() {
    // The instance a PolicyServer keeps: malformed, huge and normal requests
    // in turn must not leave it broken.
    let policy = policy();
    let settings = registry_rules();
    let good = request("CREATE", &pod(&["quay.io/org/app:1"]));
    for _ in 0..3 {
        assert!(!policy.validate_raw(b"{\"request\": [").accepted);
        let deep = format!("{{\"request\": {{\"object\": {{\"a\": {}{}}}}}}}", "[".repeat(5_000), "]".repeat(5_000));
        assert!(!policy.validate_raw(deep.as_bytes()).accepted);
        assert!(policy.validate(&good, &settings).accepted);
    }
}
