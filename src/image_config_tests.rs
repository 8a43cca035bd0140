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
/// digests with DIGEST, and manifests with an image manifest for every
/// reference `configs` answers, or the index a `configs` answer with
/// `manifests` is. Returns the response and the questions asked.
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
            "v1/oci_manifest" => match configs.iter().find(|(reference, _)| *reference == image) {
                Some((_, index)) if index.get("manifests").is_some() => Ok(index.to_string().into_bytes()),
                Some(_) => Ok(crate::host::oci_manifest::IMAGE_MANIFEST.as_bytes().to_vec()),
                None => Err("manifest unknown".to_string()),
            },
            "v1/oci_manifest_config" => configs
                .iter()
                .find(|(reference, answer)| *reference == image && answer.get("manifests").is_none())
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
    // The manifest first (one image, or an index of platforms), then the config.
    assert_eq!(asked, ["v1/oci_manifest ghcr.io/acme/app:1", "v1/oci_manifest_config ghcr.io/acme/app:1"]);

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
    assert_eq!(asked, ["v1/oci_manifest registry.corp.example/app:1"]);
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
        [
            "v1/manifest_digest docker.io/library/nginx:1".to_string(),
            format!("v1/oci_manifest {pinned}"),
            format!("v1/oci_manifest_config {pinned}")
        ]
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
        "unknown setting \"imageConfig.x\"; expected one of: images, labels, maxAge, user, onLookupFailure, platforms; imageConfig.images: is empty, so the section applies to no image: remove imageConfig, or name images; unknown setting \"imageConfig.labels.other\"; expected one of: require, reject; imageConfig.labels.require[\"a\"]: expected a value pattern (a string: * and ? are wildcards), found the number 1; imageConfig.maxAge: \"90\" has no unit; write it as 90d, 90h, 90m or 90s; imageConfig.user.nonRoot: expected true or false, found the string \"yes\"; imageConfig.onLookupFailure: expected reject or allow, found \"ignore\""
    );
    let raw = crate::validate_settings(br#"{"imageConfig": {"onLookupFailure": "allow"}}"#).unwrap();
    let verdict: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        verdict["message"],
        "imageConfig: has no rule: set labels.require, labels.reject, maxAge or user.nonRoot"
    );
}

const AMD64: &str = "sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const ARM64: &str = "sha256:a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2";
const ATTESTATION: &str = "sha256:a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3";

/// An index of linux/amd64 and linux/arm64/v8, with BuildKit's attestation
/// manifest, as a multi-platform push writes it.
fn index() -> Value {
    json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": AMD64, "size": 1,
         "platform": {"os": "linux", "architecture": "amd64"}},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ARM64, "size": 1,
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ATTESTATION, "size": 1,
         "platform": {"os": "unknown", "architecture": "unknown"},
         "annotations": {"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": AMD64}}
    ]})
}

fn platform_config(digest: &str, architecture: &str, user: &str) -> Value {
    json!({"manifest": {"schemaVersion": 2}, "digest": digest,
           "config": {"os": "linux", "architecture": architecture, "config": {"User": user}}})
}

/// The host's answers for the index at `at`: the index, then each
/// platform's config at `ghcr.io/acme/app@<digest>`; arm64 runs as root.
fn multi_platform(at: &str) -> Vec<(String, Value)> {
    vec![
        (at.to_string(), index()),
        (format!("ghcr.io/acme/app@{AMD64}"), platform_config(AMD64, "amd64", "65532")),
        (format!("ghcr.io/acme/app@{ARM64}"), platform_config(ARM64, "arm64", "root")),
    ]
}

fn borrowed(answers: &[(String, Value)]) -> Vec<(&str, Value)> {
    answers.iter().map(|(k, v)| (k.as_str(), v.clone())).collect()
}

#[test]
fn every_platform_of_an_index_is_checked_and_the_failing_one_named() {
    let settings = json!({"imageConfig": {"user": {"nonRoot": true}}});
    let answers = multi_platform("ghcr.io/acme/app:1");
    let (response, asked) = run(settings, &["ghcr.io/acme/app:1"], &borrowed(&answers));
    assert_eq!(
        response.message.unwrap(),
        "spec.containers[0].image \"ghcr.io/acme/app:1\": linux/arm64/v8: it runs as user \"root\", which is root (imageConfig.user.nonRoot)"
    );
    // The attestation manifest is not read.
    assert_eq!(
        asked,
        [
            "v1/oci_manifest ghcr.io/acme/app:1".to_string(),
            format!("v1/oci_manifest_config ghcr.io/acme/app@{AMD64}"),
            format!("v1/oci_manifest_config ghcr.io/acme/app@{ARM64}"),
        ]
    );
}

