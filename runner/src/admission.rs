//! Turns Kubernetes objects into the AdmissionRequests an API server would
//! send for them, and policy answers into AdmissionResponses as kwctl
//! prints them.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The guest's `ValidationResponse`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ValidationResponse {
    pub accepted: bool,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub code: Option<u16>,
    #[serde(default)]
    pub mutated_object: Option<Value>,
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
    #[serde(default)]
    pub audit_annotations: Option<Value>,
}

/// One verdict as `registry-guard check` prints it: `ok   Deployment
/// prod/api`, `ok   Pod a (mutated)`, `deny Pod dev/debug: message`; an
/// object without a name is named by its source and document.
pub fn verdict_line(
    kind: &str,
    namespace: Option<&str>,
    name: Option<&str>,
    (source, document): (&str, usize),
    allowed: bool,
    message: Option<&str>,
    mutated: bool,
) -> String {
    let mut object = kind.to_string();
    match (namespace, name) {
        (Some(ns), Some(name)) => object.push_str(&format!(" {ns}/{name}")),
        (None, Some(name)) => object.push_str(&format!(" {name}")),
        _ => object.push_str(&format!(" ({source}#{document})")),
    }
    match (allowed, message) {
        (true, _) if mutated => format!("ok   {object} (mutated)"),
        (true, _) => format!("ok   {object}"),
        (false, Some(message)) => format!("deny {object}: {message}"),
        (false, None) => format!("deny {object}"),
    }
}

/// `group`, `version` of an `apiVersion` (`apps/v1`, or `v1` for the core group).
fn group_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

/// The REST resource of a kind, as the API server names it (lowercase plural).
pub fn resource_of_kind(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    // The irregular plurals among kinds that carry images; the rest follow
    // the API server's default pluralization of CRD kinds.
    match lower.as_str() {
        "endpoints" => lower,
        _ if lower.ends_with('s') || lower.ends_with('x') || lower.ends_with("ch") || lower.ends_with("sh") => {
            format!("{lower}es")
        }
        _ if lower.ends_with('y') && !lower.ends_with("ay") && !lower.ends_with("ey") && !lower.ends_with("oy") => {
            format!("{}ies", &lower[..lower.len() - 1])
        }
        _ => format!("{lower}s"),
    }
}

/// A CREATE AdmissionRequest for `object`, as `kubectl apply` of a new object
/// produces it. `uid` identifies the request in the response.
pub fn create_request(object: &Value, uid: &str) -> Value {
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or_default();
    let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let (group, version) = group_version(api_version);
    let metadata = object.get("metadata");
    let name = metadata.and_then(|m| m.get("name")).cloned().unwrap_or(Value::Null);
    let namespace = metadata.and_then(|m| m.get("namespace")).cloned().unwrap_or(Value::Null);
    let gvk = json!({"group": group, "version": version, "kind": kind});
    let gvr = json!({"group": group, "version": version, "resource": resource_of_kind(kind)});
    json!({
        "uid": uid,
        "kind": gvk,
        "resource": gvr,
        "requestKind": gvk,
        "requestResource": gvr,
        "name": name,
        "namespace": namespace,
        "operation": "CREATE",
        "userInfo": {"username": "registry-guard-check", "groups": ["system:authenticated"]},
        "object": object,
        "oldObject": null,
        "dryRun": true,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
    })
}

/// What a document on the command line is.
pub enum Document {
    /// A Kubernetes object to wrap in a CREATE request.
    Object(Value),
    /// An AdmissionReview (`{"request": …}`) or a bare AdmissionRequest.
    Request(Value),
}

/// The fields policy-evaluator's `AdmissionRequest` cannot do without:
/// kwctl refuses a request lacking one (`cannot build AdmissionRequest
/// object from given input: missing field `uid``), so the runner does too.
fn check_request(request: &Value) -> Result<(), String> {
    let strings = |value: &Value, fields: &[&str]| {
        fields.iter().find(|f| !value.get(**f).is_some_and(Value::is_string)).map(|f| f.to_string())
    };
    let missing = strings(request, &["uid", "operation"])
        .or_else(|| ["kind", "resource", "userInfo"].into_iter().find(|f| !request[*f].is_object()).map(String::from))
        .or_else(|| strings(&request["kind"], &["group", "version", "kind"]).map(|f| format!("kind.{f}")))
        .or_else(|| strings(&request["resource"], &["group", "version", "resource"]).map(|f| format!("resource.{f}")));
    match missing {
        Some(field) => Err(format!(
            "not an AdmissionRequest kwctl accepts: no `{field}` (a string, or for kind, resource and userInfo a mapping)"
        )),
        None => Ok(()),
    }
}

