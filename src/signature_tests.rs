//! `signatures`, through the whole pipeline with a fake Sigstore host: what
//! a user sees (verdicts, messages, rewritten images) and what the host is
//! asked.

use kubewarden_policy_sdk::response::ValidationResponse;
use serde_json::{Value, json};

use crate::validate_on;

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const OTHER: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const KEY_A: &str = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----";
const KEY_B: &str = "-----BEGIN PUBLIC KEY-----\nBBBB\n-----END PUBLIC KEY-----";
/// A key that signed nothing.
const KEY_C: &str = "-----BEGIN PUBLIC KEY-----\nCCCC\n-----END PUBLIC KEY-----";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

/// A registry's signatures: image reference (normalized) → its digest, the
/// keys that signed it, the keyless identities (issuer, subject) that
/// signed it, and the annotations its signatures carry.
struct Signed {
    reference: &'static str,
    digest: &'static str,
    keys: &'static [&'static str],
    identities: &'static [(&'static str, &'static str)],
    annotations: &'static [(&'static str, &'static str)],
}

const REGISTRY: &[Signed] = &[
    Signed {
        reference: "ghcr.io/acme/app:1",
        digest: DIGEST,
        keys: &[KEY_A, KEY_B],
        identities: &[(ISSUER, "https://github.com/acme/ci/.github/workflows/release.yml@refs/tags/v1")],
        annotations: &[("env", "prod")],
    },
    Signed {
        reference: "ghcr.io/acme/app@sha256:1111111111111111111111111111111111111111111111111111111111111111",
        digest: DIGEST,
        keys: &[KEY_A],
        identities: &[],
        annotations: &[],
    },
    Signed {
        reference: "docker.io/library/nginx:1.25",
        digest: DIGEST,
        keys: &[KEY_A],
        identities: &[],
        annotations: &[],
    },
    Signed { reference: "ghcr.io/acme/tools:2", digest: OTHER, keys: &[KEY_B], identities: &[], annotations: &[] },
];

/// Answers v2/verify as the Kubewarden host does: trusted with the digest
/// when every signer asked for signed the image with every annotation
/// asked for; an error otherwise.
fn fake_sigstore(operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
    assert_eq!(operation, "v2/verify");
    let request: Value = serde_json::from_slice(payload).unwrap();
    let reference = request["image"].as_str().unwrap();
    let Some(signed) = REGISTRY.iter().find(|s| s.reference == reference) else {
        return Err(format!("no signatures found for {reference}"));
    };
    let annotations_ok = request["annotations"].as_object().is_none_or(|wanted| {
        wanted.iter().all(|(k, v)| signed.annotations.iter().any(|(sk, sv)| sk == k && Some(*sv) == v.as_str()))
    });
    let signers_ok = match request["type"].as_str().unwrap() {
        "SigstorePubKeyVerify" => {
            request["pub_keys"].as_array().unwrap().iter().all(|key| signed.keys.contains(&key.as_str().unwrap()))
        }
        "SigstoreKeylessVerify" => request["keyless"].as_array().unwrap().iter().all(|id| {
            signed
                .identities
                .iter()
                .any(|(i, s)| Some(*i) == id["issuer"].as_str() && Some(*s) == id["subject"].as_str())
        }),
        "SigstoreKeylessPrefixVerify" => request["keyless_prefix"].as_array().unwrap().iter().all(|id| {
            signed
                .identities
                .iter()
                .any(|(i, s)| Some(*i) == id["issuer"].as_str() && s.starts_with(id["url_prefix"].as_str().unwrap()))
        }),
        "SigstoreGithubActionsVerify" => signed.identities.iter().any(|(i, s)| {
            *i == ISSUER && s.starts_with(&format!("https://github.com/{}/", request["owner"].as_str().unwrap()))
        }),
        other => return Err(format!("unexpected {other}")),
    };
    if signers_ok && annotations_ok {
        Ok(json!({"is_trusted": true, "digest": signed.digest}).to_string().into_bytes())
    } else {
        Err("Image verification failed: missing signatures".into())
    }
}

