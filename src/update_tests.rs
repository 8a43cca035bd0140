//! `lookupsOnUpdate`: on an UPDATE, images that `oldObject` holds at the
//! same field are not looked up again; the static rules still run on them.

use kubewarden_policy_sdk::response::ValidationResponse;
use serde_json::{Value, json};

const DIGEST: &str = "sha256:5555555555555555555555555555555555555555555555555555555555555555";

fn deployment(images: &[&str]) -> Value {
    let containers: Vec<Value> =
        images.iter().enumerate().map(|(i, image)| json!({"name": format!("c{i}"), "image": image})).collect();
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"replicas": 3, "template": {"spec": {"containers": containers}}}})
}

/// Validates an UPDATE from `old` to `new` with a registry that knows every
/// digest; returns the response and the images looked up.
fn update(settings: Value, old: Value, new: Value) -> (ValidationResponse, Vec<String>) {
    let payload = json!({"request": {"uid": "1", "operation": "UPDATE", "oldObject": old, "object": new},
                         "settings": settings});
    let mut asked = Vec::new();
    let mut lookup = |image: &str| {
        asked.push(image.to_string());
        Ok(DIGEST.to_string())
    };
    let raw = crate::validate_with(payload.to_string().as_bytes(), &mut lookup).unwrap();
    (serde_json::from_slice(&raw).unwrap(), asked)
}

#[test]
fn an_update_that_changes_no_image_makes_no_lookup() {
    let settings = json!({"digests": {"pin": "required"}});
    let old = deployment(&["registry.corp.example/api:1", "registry.corp.example/sidecar:2"]);
    let mut new = old.clone();
    new["spec"]["replicas"] = json!(5);
    let (response, asked) = update(settings.clone(), old.clone(), new);
    assert!(response.accepted && response.mutated_object.is_none(), "{:?}", response.message);
    assert!(asked.is_empty(), "{asked:?}");

    // A changed image is looked up (and pinned); the unchanged one is not.
    let new = deployment(&["registry.corp.example/api:2", "registry.corp.example/sidecar:2"]);
    let (response, asked) = update(settings.clone(), old.clone(), new);
    assert_eq!(asked, ["registry.corp.example/api:2"]);
    assert_eq!(
        response.mutated_object.unwrap()["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("registry.corp.example/api:2@{DIGEST}")
    );

    // The same image moved to another field is looked up: fields are compared.
    let new = deployment(&["registry.corp.example/sidecar:2", "registry.corp.example/api:1"]);
    let (_, asked) = update(settings, old, new);
    assert_eq!(asked.len(), 2, "{asked:?}");
}

#[test]
fn static_rules_still_apply_to_unchanged_images() {
    // A tightened registry list applies at once, to every image.
    let settings = json!({"digests": {"pin": "required"}, "registries": {"allow": ["quay.io"]}});
    let old = deployment(&["registry.corp.example/api:1"]);
    let (response, asked) = update(settings, old.clone(), old.clone());
    assert!(asked.is_empty());
    assert_eq!(
        response.message.unwrap(),
        "spec.template.spec.containers[0].image \"registry.corp.example/api:1\": registry \"registry.corp.example\" is not allowed (registries.allow: quay.io)"
    );
    // digests.require is a static rule: an unchanged unpinned image fails it.
    let settings = json!({"digests": {"pin": "attempt", "require": true}});
    let (response, asked) = update(settings, old.clone(), old);
    assert!(asked.is_empty());
    assert!(
        response
            .message
            .unwrap()
            .ends_with("the image is not pinned by digest (digests.require: true; write it as name@sha256:...)")
    );
}

#[test]
fn all_images_restores_a_lookup_per_update() {
    let settings = json!({"digests": {"pin": "required"}, "lookupsOnUpdate": "allImages"});
    let old = deployment(&["registry.corp.example/api:1"]);
    let (response, asked) = update(settings, old.clone(), old);
    assert_eq!(asked, ["registry.corp.example/api:1"]);
    assert!(response.mutated_object.is_some());
}

#[test]
fn a_create_or_an_update_without_old_object_looks_everything_up() {
    let settings = json!({"digests": {"pin": "required"}});
    let (_, asked) = update(settings, Value::Null, deployment(&["registry.corp.example/api:1"]));
    assert_eq!(asked, ["registry.corp.example/api:1"]);
}

#[test]
fn a_malformed_old_object_skips_no_lookup_and_a_bad_setting_is_named() {
    let settings = json!({"digests": {"pin": "required"}});
    let old = json!({"spec": {"template": {"spec": {"containers": "not a list"}}}});
    let (response, _) = update(settings, old, deployment(&["registry.corp.example/api:1"]));
    assert!(
        response.accepted,
        "a malformed image field of the old object is no lookup to skip: {:?}",
        response.message
    );

    let raw = crate::validate_settings(json!({"lookupsOnUpdate": "changed"}).to_string().as_bytes()).unwrap();
    let verdict: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        verdict["message"],
        "lookupsOnUpdate: expected changedImages or allImages, found the string \"changed\""
    );
}
