//! Property tests: what must hold for every input, not only the examples.
//! - normalizing a parsed reference and parsing it again gives the same
//!   reference (and the same normalized image);
//! - the verdict never depends on container order or on unrelated fields;
//! - an image rejected in a Pod is rejected at every depth it can hide;
//! - an allow list of every host but X never admits an image on X, a
//!   reject list of X always rejects it, and a signature rule for X's
//!   images always applies to it, whatever the spelling;
//! - mutation (mirrors and pinning) changes nothing but image strings, and
//!   mutating a mutated object changes nothing more.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::references::image::Image;
use crate::references::reference;

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const KEY: &str = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----";

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("docker.io".to_string()),
        Just("index.docker.io".to_string()),
        Just("registry-1.docker.io".to_string()),
        Just("localhost".to_string()),
        Just("[fc00::1]".to_string()),
        "[a-z][a-z0-9-]{0,6}[a-z0-9](\\.[a-z0-9]{1,5}){1,2}",
        "[A-Z][A-Za-z]{0,5}",
    ]
}

fn reference_text() -> impl Strategy<Value = String> {
    let component = "[a-z0-9]{1,4}([._-][a-z0-9]{1,4}){0,2}";
    (
        proptest::option::of((host(), proptest::option::of(prop_oneof![Just(443u16), Just(5000u16), 1u16..=65535]))),
        proptest::collection::vec(component, 1..4),
        proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}"),
        proptest::bool::ANY,
    )
        .prop_map(|(domain, path, tag, digest)| {
            let mut out = String::new();
            if let Some((host, port)) = domain {
                out.push_str(&host);
                if let Some(port) = port {
                    out.push_str(&format!(":{port}"));
                }
                out.push('/');
            }
            out.push_str(&path.join("/"));
            if let Some(tag) = tag {
                out.push(':');
                out.push_str(&tag);
            }
            if digest {
                out.push('@');
                out.push_str(DIGEST);
            }
            out
        })
}

fn verdict(settings: &Value, object: &Value) -> (bool, String) {
    let payload = json!({"request": {"operation": "CREATE", "object": object}, "settings": settings});
    let raw = crate::validate(payload.to_string().as_bytes()).unwrap();
    let response: Value = serde_json::from_slice(&raw).unwrap();
    (response["accepted"].as_bool().unwrap(), response["message"].as_str().unwrap_or_default().to_string())
}

fn pod_spec(images: &[String], extra: bool) -> Value {
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, image)| {
            let mut c = json!({"name": format!("c{i}"), "image": image});
            if extra {
                c["env"] = json!([{"name": "IMAGE", "value": "evil.example/x:1"}]);
                c["args"] = json!(["--image", "evil.example/x:1"]);
            }
            c
        })
        .collect();
    json!({"containers": containers})
}

/// `validate` with a fake registry that knows every image whose path
/// starts with `a` (its digest is the same for all).
fn mutate(settings: &Value, object: &Value) -> Value {
    let payload = json!({"request": {"operation": "CREATE", "object": object}, "settings": settings});
    let mut lookup = |image: &str| {
        let path = image.split_once('/').map_or(image, |(_, rest)| rest);
        if path.starts_with('a') || path.starts_with("library/a") {
            Ok(DIGEST.to_string())
        } else {
            Err("manifest unknown".into())
        }
    };
    let raw = crate::validate_with(payload.to_string().as_bytes(), &mut lookup).unwrap();
    serde_json::from_slice(&raw).unwrap()
}

/// JSON pointers of every value that differs between two documents of the
/// same shape (or the root, when the shapes differ).
fn differences(a: &Value, b: &Value, at: String, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() && x.keys().eq(y.keys()) => {
            x.iter().for_each(|(k, v)| differences(v, &y[k], format!("{at}/{k}"), out))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().for_each(|(i, (v, w))| differences(v, w, format!("{at}/{i}"), out))
        }
        _ if a != b => out.push(at),
        _ => {}
    }
}

