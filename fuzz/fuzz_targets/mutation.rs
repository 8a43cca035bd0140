//! Mirrors and pinning on fuzzed images in every place an image lives, with
//! a fake registry that knows some of them: `validate` must answer; a
//! mutated object may differ from the original only in image strings; and
//! validating the mutated object again must change nothing.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[derive(Arbitrary, Debug)]
struct Case {
    images: Vec<String>,
    mirror: u8,
    required: bool,
}

fn respond(settings: &Value, object: &Value) -> Value {
    let payload = json!({"request": {"operation": "CREATE", "object": object}, "settings": settings});
    let mut lookup = |image: &str| {
        if image.len() % 3 == 0 { Err("manifest unknown".to_string()) } else { Ok(DIGEST.to_string()) }
    };
    let raw = registry_guard::validate_with(payload.to_string().as_bytes(), &mut lookup).expect("always answers");
    serde_json::from_slice(&raw).expect("the answer is JSON")
}

fn differences(a: &Value, b: &Value, at: String, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) if x.keys().eq(y.keys()) => {
            x.iter().for_each(|(k, v)| differences(v, &y[k], format!("{at}/{k}"), out))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().for_each(|(i, (v, w))| differences(v, w, format!("{at}/{i}"), out))
        }
        _ if a != b => out.push(at),
        _ => {}
    }
}

fuzz_target!(|case: Case| {
    if case.images.is_empty() {
        return;
    }
    let pin = if case.required { "required" } else { "attempt" };
    // Valid mirror rules (fuzzed ones would almost never be), one per case.
    let mirrors = [
        ("docker.io", "mirror.corp.example/hub"),
        ("*", "m.corp:5000"),
        ("*.io", "localhost/x/y"),
        ("quay.io", "[::1]:5000/q"),
        ("*:*", "Mirror.Corp.Example/a"),
    ];
    let (from, to) = mirrors[usize::from(case.mirror) % mirrors.len()];
    let settings = json!({"digests": {"pin": pin}, "mirrors": [{"from": from, "to": to}]});
    let containers: Vec<Value> = case.images.iter().map(|i| json!({"name": "c", "image": i})).collect();
    let object = json!({"kind": "Pod", "spec": {"containers": containers, "initContainers": containers,
        "volumes": [{"name": "v", "image": {"reference": case.images[0]}}]}});
    let first = respond(&settings, &object);
    let Some(mutated) = first.get("mutated_object").filter(|m| !m.is_null()) else { return };
    assert_eq!(first["accepted"], true, "a mutation on a rejection");
    let mut changed = Vec::new();
    differences(&object, mutated, String::new(), &mut changed);
    for at in &changed {
        assert!(at.ends_with("/image") || at.ends_with("/image/reference"), "{at} changed: {mutated}");
    }
    let second = respond(&settings, mutated);
    assert!(second["mutated_object"].is_null(), "mutated again: {}", second["mutated_object"]);
});