/// Validates a Pod with `containers` (and `initContainers`) under
/// `settings`; the response and the host calls made.
fn run(settings: Value, containers: &[&str], init: &[&str]) -> (ValidationResponse, Vec<Value>) {
    let list = |images: &[&str]| -> Vec<Value> {
        images.iter().enumerate().map(|(i, image)| json!({"name": format!("c{i}"), "image": image})).collect()
    };
    let object = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": list(containers), "initContainers": list(init)}});
    let payload = json!({"request": {"uid": "1", "operation": "CREATE", "object": object}, "settings": settings});
    let mut calls = Vec::new();
    let mut host = |operation: &str, payload: &[u8]| {
        calls.push(serde_json::from_slice::<Value>(payload).unwrap());
        fake_sigstore(operation, payload)
    };
    let raw = validate_on(payload.to_string().as_bytes(), &mut host).unwrap();
    (serde_json::from_slice(&raw).unwrap(), calls)
}

fn keys(image: &str, keys: &[&str]) -> Value {
    json!({"image": image, "pubKeys": keys})
}

fn image_of(response: &ValidationResponse, list: &str, i: usize) -> String {
    response.mutated_object.as_ref().unwrap()["spec"][list][i]["image"].as_str().unwrap().to_string()
}

#[test]
fn a_signed_image_is_admitted_and_pinned_to_the_digest_that_was_verified() {
    let (response, calls) =
        run(json!({"signatures": [keys("ghcr.io/acme/*", &[KEY_A])]}), &["ghcr.io/acme/app:1"], &[]);
    assert!(response.accepted, "{:?}", response.message);
    assert_eq!(image_of(&response, "containers", 0), format!("ghcr.io/acme/app:1@{DIGEST}"));
    assert_eq!(
        calls,
        [
            json!({"type": "SigstorePubKeyVerify", "image": "ghcr.io/acme/app:1", "pub_keys": [KEY_A], "annotations": null})
        ]
    );
}

#[test]
fn an_unsigned_image_is_rejected_naming_field_image_rule_and_reason() {
    let (response, _) = run(json!({"signatures": [keys("ghcr.io/acme/*", &[KEY_A])]}), &["ghcr.io/acme/other:3"], &[]);
    assert!(!response.accepted);
    assert_eq!(
        response.message.unwrap(),
        "spec.containers[0].image \"ghcr.io/acme/other:3\": the signatures of \"ghcr.io/acme/other:3\" were not verified by signatures[0] (pubKeys: key …AAAA): no signatures found for ghcr.io/acme/other:3"
    );
}

#[test]
fn every_key_must_have_signed_and_every_matching_rule_must_pass() {
    let both = json!({"signatures": [keys("ghcr.io/acme/*", &[KEY_A, KEY_B])]});
    assert!(run(both.clone(), &["ghcr.io/acme/app:1"], &[]).0.accepted);
    let (response, _) = run(both, &["ghcr.io/acme/tools:2"], &[]);
    assert!(response.message.unwrap().ends_with("Image verification failed: missing signatures"));
    // Two rules, both match: the first passes, the second fails.
    let two = json!({"signatures": [keys("ghcr.io/acme/*", &[KEY_B]), keys("ghcr.io/acme/tools", &[KEY_A])]});
    let (response, calls) = run(two, &["ghcr.io/acme/tools:2"], &[]);
    assert_eq!(calls.len(), 2);
    let message = response.message.unwrap();
    assert!(!message.contains("signatures[0]") && message.contains("signatures[1]"), "{message}");
}

#[test]
fn annotations_are_asked_for_and_must_be_carried() {
    let rule = |env: &str| json!({"signatures": [{"image": "ghcr.io/acme/*", "pubKeys": [KEY_A], "annotations": {"env": env}}]});
    let (response, calls) = run(rule("prod"), &["ghcr.io/acme/app:1"], &[]);
    assert!(response.accepted);
    assert_eq!(calls[0]["annotations"], json!({"env": "prod"}));
    assert!(!run(rule("dev"), &["ghcr.io/acme/app:1"], &[]).0.accepted);
}

