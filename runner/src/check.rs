//! `registry-guard check`: evaluates documents against a policy instance and
//! reports one verdict per object.

use serde::Serialize;
use serde_json::Value;

use crate::admission::{AdmissionResponse, Document, classify, create_request};
use crate::capabilities::HostCall;
use crate::host::PolicyInstance;
use crate::manifests::Sourced;
use crate::patch;

/// The verdict on one object (or one admission request).
#[derive(Debug, Serialize)]
pub struct Verdict {
    pub source: String,
    pub document: usize,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// When the policy mutated the object: the JSON patch from the object
    /// to its mutation, and the mutated object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<Vec<Value>>,
    #[serde(rename = "mutatedObject", skip_serializing_if = "Option::is_none")]
    pub mutated_object: Option<Value>,
    /// The host capabilities the policy called, and their answers.
    #[serde(rename = "hostCalls", skip_serializing_if = "Vec::is_empty")]
    pub host_calls: Vec<HostCall>,
    /// The line of its file where the object's document starts, and the
    /// document's text (for the line of each field: `report.rs`).
    pub line: usize,
    #[serde(skip)]
    pub text: String,
    /// For AdmissionReview/AdmissionRequest inputs: the response as kwctl prints it.
    #[serde(rename = "admissionResponse", skip_serializing_if = "Option::is_none")]
    pub admission_response: Option<AdmissionResponse>,
}

impl Verdict {
    /// `ok   Deployment prod/api` or `deny Deployment prod/api: message`.
    pub fn line(&self) -> String {
        crate::admission::verdict_line(
            &self.kind,
            self.namespace.as_deref(),
            self.name.as_deref(),
            (&self.source, self.document),
            self.allowed,
            self.message.as_deref(),
            self.patch.is_some(),
        )
    }
}

/// Evaluates every document; an input error names its file and document.
pub fn check(instance: &PolicyInstance, settings: &Value, documents: Vec<Sourced>) -> Result<Vec<Verdict>, String> {
    let mut verdicts = Vec::new();
    for sourced in documents {
        let where_ = format!("{}: document {}", sourced.source, sourced.index);
        for document in classify(sourced.value).map_err(|e| format!("{where_}: {e}"))? {
            let (request, is_admission) = match document {
                Document::Object(object) => {
                    let uid = format!("registry-guard-check-{}", verdicts.len() + 1);
                    let object = crate::embedded::json_manifests(&object).unwrap_or(object);
                    (create_request(&object, &uid), false)
                }
                Document::Request(request) => (request, true),
            };
            let response = instance.validate(&request, settings);
            let host_calls = instance.take_host_calls();
            let original = request.get("object").unwrap_or(&Value::Null);
            // As policy-evaluator: a mutated object equal to the request's
            // is no patch at all (no `patchType`).
            let patch = response
                .mutated_object
                .as_ref()
                .map(|mutated| patch::diff(original, mutated))
                .filter(|ops| !ops.is_empty());
            let text = |pointer: &str| request.pointer(pointer).and_then(Value::as_str).map(str::to_string);
            let uid = text("/uid").unwrap_or_default();
            verdicts.push(Verdict {
                source: sourced.source.clone(),
                document: sourced.index,
                line: sourced.line,
                text: sourced.text.clone(),
                kind: text("/kind/kind").unwrap_or_else(|| "object".into()),
                namespace: text("/namespace").or_else(|| text("/object/metadata/namespace")),
                name: text("/name").or_else(|| text("/object/metadata/name")),
                allowed: response.accepted,
                message: response.message.clone(),
                warnings: response.warnings.clone().unwrap_or_default(),
                admission_response: is_admission.then(|| AdmissionResponse::new(&uid, &response, patch.as_deref())),
                patch,
                mutated_object: response.mutated_object,
                host_calls,
            });
        }
    }
    Ok(verdicts)
}