/// The violations of a message, each without its field path.
fn reasons(message: &str) -> Vec<String> {
    let mut out: Vec<String> =
        message.split("; ").map(|v| v.split_once(' ').map_or(v, |(_, rest)| rest).to_string()).collect();
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn normalizing_then_parsing_again_is_stable(text in reference_text()) {
        if let Ok(parsed) = reference::parse(&text) {
            let normalized = parsed.to_string();
            let again = reference::parse(&normalized).unwrap();
            prop_assert_eq!(&again, &parsed);
        }
        if let Ok(image) = Image::parse(&text) {
            let shown = image.to_string();
            let again = Image::parse(&shown).unwrap();
            prop_assert_eq!(again.to_string(), shown);
        }
    }

    #[test]
    fn the_verdict_does_not_depend_on_order_or_unrelated_fields(
        images in proptest::collection::vec(reference_text(), 1..6),
        seed in any::<u64>(),
    ) {
        let settings = json!({"registries": {"allow": ["*.io", "localhost:*"]}, "tags": {"reject": ["latest"]}});
        let (ok, message) = verdict(&settings, &json!({"spec": pod_spec(&images, false)}));
        let mut shuffled = images.clone();
        let n = shuffled.len();
        for i in 0..n {
            shuffled.swap(i, (seed as usize).wrapping_add(i * 7) % n);
        }
        let (ok2, message2) = verdict(&settings, &json!({"metadata": {"labels": {"a": "b"}}, "spec": pod_spec(&shuffled, true)}));
        prop_assert_eq!(ok, ok2);
        prop_assert_eq!(reasons(&message), reasons(&message2));
    }

    #[test]
    fn an_image_rejected_in_a_pod_is_rejected_wherever_it_hides(image in reference_text()) {
        let settings = json!({"registries": {"reject": ["docker.io", "*.evil.io"]}, "tags": {"reject": ["latest"]}});
        let spec = pod_spec(std::slice::from_ref(&image), false);
        let (in_pod, _) = verdict(&settings, &json!({"kind": "Pod", "spec": spec}));
        let hiding_places = [
            json!({"kind": "Deployment", "spec": {"template": {"spec": spec}}}),
            json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}}),
            json!({"kind": "Rollout", "spec": {"workloadRef": {}, "strategy": {"canary": {"steps": [{"template": {"spec": spec}}]}}}}),
            json!({"kind": "Pod", "spec": {"initContainers": spec["containers"]}}),
            json!({"kind": "Pod", "spec": {"ephemeralContainers": spec["containers"]}}),
            json!({"kind": "Pod", "spec": {"volumes": [{"name": "v", "image": {"reference": image}}]}}),
        ];
        for object in hiding_places {
            let (elsewhere, _) = verdict(&settings, &object);
            prop_assert_eq!(in_pod, elsewhere, "{}", object);
        }
    }

    #[test]
    fn no_spelling_of_a_host_escapes_its_rules(
        which in 0usize..4,
        upper in proptest::collection::vec(any::<bool>(), 24),
        port_443 in any::<bool>(),
        path in "[a-z]{1,6}(/[a-z]{1,6})?",
    ) {
        let hosts = ["docker.io", "quay.io", "registry.corp.example", "[fc00::1]"];
        let x = hosts[which];
        // Docker Hub answers to three names; the others to one.
        let spellings: Vec<&str> = if which == 0 { vec!["docker.io", "index.docker.io", "registry-1.docker.io"] } else { vec![x] };
        let others: Vec<&str> = hosts.iter().copied().filter(|h| *h != x).collect();
        let allow_others = json!({"registries": {"allow": others}});
        let reject_x = json!({"registries": {"reject": [x]}});
        for spelling in spellings {
            let cased: String = spelling.chars().zip(upper.iter().cycle()).map(|(c, u)| if *u { c.to_ascii_uppercase() } else { c }).collect();
            let domain = if port_443 { format!("{cased}:443") } else { cased };
            let image = format!("{domain}/{path}:1");
            let object = json!({"spec": pod_spec(std::slice::from_ref(&image), false)});
            prop_assert!(!verdict(&allow_others, &object).0, "{} admitted by {}", image, allow_others);
            prop_assert!(!verdict(&reject_x, &object).0, "{} not rejected by {}", image, reject_x);
            // A signature rule for X's images applies to every spelling,
            // and asks the host about the normalized image.
            let signed = json!({"signatures": [{"image": format!("{x}/{path}"), "pubKeys": [KEY]}]});
            let payload = json!({"request": {"operation": "CREATE", "object": object}, "settings": signed});
            let mut asked = Vec::new();
            let mut host = |_: &str, question: &[u8]| {
                asked.push(serde_json::from_slice::<Value>(question).unwrap()["image"].as_str().unwrap().to_string());
                Err("no signatures found".to_string())
            };
            let raw = crate::validate_on(payload.to_string().as_bytes(), &mut host).unwrap();
            let response: Value = serde_json::from_slice(&raw).unwrap();
            prop_assert_eq!(&response["accepted"], &json!(false), "{} escaped its signature rule", image);
            let canonical = if which == 0 { "docker.io" } else { x };
            let expected = if which == 0 && !path.contains('/') { format!("{canonical}/library/{path}:1") } else { format!("{canonical}/{path}:1") };
            prop_assert_eq!(asked, vec![expected]);
        }
    }

    #[test]
    fn mutation_changes_only_images_and_a_mutated_object_is_left_alone(
        images in proptest::collection::vec(reference_text(), 1..5),
        mirror_all in any::<bool>(),
        pin in prop_oneof![Just("attempt"), Just("required")],
    ) {
        let from = if mirror_all { "*" } else { "docker.io" };
        let settings = json!({"digests": {"pin": pin}, "mirrors": [{"from": from, "to": "mirror.corp.example/hub"}]});
        let object = json!({"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 2, "template": {
            "spec": {"initContainers": pod_spec(&images, true)["containers"], "containers": pod_spec(&images, true)["containers"],
                     "volumes": [{"name": "v", "image": {"reference": images[0]}}]}}}});
        let first = mutate(&settings, &object);
        if let Some(mutated) = first.get("mutated_object").filter(|m| !m.is_null()) {
            prop_assert_eq!(&first["accepted"], &json!(true));
            let mut changed = Vec::new();
            differences(&object, mutated, String::new(), &mut changed);
            prop_assert!(!changed.is_empty(), "a mutated object that is the same as the original");
            for at in &changed {
                prop_assert!(at.ends_with("/image") || at.ends_with("/image/reference"), "{} changed", at);
            }
            let second = mutate(&settings, mutated);
            prop_assert_eq!(&second["accepted"], &json!(true));
            prop_assert!(second["mutated_object"].is_null(), "mutated again: {}", second["mutated_object"]);
        }
    }
}
