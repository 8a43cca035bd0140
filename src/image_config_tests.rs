//! `imageConfig` through `validate`: the host's config answers faked per
//! image, seen as the user sees them (verdicts, messages, warnings, and the
//! host questions asked).

use kubewarden_policy_sdk::response::ValidationResponse;
use serde_json::{Value, json};

use crate::rules::image_config::{now, rfc3339};

const DIGEST: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
const OTHER: &str = "sha256:4444444444444444444444444444444444444444444444444444444444444444";

/// An RFC 3339 time `days` ago by this machine's clock (the policy reads
/// the same clock).
fn days_ago(days: i64) -> String {
    seconds_ago(days * 86_400)
}

fn seconds_ago(seconds: i64) -> String {
    rfc3339(now() - seconds)
}

fn config(created: Option<&str>, user: Option<&str>, labels: Value) -> Value {
    json!({"manifest": {"schemaVersion": 2}, "digest": DIGEST,
           "config": {"created": created, "architecture": "amd64", "config": {"User": user, "Labels": labels}}})
}

/// Validates a Pod running `images` under `settings`; the host answers
/// configs from `configs` (reference → answer, or an error for others),
/// digests with DIGEST. Returns the response and the questions asked.
fn run(settings: Value, images: &[&str], configs: &[(&str, Value)]) -> (ValidationResponse, Vec<String>) {
    let containers: Vec<Value> =
        images.iter().enumerate().map(|(i, image)| json!({"name": format!("c{i}"), "image": image})).collect();
    let object =
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}});
    let payload = json!({"request": {"uid": "1", "operation": "CREATE", "object": object}, "settings": settings});
    let mut asked = Vec::new();
    let mut host = |operation: &str, question: &[u8]| -> Result<Vec<u8>, String> {
        let image: String = serde_json::from_slice(question).unwrap();
        asked.push(format!("{operation} {image}"));
        match operation {
            "v1/manifest_digest" => Ok(json!({"digest": DIGEST}).to_string().into_bytes()),
            "v1/oci_manifest_config" => configs
                .iter()
                .find(|(reference, _)| *reference == image)
                .map(|(_, answer)| answer.to_string().into_bytes())
                .ok_or_else(|| "manifest unknown".to_string()),
            other => Err(format!("{other} is not faked")),
        }
    };
    let raw = crate::validate_on(payload.to_string().as_bytes(), &mut host).unwrap();
    (serde_json::from_slice(&raw).unwrap(), asked)
}

fn labels_settings() -> Value {
    json!({"imageConfig": {"labels": {
        "require": {"org.opencontainers.image.source": "https://github.com/acme/*"},
        "reject": {"com.example.deprecated": "true"}}}})
}

#[test]
fn labels_present_absent_and_wrong() {
    let good = config(None, None, json!({"org.opencontainers.image.source": "https://github.com/acme/app"}));
    let (response, asked) = run(labels_settings(), &["ghcr.io/acme/app:1"], &[("ghcr.io/acme/app:1", good)]);
    assert!(response.accepted, "{:?}", response.message);
    assert_eq!(asked, ["v1/oci_manifest_config ghcr.io/acme/app:1"]);

    let wrong = config(
        None,
        None,
        json!({"org.opencontainers.image.source": "https://github.com/evil/x", "com.example.deprecated": "true"}),
    );
    let (response, _) = run(labels_settings(), &["ghcr.io/acme/app:1"], &[("ghcr.io/acme/app:1", wrong)]);
    assert_eq!(
        response.message.unwrap(),
        "spec.containers[0].image \"ghcr.io/acme/app:1\": label \"org.opencontainers.image.source\" is \"https://github.com/evil/x\", which does not match \"https://github.com/acme/*\" (imageConfig.labels.require) and label \"com.example.deprecated\" is \"true\", which matches \"true\" (imageConfig.labels.reject)"
    );

    let (response, _) =
        run(labels_settings(), &["ghcr.io/acme/app:1"], &[("ghcr.io/acme/app:1", config(None, None, Value::Null))]);
    assert_eq!(
        response.message.unwrap(),
        "spec.containers[0].image \"ghcr.io/acme/app:1\": label \"org.opencontainers.image.source\" is missing; it must match \"https://github.com/acme/*\" (imageConfig.labels.require)"
    );
}

#[test]
fn age_too_old_at_the_limit_and_unknown() {
    let settings = json!({"imageConfig": {"maxAge": "90d"}});
    // A minute inside the limit (the clock moves between here and the
    // policy; the exact limit is tested in rules/image_config.rs).
    let inside = config(Some(&seconds_ago(90 * 86_400 - 60)), None, Value::Null);
    let (response, _) = run(settings.clone(), &["nginx:1"], &[("docker.io/library/nginx:1", inside)]);
    assert!(response.accepted, "{:?}", response.message);
    let old = days_ago(324);
    let (response, _) =
        run(settings.clone(), &["nginx:1"], &[("docker.io/library/nginx:1", config(Some(&old), None, Value::Null))]);
    assert_eq!(
        response.message.unwrap(),
        format!("spec.containers[0].image \"nginx:1\": built {old}, 324 days ago, older than 90d (imageConfig.maxAge)")
    );
    let (response, _) = run(settings, &["nginx:1"], &[("docker.io/library/nginx:1", config(None, None, Value::Null))]);
    assert_eq!(
        response.message.unwrap(),
        "spec.containers[0].image \"nginx:1\": its config has no creation time, so its age cannot be checked (imageConfig.maxAge: 90d)"
    );
}

