//! Structured mutations of a real request (the bench's Deployment): values
//! anywhere in the object are replaced by strings, numbers, nulls, lists or
//! container-shaped values, or the shapes of the kinds with images outside
//! container lists (Tekton steps, OpenShift references and tags, KubeVirt
//! disks, Kubewarden modules), with the object's kind set to one of them
//! (or an OpenShift Template, a DeploymentConfig, a Strimzi Kafka).
//! `validate` must answer, and an image the settings reject that is planted
//! in a container list must be rejected.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

#[derive(Arbitrary, Debug)]
struct Mutation {
    at: u16,
    kind: u8,
    text: String,
}

fn paths(value: &Value, here: String, out: &mut Vec<String>) {
    out.push(here.clone());
    match value {
        Value::Object(map) => {
            map.iter().for_each(|(k, v)| paths(v, format!("{here}/{}", k.replace('~', "~0").replace('/', "~1")), out))
        }
        Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| paths(v, format!("{here}/{i}"), out)),
        _ => {}
    }
}

fuzz_target!(|mutations: Vec<Mutation>| {
    let mut request: Value =
        serde_json::from_str(include_str!("../../benches/fixtures/deployment-3-containers.json")).unwrap();
    let settings = json!({"registries": {"reject": ["evil.io"]}, "tags": {"reject": ["latest"]}});
    let mut planted = false;
    for m in mutations.iter().take(8) {
        let mut all = Vec::new();
        paths(&request["object"], "/object".into(), &mut all);
        let at = &all[usize::from(m.at) % all.len()];
        let replacement = match m.kind % 12 {
            7 => json!({"steps": [{"image": m.text}], "sidecars": m.text, "stepTemplate": {"image": 1}}),
            8 => json!({"tags": [{"from": {"kind": m.text, "name": m.text}, "name": m.text}], "from": {"name": m.text}}),
            9 => json!({"volumes": [{"containerDisk": {"image": m.text}}], "source": {"registry": {"url": m.text}}}),
            10 => json!({"module": m.text, "policies": {"p": {"module": m.text}}, "package": m.text}),
            11 => {
                // New kinds go at the end: the committed seeds pick by index.
                const KINDS: [(&str, &str); 9] = [
                    ("tekton.dev/v1", "Task"),
                    ("argoproj.io/v1alpha1", "Workflow"),
                    ("kubevirt.io/v1", "VirtualMachine"),
                    ("image.openshift.io/v1", "ImageStream"),
                    ("pkg.crossplane.io/v1", "Provider"),
                    ("policies.kubewarden.io/v1", "AdmissionPolicyGroup"),
                    ("template.openshift.io/v1", "Template"),
                    ("apps.openshift.io/v1", "DeploymentConfig"),
                    ("kafka.strimzi.io/v1beta2", "Kafka"),
                ];
                let (api_version, kind) = KINDS[usize::from(m.at) % KINDS.len()];
                if let Some(object) = request["object"].as_object_mut() {
                    object.insert("apiVersion".into(), json!(api_version));
                    object.insert("kind".into(), json!(kind));
                }
                continue;
            }
            0 => json!(m.text),
            1 => json!(i64::from(m.at) - 1000),
            2 => Value::Null,
            3 => json!([m.text]),
            4 => json!({"image": m.text}),
            5 => json!({"containers": [{"name": "x", "image": m.text}]}),
            _ => {
                planted = true;
                json!({"initContainers": [{"name": "planted", "image": "evil.io/planted:1"}]})
            }
        };
        if let Some(slot) = request.pointer_mut(at) {
            *slot = replacement;
        }
    }
    let payload = serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap();
    let raw = registry_guard::validate(&payload).expect("validate always answers");
    let answer: Value = serde_json::from_slice(&raw).unwrap();
    // A planted image survives only if a later mutation did not replace it;
    // wherever it still is, outside metadata, it must be rejected.
    if planted {
        let mut all = Vec::new();
        paths(&request["object"], "/object".into(), &mut all);
        // The object's own metadata is skipped by design (ObjectMeta holds no
        // images; an API server refuses one that does), and so is an OpenShift
        // Template's objects' own metadata (each object is read as itself).
        let template = request["object"]["kind"] == "Template";
        let skipped = |p: &str| {
            p.starts_with("/object/metadata")
                || (template
                    && p.strip_prefix("/object/objects/")
                        .and_then(|rest| rest.split_once('/'))
                        .is_some_and(|(_, rest)| rest.starts_with("metadata")))
        };
        let hits: Vec<&String> = all
            .iter()
            .filter(|p| !skipped(p) && request.pointer(p).is_some_and(|v| v == "evil.io/planted:1"))
            .collect();
        if !hits.is_empty() {
            assert_eq!(answer["accepted"], false, "a planted rejected image was accepted at {hits:?}");
        }
    }
});