#[test]
fn keyless_exact_and_prefix_and_github_actions() {
    let subject = "https://github.com/acme/ci/.github/workflows/release.yml@refs/tags/v1";
    let exact =
        json!({"signatures": [{"image": "ghcr.io/acme/app", "keyless": [{"issuer": ISSUER, "subject": subject}]}]});
    assert!(run(exact, &["ghcr.io/acme/app:1"], &[]).0.accepted);
    let wrong = json!({"signatures": [{"image": "ghcr.io/acme/app", "keyless": [{"issuer": ISSUER, "subject": "https://github.com/evil/x"}]}]});
    assert!(!run(wrong, &["ghcr.io/acme/app:1"], &[]).0.accepted);
    let prefix = |p: &str| json!({"signatures": [{"image": "ghcr.io/acme/*", "keylessPrefix": [{"issuer": ISSUER, "urlPrefix": p}]}]});
    assert!(run(prefix("https://github.com/acme/"), &["ghcr.io/acme/app:1"], &[]).0.accepted);
    assert!(!run(prefix("https://github.com/evil/"), &["ghcr.io/acme/app:1"], &[]).0.accepted);
    let actions = |owner: &str| json!({"signatures": [{"image": "ghcr.io/acme/*", "githubActions": {"owner": owner}}]});
    let (response, calls) = run(actions("acme"), &["ghcr.io/acme/app:1"], &[]);
    assert!(response.accepted);
    assert_eq!(
        calls[0],
        json!({"type": "SigstoreGithubActionsVerify", "image": "ghcr.io/acme/app:1", "owner": "acme", "repo": null, "annotations": null})
    );
    assert!(!run(actions("evil"), &["ghcr.io/acme/app:1"], &[]).0.accepted);
}

#[test]
fn no_spelling_of_an_image_escapes_its_rule() {
    // verify-image-signatures matches the string as written: these skipped a
    // rule for ghcr.io/acme/* or docker.io/library/nginx and were admitted
    // unverified.
    let settings = json!({"signatures": [keys("ghcr.io/acme/*", &[KEY_C]), keys("docker.io/library/nginx", &[KEY_C])]});
    for image in [
        "GHCR.IO/acme/app:1",
        "ghcr.io:443/acme/app:1",
        "index.docker.io/library/nginx:1.25",
        "nginx:1.25",
        "registry-1.docker.io/nginx:1.25",
    ] {
        let (response, calls) = run(settings.clone(), &[image], &[]);
        assert!(!response.accepted, "{image} escaped");
        assert_eq!(calls.len(), 1, "{image}");
    }
    // And the question asked is the normalized reference.
    let (response, calls) =
        run(json!({"signatures": [keys("nginx", &[KEY_A])]}), &["index.docker.io/library/nginx:1.25"], &[]);
    assert!(response.accepted);
    assert_eq!(calls[0]["image"], "docker.io/library/nginx:1.25");
    assert_eq!(image_of(&response, "containers", 0), format!("index.docker.io/library/nginx:1.25@{DIGEST}"));
}

#[test]
fn init_containers_are_verified_and_each_question_is_asked_once() {
    let settings = json!({"signatures": [keys("ghcr.io/acme/*", &[KEY_A])]});
    let (response, calls) = run(
        settings.clone(),
        &["ghcr.io/acme/app:1", "ghcr.io/acme/app:1", "quay.io/other:1"],
        &["ghcr.io/acme/app:1"],
    );
    assert!(response.accepted);
    assert_eq!(calls.len(), 1, "one call per distinct (image, rule); none for quay.io");
    assert_eq!(image_of(&response, "initContainers", 0), format!("ghcr.io/acme/app:1@{DIGEST}"));
    let (response, _) = run(settings, &["quay.io/other:1"], &["ghcr.io/acme/unsigned:1"]);
    assert!(response.message.unwrap().starts_with("spec.initContainers[0].image \"ghcr.io/acme/unsigned:1\""));
}

