//! What `check` reads that the policy cannot: an Argo Workflows
//! `resource.manifest` written in YAML (the policy has no YAML reader and
//! reads only JSON manifests; in a cluster it warns, and the object is
//! admitted on its own when the workflow creates it). Before the policy sees
//! an Argo object, each YAML manifest that is a mapping is rewritten as the
//! same object in JSON, so that its images are checked before `kubectl
//! apply`, named `….resource.manifest.spec.…` as a JSON manifest's are.

use serde_json::Value;

/// The Argo kinds whose templates may hold `resource` manifests.
const ARGO_KINDS: &[&str] = &["Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow"];

/// `object` with its YAML resource manifests written as JSON, or `None`
/// when it is not an Argo object or has none.
pub fn json_manifests(object: &Value) -> Option<Value> {
    let group = object.get("apiVersion")?.as_str()?.rsplit_once('/')?.0;
    let kind = object.get("kind")?.as_str()?;
    if group != "argoproj.io" || !ARGO_KINDS.contains(&kind) {
        return None;
    }
    let mut copy = object.clone();
    rewrite(&mut copy).then_some(copy)
}

/// Rewrites every YAML `resource.manifest` below `value`; true if any was.
fn rewrite(value: &mut Value) -> bool {
    match value {
        Value::Object(map) => {
            let mut changed = false;
            if let Some(Value::Object(resource)) = map.get_mut("resource")
                && let Some(Value::String(manifest)) = resource.get_mut("manifest")
                && !manifest.trim_start().starts_with('{')
                && let Ok(parsed @ Value::Object(_)) = serde_yaml::from_str::<Value>(manifest)
            {
                *manifest = parsed.to_string();
                changed = true;
            }
            // Every value is visited (no short circuit).
            for v in map.values_mut() {
                changed |= rewrite(v);
            }
            changed
        }
        Value::Array(items) => {
            let mut changed = false;
            for v in items {
                changed |= rewrite(v);
            }
            changed
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_manifests_of_argo_objects_become_json() {
        let workflow = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {"templates": [
            {"resource": {"action": "create", "manifest": "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers:\n      - image: python:alpine3.23\n"}},
            {"resource": {"action": "patch", "manifest": "- op: add\n  path: /metadata/annotations/foo\n  value: bar\n"}},
            {"resource": {"manifest": "{\"kind\": \"Job\"}"}}]}});
        let rewritten = json_manifests(&workflow).unwrap();
        let manifest: Value =
            serde_json::from_str(rewritten["spec"]["templates"][0]["resource"]["manifest"].as_str().unwrap()).unwrap();
        assert_eq!(manifest["spec"]["template"]["spec"]["containers"][0]["image"], "python:alpine3.23");
        // A patch (a list) and a JSON manifest are left as written.
        assert_eq!(rewritten["spec"]["templates"][1], workflow["spec"]["templates"][1]);
        assert_eq!(rewritten["spec"]["templates"][2], workflow["spec"]["templates"][2]);
        // Other kinds, and Argo objects without YAML manifests, are not copied.
        let job = json!({"apiVersion": "batch/v1", "kind": "Job", "spec": {"resource": {"manifest": "kind: Pod\n"}}});
        assert_eq!(json_manifests(&job), None);
        assert_eq!(json_manifests(&json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow"})), None);
    }
}
