//! Settings validation through the built policy: every rule of the README's
//! settings section, refused with a message naming the setting.

use registry_guard_e2e::{evaluate, pod, policy};
use serde_json::{Value, json};

fn refused(settings: Value) -> String {
    let verdict = policy().validate_settings(&settings);
    assert!(!verdict.valid, "{settings} was accepted");
    verdict.message.unwrap_or_default()
}

#[test]
fn each_kind_of_settings_error_names_its_setting() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"registry": {"allow": ["a.io"]}}),
            "unknown setting \"registry\"; expected one of: registries, images, tags, digests, mirrors, signatures, modifyImagesWithDigest, imageFields, imageConfig, exemptImages, lookupsOnUpdate, vulnerabilities",
        ),
        (
            json!({"registries": {"allowed": ["a.io"]}}),
            "unknown setting \"registries.allowed\"; expected one of: allow, reject",
        ),
        (json!({"digests": {"pinned": true}}), "unknown setting \"digests.pinned\"; expected one of: require, pin"),
        (json!(["a.io"]), "the settings: expected a mapping, found a list"),
        (json!({"images": "nginx"}), "images: expected a mapping, found the string \"nginx\""),
        (
            json!({"registries": {"allow": "a.io"}}),
            "registries.allow: expected a list of strings, found the string \"a.io\" (write [\"a.io\"])",
        ),
        (json!({"tags": {"reject": [true]}}), "tags.reject[0]: expected a string, found the boolean true"),
        (json!({"digests": {"require": "yes"}}), "digests.require: expected true or false, found the string \"yes\""),
        (
            json!({"registries": {"allow": ["quay.io", "https://reg.corp"]}}),
            "registries.allow[1]: \"https://reg.corp\" is not a registry host; write it without a scheme",
        ),
        (
            json!({"registries": {"reject": ["reg.corp/team"]}}),
            "registries.reject[0]: \"reg.corp/team\" is not a registry host; it has a path (to match repositories, use images)",
        ),
        (
            json!({"registries": {"allow": ["reg.corp:70000"]}}),
            "registries.allow[0]: \"reg.corp:70000\": port \"70000\" is not a number in 1-65535 (or *)",
        ),
        (
            json!({"registries": {"allow": ["reg.corp:http"]}}),
            "registries.allow[0]: \"reg.corp:http\": port \"http\" is not a number in 1-65535 (or *)",
        ),
        (
            json!({"registries": {"allow": ["foo_bar.com"]}}),
            "registries.allow[0]: \"foo_bar.com\" is not a valid registry host",
        ),
        (
            json!({"registries": {"allow": ["*.reg_corp"]}}),
            "registries.allow[0]: \"*.reg_corp\" is not a registry host pattern; only letters, digits, '.', '-', '*' and '?' may appear",
        ),
        (
            json!({"registries": {"allow": [""]}}),
            "registries.allow[0]: is empty; write a registry host such as \"registry.corp.example\"",
        ),
        (
            json!({"registries": {"allow": ["[::::::]"]}}),
            "registries.allow[0]: registry host [::::::] is not an IPv6 address",
        ),
        (
            json!({"images": {"allow": ["Quay.io/Org/App"]}}),
            "images.allow[0]: \"Quay.io/Org/App\" is not a valid image reference: the repository name must be lowercase",
        ),
        (
            json!({"images": {"allow": ["quay.io/Org/*"]}}),
            "images.allow[0]: \"quay.io/Org/*\" is not a valid image pattern: the repository path must be lowercase",
        ),
        (
            json!({"images": {"reject": ["quay.io/org//*"]}}),
            "images.reject[0]: \"quay.io/org//*\" is not a valid image pattern: \"org//*\" is not a repository path",
        ),
        (
            json!({"images": {"reject": ["quay.io/org/*:bad~tag"]}}),
            "images.reject[0]: \"quay.io/org/*:bad~tag\" is not a valid image pattern: \"bad~tag\" is not a tag",
        ),
        (
            json!({"images": {"reject": ["quay.io/org/app@sha256:zz*"]}}),
            "images.reject[0]: \"quay.io/org/app@sha256:zz*\" is not a valid image pattern: \"sha256:zz*\" is not a digest (algorithm:hex)",
        ),
        (
            json!({"images": {"reject": ["nginx@sha256:abc"]}}),
            "images.reject[0]: \"nginx@sha256:abc\" is not a valid image reference: invalid reference format",
        ),
        (
            json!({"images": {"reject": ["https://quay.io/org/app"]}}),
            "images.reject[0]: \"https://quay.io/org/app\" is not an image reference; write it without a scheme",
        ),
        (
            json!({"images": {"reject": ["docker.io/*"]}}),
            "images.reject[0]: \"docker.io/*\" is ambiguous: a one-component Docker Hub name is an official image, so it would mean \"docker.io/library/*\"; write that, \"docker.io/*/*\" for every Docker Hub repository, or \"*:*/*\" for every image of every registry",
        ),
        (
            json!({"images": {"allow": ["reg.corp:99999/*"]}}),
            "images.allow[0]: \"reg.corp:99999/*\": its registry part \"reg.corp:99999\": port \"99999\" is not a number in 1-65535 (or *)",
        ),
        (
            json!({"tags": {"reject": ["-rc"]}}),
            "tags.reject[0]: \"-rc\" is not a tag pattern; a tag is 1-128 of A-Z a-z 0-9 _ . - (not starting with . or -), plus the wildcards * and ?",
        ),
        (
            json!({"tags": {"allow": ["v1/2"]}}),
            "tags.allow[0]: \"v1/2\" is not a tag pattern; a tag is 1-128 of A-Z a-z 0-9 _ . - (not starting with . or -), plus the wildcards * and ?",
        ),
    ];
    for (settings, expected) in cases {
        assert_eq!(refused(settings.clone()), expected, "{settings}");
    }
}