#[test]
fn an_image_pinned_to_its_index_digest_is_checked_platform_by_platform() {
    // Before: asked for the config at an index digest, the host answers a
    // platform's, and the policy refused every pinned multi-platform image.
    let settings = json!({"imageConfig": {"user": {"nonRoot": true}, "platforms": ["linux/amd64"]}});
    let pinned = format!("ghcr.io/acme/app@{DIGEST}");
    let answers = multi_platform(&pinned);
    let (response, asked) = run(settings, &[&format!("ghcr.io/acme/app:1@{DIGEST}")], &borrowed(&answers));
    assert!(response.accepted, "{:?}", response.message);
    // Only the platform named is read.
    assert_eq!(
        asked,
        [format!("v1/oci_manifest {pinned}"), format!("v1/oci_manifest_config ghcr.io/acme/app@{AMD64}")]
    );
}

#[test]
fn platforms_narrow_the_read_and_a_missing_one_is_refused() {
    let answers = multi_platform("ghcr.io/acme/app:1");
    // linux/arm64 matches linux/arm64/v8; linux/s390x is not offered.
    let settings = json!({"imageConfig": {"maxAge": "3650d", "platforms": ["linux/arm64", "linux/s390x"]}});
    let mut answers = answers;
    answers[2].1["config"]["created"] = json!(days_ago(1));
    let (response, asked) = run(settings, &["ghcr.io/acme/app:1"], &borrowed(&answers));
    assert_eq!(
        response.message.unwrap(),
        "spec.containers[0].image \"ghcr.io/acme/app:1\": it offers no linux/s390x image (imageConfig.platforms); it offers linux/amd64, linux/arm64/v8"
    );
    assert_eq!(asked.len(), 2, "{asked:?}");
    // A single-platform image offers the platform its config names.
    let settings = json!({"imageConfig": {"user": {"nonRoot": true}, "platforms": ["linux/amd64", "linux/arm64"]}});
    let single = platform_config(DIGEST, "amd64", "65532");
    let (response, _) = run(settings, &["ghcr.io/acme/single:1"], &[("ghcr.io/acme/single:1", single)]);
    assert_eq!(
        response.message.unwrap(),
        "spec.containers[0].image \"ghcr.io/acme/single:1\": it offers no linux/arm64 image (imageConfig.platforms); it offers linux/amd64"
    );
}

#[test]
fn a_platform_whose_config_cannot_be_read_is_a_failed_lookup_naming_it() {
    let settings = json!({"imageConfig": {"user": {"nonRoot": true}}});
    let mut answers = multi_platform("ghcr.io/acme/app:1");
    answers.pop();
    let (response, _) = run(settings.clone(), &["ghcr.io/acme/app:1"], &borrowed(&answers));
    assert_eq!(
        response.message.unwrap(),
        format!(
            "spec.containers[0].image \"ghcr.io/acme/app:1\": its image config could not be read (imageConfig.onLookupFailure: reject): \"ghcr.io/acme/app@{ARM64}\" (linux/arm64/v8): manifest unknown"
        )
    );
    // The host answering another platform's config for a platform digest.
    let mut answers = multi_platform("ghcr.io/acme/app:1");
    answers[2].1["digest"] = json!(AMD64);
    let (response, _) = run(settings, &["ghcr.io/acme/app:1"], &borrowed(&answers));
    assert!(
        response
            .message
            .unwrap()
            .ends_with(&format!("the host answered the config of {AMD64}, not of the digest asked")),
    );
}

#[test]
fn platforms_settings_errors() {
    let raw = crate::validate_settings(
        json!({"imageConfig": {"maxAge": "9d", "platforms": ["linux", "Linux/amd64", "linux/amd64", "linux/amd64", 5]}})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let verdict: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        verdict["message"],
        "imageConfig.platforms[0]: \"linux\" is not a platform: write os/architecture or os/architecture/variant in lowercase (linux/amd64, linux/arm64/v8); imageConfig.platforms[1]: \"Linux/amd64\" is not a platform: write os/architecture or os/architecture/variant in lowercase (linux/amd64, linux/arm64/v8); imageConfig.platforms[3]: \"linux/amd64\" is listed twice; imageConfig.platforms[4]: expected a platform such as linux/amd64, found the number 5"
    );
    let raw =
        crate::validate_settings(json!({"imageConfig": {"maxAge": "9d", "platforms": []}}).to_string().as_bytes())
            .unwrap();
    let verdict: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        verdict["message"],
        "imageConfig.platforms: is empty, so no platform would be read: remove it to read every platform"
    );
}