#[test]
fn an_image_pinned_by_digest_is_verified_at_it_and_left_as_written() {
    let settings = json!({"signatures": [keys("ghcr.io/acme/*", &[KEY_A])]});
    let (response, calls) = run(settings.clone(), &[&format!("ghcr.io/acme/app@{DIGEST}")], &[]);
    assert!(response.accepted && response.mutated_object.is_none());
    assert_eq!(calls[0]["image"], format!("ghcr.io/acme/app@{DIGEST}"));
    // A tag and a digest: verified at the digest, which is what is pulled.
    let (response, calls) = run(settings, &[&format!("ghcr.io/acme/app:9@{DIGEST}")], &[]);
    assert!(response.accepted && response.mutated_object.is_none());
    assert_eq!(calls[0]["image"], format!("ghcr.io/acme/app@{DIGEST}"));
}

#[test]
fn a_host_that_verifies_another_digest_than_the_one_written_is_refused() {
    let mut host = |_: &str, _: &[u8]| Ok(json!({"is_trusted": true, "digest": OTHER}).to_string().into_bytes());
    let object = json!({"spec": {"containers": [{"name": "a", "image": format!("ghcr.io/acme/app@{DIGEST}")}]}});
    let payload = json!({"request": {"operation": "CREATE", "object": object},
        "settings": {"signatures": [keys("ghcr.io/acme/*", &[KEY_A])]}});
    let response: ValidationResponse =
        serde_json::from_slice(&validate_on(payload.to_string().as_bytes(), &mut host).unwrap()).unwrap();
    assert!(!response.accepted);
    assert!(response.message.unwrap().ends_with(&format!("the host verified {OTHER}, not the digest the image names")));
}

#[test]
fn without_modify_images_with_digest_nothing_is_rewritten() {
    let settings = json!({"signatures": [keys("ghcr.io/acme/*", &[KEY_A])], "modifyImagesWithDigest": false});
    let (response, calls) = run(settings, &["ghcr.io/acme/app:1"], &[]);
    assert!(response.accepted && response.mutated_object.is_none());
    assert_eq!(calls.len(), 1);
    // digests.require still wants a digest, which only pinning would give.
    let settings = json!({"signatures": [keys("ghcr.io/acme/*", &[KEY_A])], "modifyImagesWithDigest": false, "digests": {"require": true}});
    assert!(!run(settings, &["ghcr.io/acme/app:1"], &[]).0.accepted);
    let settings = json!({"signatures": [keys("ghcr.io/acme/*", &[KEY_A])], "digests": {"require": true}});
    assert!(run(settings, &["ghcr.io/acme/app:1"], &[]).0.accepted, "pinned to the verified digest");
}

#[test]
fn mirrors_verify_the_source_and_pin_the_mirror() {
    let settings = json!({
        "signatures": [keys("docker.io/library/nginx", &[KEY_A])],
        "mirrors": [{"from": "docker.io", "to": "registry.corp.example/hub"}]
    });
    let (response, calls) = run(settings, &["nginx:1.25"], &[]);
    assert!(response.accepted, "{:?}", response.message);
    assert_eq!(calls[0]["image"], "docker.io/library/nginx:1.25");
    assert_eq!(image_of(&response, "containers", 0), format!("registry.corp.example/hub/library/nginx:1.25@{DIGEST}"));
}

#[test]
fn images_no_rule_matches_are_not_asked_about_and_other_rules_still_apply() {
    let settings = json!({"signatures": [keys("ghcr.io/acme/*", &[KEY_A])], "registries": {"allow": ["ghcr.io"]}});
    let (response, calls) = run(settings, &["ghcr.io/other/x:1", "quay.io/x:1"], &[]);
    assert!(calls.is_empty());
    assert_eq!(
        response.message.unwrap(),
        "spec.containers[1].image \"quay.io/x:1\": registry \"quay.io\" is not allowed (registries.allow: ghcr.io)"
    );
}

#[test]
fn a_rejected_digest_refuses_a_signed_tag_that_points_to_it() {
    let settings = json!({"signatures": [keys("ghcr.io/acme/*", &[KEY_A])], "images": {"reject": [format!("ghcr.io/acme/app@{DIGEST}")]}});
    let (response, _) = run(settings, &["ghcr.io/acme/app:1"], &[]);
    assert!(response.message.unwrap().contains("is rejected (images.reject"));
}