#[test]
fn root_and_non_root_users() {
    let settings = json!({"imageConfig": {"user": {"nonRoot": true}}});
    for (user, allowed) in
        [(Some("65532"), true), (Some("app:app"), true), (Some("0:0"), false), (Some("root"), false), (None, false)]
    {
        let (response, _) =
            run(settings.clone(), &["nginx:1"], &[("docker.io/library/nginx:1", config(None, user, Value::Null))]);
        assert_eq!(response.accepted, allowed, "{user:?}: {:?}", response.message);
    }
}

#[test]
fn a_failed_lookup_refuses_or_warns() {
    let settings = json!({"imageConfig": {"maxAge": "30d"}});
    let (response, _) = run(settings, &["quay.io/private/app:2"], &[]);
    assert_eq!(
        response.message.unwrap(),
        "spec.containers[0].image \"quay.io/private/app:2\": its image config could not be read (imageConfig.onLookupFailure: reject): \"quay.io/private/app:2\": manifest unknown"
    );
    let settings = json!({"imageConfig": {"maxAge": "30d", "onLookupFailure": "allow"}});
    let (response, _) = run(settings, &["quay.io/private/app:2"], &[]);
    assert!(response.accepted);
    assert_eq!(
        response.warnings.unwrap(),
        [
            "spec.containers[0].image \"quay.io/private/app:2\": its image config was not checked (imageConfig.onLookupFailure: allow): \"quay.io/private/app:2\": manifest unknown"
        ]
    );
    // A malformed answer is a failed lookup.
    let settings = json!({"imageConfig": {"maxAge": "30d"}});
    let (response, _) = run(settings, &["quay.io/app:2"], &[("quay.io/app:2", json!({"digest": DIGEST, "config": 5}))]);
    assert!(response.message.unwrap().contains("could not be read (imageConfig.onLookupFailure: reject): \"quay.io/app:2\": the host's answer is not an image config (no config)"));
}

#[test]
fn images_outside_the_section_are_not_looked_up() {
    let settings = json!({"imageConfig": {"images": ["registry.corp.example/*"], "user": {"nonRoot": true}}});
    let (response, asked) =
        run(settings, &["nginx:1", "registry.corp.example/app:1", "registry.corp.example/app:1"], &[]);
    // One question for the two uses of one image; none for nginx.
    assert_eq!(asked, ["v1/oci_manifest_config registry.corp.example/app:1"]);
    let message = response.message.unwrap();
    assert!(
        message.starts_with(
            "spec.containers[1].image \"registry.corp.example/app:1\": its image config could not be read"
        ),
        "{message}"
    );
    assert!(!message.contains("nginx"));
}

#[test]
fn a_pinned_image_is_checked_at_the_digest_it_is_pinned_to() {
    let settings = json!({"digests": {"pin": "required"}, "imageConfig": {"user": {"nonRoot": true}}});
    let pinned = format!("docker.io/library/nginx@{DIGEST}");
    let (response, asked) = run(settings.clone(), &["nginx:1"], &[(&pinned, config(None, Some("101"), Value::Null))]);
    assert!(response.accepted, "{:?}", response.message);
    assert_eq!(
        asked,
        ["v1/manifest_digest docker.io/library/nginx:1".to_string(), format!("v1/oci_manifest_config {pinned}")]
    );
    assert_eq!(response.mutated_object.unwrap()["spec"]["containers"][0]["image"], format!("nginx:1@{DIGEST}"));

    // The host must answer for the digest asked.
    let mut other = config(None, Some("101"), Value::Null);
    other["digest"] = json!(OTHER);
    let (response, _) = run(settings, &["nginx:1"], &[(&pinned, other)]);
    let message = response.message.unwrap();
    assert!(
        message.ends_with(&format!("the host answered the config of {OTHER}, not of the digest asked")),
        "{message}"
    );
    assert!(
        message.starts_with(&format!(
            "spec.containers[0].image \"nginx:1\" (pulled as \"docker.io/library/nginx:1@{DIGEST}\")"
        )),
        "{message}"
    );
}

#[test]
fn without_the_section_nothing_is_asked() {
    let (response, asked) = run(json!({"tags": {"reject": ["latest"]}}), &["nginx:1"], &[]);
    assert!(response.accepted && asked.is_empty());
}

#[test]
fn settings_errors_name_their_path() {
    let raw = crate::validate_settings(
        json!({"imageConfig": {"images": [], "labels": {"require": {"a": 1}, "other": {}}, "maxAge": "90", "user": {"nonRoot": "yes"}, "onLookupFailure": "ignore", "x": 1}})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let verdict: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        verdict["message"],
        "unknown setting \"imageConfig.x\"; expected one of: images, labels, maxAge, user, onLookupFailure; imageConfig.images: is empty, so the section applies to no image: remove imageConfig, or name images; unknown setting \"imageConfig.labels.other\"; expected one of: require, reject; imageConfig.labels.require[\"a\"]: expected a value pattern (a string: * and ? are wildcards), found the number 1; imageConfig.maxAge: \"90\" has no unit; write it as 90d, 90h, 90m or 90s; imageConfig.user.nonRoot: expected true or false, found the string \"yes\"; imageConfig.onLookupFailure: expected reject or allow, found \"ignore\""
    );
    let raw = crate::validate_settings(br#"{"imageConfig": {"onLookupFailure": "allow"}}"#).unwrap();
    let verdict: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        verdict["message"],
        "imageConfig: has no rule: set labels.require, labels.reject, maxAge or user.nonRoot"
    );
}
