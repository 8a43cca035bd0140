//! A fake cluster for the policy's `kubewarden/kubernetes/list_resources_by_namespace`
//! lookups (`vulnerabilities`): the objects of `--reports` files, such as
//! `kubectl get vulnerabilityreports -A -o yaml` writes them (a `List` of
//! trivy-operator's or sbomscanner's `VulnerabilityReport`s), or
//! `kubectl get scanjobs -A -o yaml` (sbomscanner's `ScanJob`s, for scan
//! times). Several files, several documents per file, and single objects are
//! read alike.
//!
//! A list call is answered as policy-evaluator answers it: a List of the
//! objects of that apiVersion and kind in that namespace (empty when there
//! are none), `{"apiVersion", "kind": "<Kind>List", "metadata": {}, "items"}`,
//! each object pruned to the request's `field_masks` (dot paths, through
//! lists), as hosts from Kubewarden 1.33 prune it.

use serde_json::{Map, Value, json};

/// The objects of the `--reports` files.
#[derive(Debug, Default)]
pub struct FakeCluster {
    sources: Vec<String>,
    objects: Vec<Value>,
}

impl FakeCluster {
    /// Adds the objects of one file's YAML `text` (`source` names it in messages).
    pub fn read(&mut self, source: &str, text: &str) -> Result<(), String> {
        for document in serde_yaml::Deserializer::from_str(text) {
            let value: Value =
                serde::Deserialize::deserialize(document).map_err(|e| format!("{source}: not YAML: {e}"))?;
            let objects = match value {
                Value::Null => continue,
                Value::Object(ref map) if map.get("items").is_some_and(Value::is_array) => {
                    map["items"].as_array().cloned().unwrap_or_default()
                }
                Value::Object(_) => vec![value],
                _ => {
                    return Err(format!(
                        "{source}: expected a List or objects, such as `kubectl get vulnerabilityreports -A -o yaml` writes"
                    ));
                }
            };
            for (i, object) in objects.into_iter().enumerate() {
                for field in ["apiVersion", "kind"] {
                    if !object[field].is_string() {
                        return Err(format!("{source}: item {i} has no {field}"));
                    }
                }
                if !object["metadata"]["namespace"].is_string() {
                    return Err(format!(
                        "{source}: item {i} ({}) has no metadata.namespace",
                        object["kind"].as_str().unwrap_or_default()
                    ));
                }
                self.objects.push(object);
            }
        }
        self.sources.push(source.to_string());
        Ok(())
    }

    /// Answers a `list_resources_by_namespace` request (the SDK's JSON).
    pub fn list(&self, payload: &[u8]) -> Result<String, String> {
        let request: Value = serde_json::from_slice(payload)
            .map_err(|e| format!("the request is not a ListResourcesByNamespaceRequest: {e}"))?;
        let field = |name: &str| request[name].as_str().map(str::to_string);
        let (Some(api_version), Some(kind), Some(namespace)) =
            (field("api_version"), field("kind"), field("namespace"))
        else {
            return Err("the request has no api_version, kind or namespace".into());
        };
        if !request["label_selector"].is_null() || !request["field_selector"].is_null() {
            return Err("this runner does not answer list calls with selectors".into());
        }
        let masks: Vec<&str> =
            request["field_masks"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let items: Vec<Value> = self
            .objects
            .iter()
            .filter(|o| o["apiVersion"] == api_version && o["kind"] == kind && o["metadata"]["namespace"] == namespace)
            .map(|o| if masks.is_empty() { o.clone() } else { masked(o, &masks) })
            .collect();
        Ok(json!({"apiVersion": api_version, "kind": format!("{kind}List"), "metadata": {}, "items": items})
            .to_string())
    }
}

/// `object` with only the fields at `masks` (dot paths; a path goes through
/// every element of a list).
pub fn masked(object: &Value, masks: &[&str]) -> Value {
    let mut out = Value::Object(Map::new());
    for mask in masks {
        let path: Vec<&str> = mask.split('.').collect();
        copy(object, &mut out, &path);
    }
    out
}

fn copy(from: &Value, to: &mut Value, path: &[&str]) {
    let Some((first, rest)) = path.split_first() else { return };
    match from {
        Value::Object(map) => {
            let Some(value) = map.get(*first) else { return };
            let Value::Object(target) = to else { return };
            if rest.is_empty() {
                target.insert(first.to_string(), value.clone());
                return;
            }
            let slot = target.entry(first.to_string()).or_insert_with(|| match value {
                Value::Array(items) => Value::Array(vec![Value::Object(Map::new()); items.len()]),
                Value::Object(_) => Value::Object(Map::new()),
                other => other.clone(),
            });
            copy(value, slot, rest);
        }
        Value::Array(items) => {
            let Value::Array(targets) = to else { return };
            for (item, target) in items.iter().zip(targets.iter_mut()) {
                match item {
                    Value::Object(_) => copy(item, target, path),
                    other => *target = other.clone(),
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORTS: &str = "
apiVersion: v1
kind: List
items:
- apiVersion: aquasecurity.github.io/v1alpha1
  kind: VulnerabilityReport
  metadata: {name: replicaset-app-app, namespace: team-a, uid: x}
  report:
    artifact: {repository: acme/app, tag: '1'}
    vulnerabilities:
    - {vulnerabilityID: CVE-1, severity: HIGH, title: long, links: []}
- apiVersion: aquasecurity.github.io/v1alpha1
  kind: VulnerabilityReport
  metadata: {name: other, namespace: team-b}
";

    fn ask(cluster: &FakeCluster, request: Value) -> Value {
        serde_json::from_str(&cluster.list(request.to_string().as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn lists_hold_the_kind_of_the_namespace_pruned_to_the_masks() {
        let mut cluster = FakeCluster::default();
        cluster.read("reports.yaml", REPORTS).unwrap();
        let answer = ask(
            &cluster,
            json!({"api_version": "aquasecurity.github.io/v1alpha1", "kind": "VulnerabilityReport", "namespace": "team-a",
                   "label_selector": null, "field_selector": null,
                   "field_masks": ["metadata.name", "report.vulnerabilities.vulnerabilityID", "report.artifact"]}),
        );
        assert_eq!(answer["kind"], "VulnerabilityReportList");
        assert_eq!(
            answer["items"],
            json!([{"metadata": {"name": "replicaset-app-app"},
                    "report": {"artifact": {"repository": "acme/app", "tag": "1"}, "vulnerabilities": [{"vulnerabilityID": "CVE-1"}]}}])
        );
        let other = ask(&cluster, json!({"api_version": "v1", "kind": "Pod", "namespace": "team-a"}));
        assert_eq!(other["items"], json!([]));
    }

    #[test]
    fn files_that_are_not_lists_of_namespaced_objects_are_errors() {
        let mut cluster = FakeCluster::default();
        assert!(cluster.read("r.yaml", "- a").unwrap_err().contains("expected a List or objects"));
        assert!(
            cluster
                .read("r.yaml", "kind: X\napiVersion: v1\nmetadata: {name: a}")
                .unwrap_err()
                .contains("no metadata.namespace")
        );
    }
}