/// Tells objects from admission requests, as `kwctl run --request-path`
/// does (an AdmissionReview names its kind); unpacks `List` kinds.
pub fn classify(document: Value) -> Result<Vec<Document>, String> {
    let Some(map) = document.as_object() else {
        return Err("expected a mapping (a Kubernetes object or an AdmissionReview)".into());
    };
    let kind = map.get("kind");
    if kind.and_then(Value::as_str) == Some("AdmissionReview") {
        return match map.get("request") {
            Some(request) if request.is_object() => {
                check_request(request)?;
                Ok(vec![Document::Request(request.clone())])
            }
            _ => Err("an AdmissionReview without a request".into()),
        };
    }
    if kind.is_none() && map.contains_key("request") {
        return Err("a request without `kind: AdmissionReview` (and `apiVersion: admission.k8s.io/v1`), \
                    which kwctl reads as a bare AdmissionRequest and refuses"
            .into());
    }
    if kind.is_some_and(Value::is_object) && map.contains_key("operation") {
        check_request(&document)?;
        return Ok(vec![Document::Request(document)]);
    }
    match kind.and_then(Value::as_str) {
        None | Some("") => Err("no kind; every manifest needs apiVersion and kind".into()),
        Some(kind) if kind.ends_with("List") && map.get("items").is_some_and(Value::is_array) => {
            let items = map["items"].as_array().cloned().unwrap_or_default();
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                out.extend(classify(item).map_err(|e| format!("items[{i}]: {e}"))?);
            }
            Ok(out)
        }
        Some(_) if !map.get("apiVersion").is_some_and(Value::is_string) => {
            Err("no apiVersion; every manifest needs apiVersion and kind".into())
        }
        Some(_) => Ok(vec![Document::Object(document)]),
    }
}

/// An AdmissionResponse as kwctl prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    pub uid: String,
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_annotations: Option<Value>,
    /// `JSONPatch` when the policy mutated the object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<String>,
    /// The JSON patch, base64-encoded, as the API server receives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Status {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
}

impl AdmissionResponse {
    pub fn new(uid: &str, response: &ValidationResponse, patch: Option<&[Value]>) -> Self {
        let status = (response.message.is_some() || response.code.is_some())
            .then(|| Status { message: response.message.clone(), code: response.code });
        AdmissionResponse {
            uid: uid.to_string(),
            allowed: response.accepted,
            status,
            warnings: response.warnings.clone(),
            audit_annotations: response.audit_annotations.clone(),
            patch_type: patch.map(|_| "JSONPatch".to_string()),
            patch: patch.map(|ops| crate::patch::base64(&serde_json::to_vec(ops).unwrap_or_default())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_lowercase_plurals() {
        let cases = [
            ("Pod", "pods"),
            ("Deployment", "deployments"),
            ("ReplicaSet", "replicasets"),
            ("StatefulSet", "statefulsets"),
            ("DaemonSet", "daemonsets"),
            ("CronJob", "cronjobs"),
            ("ReplicationController", "replicationcontrollers"),
            ("PodTemplate", "podtemplates"),
            ("Ingress", "ingresses"),
            ("NetworkPolicy", "networkpolicies"),
            ("Gateway", "gateways"),
        ];
        for (kind, resource) in cases {
            assert_eq!(resource_of_kind(kind), resource);
        }
    }

    #[test]
    fn create_request_carries_gvk_gvr_and_object() {
        let object =
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "prod"}});
        let request = create_request(&object, "u1");
        assert_eq!(request["kind"], json!({"group": "apps", "version": "v1", "kind": "Deployment"}));
        assert_eq!(request["resource"]["resource"], "deployments");
        assert_eq!(request["operation"], "CREATE");
        assert_eq!(request["namespace"], "prod");
        assert_eq!(request["object"], object);
    }

    #[test]
    fn documents_are_classified() {
        let list = json!({"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod"}, {"apiVersion": "v1", "kind": "Pod"}]});
        assert_eq!(classify(list).unwrap().len(), 2);
        let request = create_request(&json!({"apiVersion": "v1", "kind": "Pod"}), "x");
        let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request});
        assert!(matches!(classify(review).unwrap()[0], Document::Request(_)));
        assert!(matches!(classify(request.clone()).unwrap()[0], Document::Request(_)));
        // What kwctl refuses: a review that does not say so, a request without
        // the fields policy-evaluator requires.
        assert!(classify(json!({"request": request})).err().unwrap().contains("without `kind: AdmissionReview`"));
        let bare = json!({"uid": "x", "kind": {"kind": "Pod"}, "operation": "CREATE"});
        assert_eq!(
            classify(bare).err().unwrap(),
            "not an AdmissionRequest kwctl accepts: no `resource` (a string, or for kind, resource and userInfo a mapping)"
        );
        let mut no_uid = request.clone();
        no_uid.as_object_mut().unwrap().remove("uid");
        let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": no_uid});
        assert!(classify(review).err().unwrap().contains("no `uid`"));
        assert_eq!(
            classify(json!({"metadata": {}})).err().unwrap(),
            "no kind; every manifest needs apiVersion and kind"
        );
        assert!(classify(json!({"kind": "Pod"})).err().unwrap().starts_with("no apiVersion"));
        assert!(classify(json!([1])).is_err());
    }
}
