//! Host answers are untrusted input (a registry or a verifier wrote them):
//! with signatures, pinning and imageConfig on, every v2/verify,
//! manifest_digest, oci_manifest and oci_manifest_config question, and the
//! vulnerability gate's Kubernetes list lookups, get fuzzed bytes or a
//! fuzzed error. `validate` must answer; an
//! image may only be rewritten to a digest the grammar accepts; a rejection
//! never carries a mutation; and nothing is accepted unverified unless the
//! answer was `is_trusted: true` with a digest.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

const KEY: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEs5BWEXcz/z94WT9QtH1ugj1Q88Et\n9zk5ZIkyGDwQN6n7Bvrl8qUkJEyZp/NVWAgjw8nFOaKDZTJRY/eC5X82ng==\n-----END PUBLIC KEY-----";

#[derive(Arbitrary, Debug)]
struct Case {
    images: Vec<String>,
    /// The host's answers, in turn: bytes, or an error message.
    answers: Vec<Result<Vec<u8>, String>>,
    pin: bool,
}

fuzz_target!(|case: Case| {
    if case.images.is_empty() {
        return;
    }
    let settings = json!({
        "signatures": [{"image": "ghcr.io/acme/*", "pubKeys": [KEY]}, {"image": "docker.io/library/*", "pubKeys": [KEY]}],
        "digests": {"pin": if case.pin { "required" } else { "never" }},
        "imageConfig": {"maxAge": "90d", "user": {"nonRoot": true}, "labels": {"require": {"a": "*"}}},
        "vulnerabilities": {"namespaces": ["prod"], "limits": {"critical": 0}},
    });
    let mut images = case.images.clone();
    images.extend(["ghcr.io/acme/app:1".to_string(), "nginx".to_string()]);
    let containers: Vec<Value> = images.iter().map(|i| json!({"name": "c", "image": i})).collect();
    let payload = json!({"request": {"operation": "CREATE", "object": {"spec": {"containers": containers}}}, "settings": settings});
    let mut answers = case.answers.into_iter().cycle();
    let mut trusted = false;
    let mut host = |_operation: &str, _question: &[u8]| {
        let answer = answers.next().unwrap_or(Err("no answer".to_string()));
        if let Ok(bytes) = &answer {
            trusted |= serde_json::from_slice::<Value>(bytes).is_ok_and(|v| v["is_trusted"] == true);
        }
        answer
    };
    let raw = registry_guard::validate_on(payload.to_string().as_bytes(), &mut host).expect("always answers");
    let response: Value = serde_json::from_slice(&raw).expect("the answer is JSON");
    if response["accepted"] == false {
        assert!(response["mutated_object"].is_null(), "a mutation on a rejection");
        return;
    }
    assert!(trusted, "accepted without a trusted answer: {response}");
    if let Some(containers) = response["mutated_object"]["spec"]["containers"].as_array() {
        for c in containers {
            let image = c["image"].as_str().expect("images stay strings");
            if let Some((_, digest)) = image.split_once('@') {
                let ok = digest.strip_prefix("sha256:").is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
                assert!(ok || digest.starts_with("sha384:") || digest.starts_with("sha512:"), "pinned to {digest:?}");
            }
        }
    }
});