#[test]
fn all_errors_are_reported_together() {
    let message = refused(json!({"registries": {"allow": ["a b", "c d"]}, "tags": {"reject": 1}}));
    assert_eq!(
        message,
        "registries.allow[0]: \"a b\" is not a valid registry host; registries.allow[1]: \"c d\" is not a valid registry host; tags.reject: expected a list of strings, found the number 1"
    );
}

#[test]
fn every_trusted_repos_settings_document_is_accepted_and_means_the_same() {
    // The examples of trusted-repos-policy's README.
    let documents = [
        json!({"registries": {"allow": ["registry.my-corp.com"]}}),
        json!({"registries": {"reject": ["docker.io"]}}),
        json!({"tags": {"reject": ["latest"]}}),
        json!({"images": {"reject": ["quay.io/etcd/etcd:v3.4.12"]}}),
        json!({"images": {"allow": ["quay.io/coreos/etcd:v3.4.12@sha256:7ed2739c96eb16de3d7169e2a0aa4ccf3a1f44af24f2bb6cad826935a51bcb3d"]}}),
        json!({"images": {"allow": ["nginx", "quay.io/coreos/etcd"]}}),
    ];
    for document in &documents {
        let verdict = policy().validate_settings(document);
        assert!(verdict.valid, "{document}: {:?}", verdict.message);
    }
    let allowed = |settings: &Value, image: &str| evaluate(settings, &pod(&[image])).accepted;
    assert!(allowed(&documents[0], "registry.my-corp.com/app:1"));
    assert!(!allowed(&documents[0], "registry.my-corp.com:5001/app:1"));
    assert!(!allowed(&documents[1], "busybox:1"));
    assert!(allowed(&documents[1], "quay.io/a/b:1"));
    assert!(!allowed(&documents[2], "quay.io/a/b:latest"));
    assert!(!allowed(&documents[3], "quay.io/etcd/etcd:v3.4.12"));
    assert!(allowed(&documents[3], "quay.io/etcd/etcd:v3.4.13"));
    assert!(allowed(&documents[5], "nginx:1.21"));
    assert!(allowed(&documents[5], "docker.io/library/nginx:latest"));
    assert!(allowed(&documents[5], "quay.io/coreos/etcd:latest"));
    assert!(
        !allowed(&documents[5], "evil.com/library/nginx:1.21"),
        "the registry of an image pattern is never ignored"
    );
}
