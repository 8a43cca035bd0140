//! The playground's engine: settings and manifests in, verdicts out, on the
//! policy's own code path (`registry_guard::validate_on`, the function
//! policy.wasm's `validate` calls) and the runner's own front end (its
//! manifest reader, admission requests, fake registry and verdict lines), so
//! that the page shows what `registry-guard check` prints.
//!
//! Compiled for `wasm32-unknown-unknown` with wasm-bindgen (`check_json`),
//! and natively for the parity test (`e2e-tests/tests/e2e/playground.rs`).
//! Host lookups cannot run in a browser: digests are answered from the
//! user's fake answers (the runner's `--digests` format), signatures and
//! image configs fail, and the page says so.

use registry_guard_runner::admission::{Document, ValidationResponse, classify, create_request, verdict_line};
use registry_guard_runner::capabilities::{Answer, Host};
use registry_guard_runner::manifests::parse_documents;
use registry_guard_runner::patch;
use serde::Serialize;
use serde_json::{Value, json};
use wasm_bindgen::prelude::wasm_bindgen;

use registry_guard_runner::locate;

/// Everything the page shows.
#[derive(Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Input that is not YAML or JSON: which input, the line, the error.
    pub input_errors: Vec<InputError>,
    /// The settings' errors, each at its path (and its line, when found).
    pub settings_errors: Vec<SettingsError>,
    pub verdicts: Vec<Verdict>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct InputError {
    /// `settings`, `manifests` or `answers`.
    pub input: &'static str,
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct SettingsError {
    /// `registries.allow[0]`; empty for the settings as a whole.
    pub path: String,
    pub line: Option<usize>,
    /// The error as `registry-guard settings` prints it.
    pub message: String,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// The line `registry-guard check` prints.
    pub line: String,
    /// `ok`, `deny` or `mutated`.
    pub status: &'static str,
    pub warnings: Vec<String>,
    /// The JSON patch, when mutated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<Vec<Value>>,
    /// The host lookups the policy made, answered here ("image → answer").
    pub host_calls: Vec<String>,
}

/// The page's entry point: `check` as JSON.
#[wasm_bindgen]
pub fn check_json(settings: &str, manifests: &str, answers: &str) -> String {
    serde_json::to_string(&check(settings, manifests, answers)).unwrap_or_else(|e| {
        json!({"inputErrors": [{"input": "settings", "line": null, "message": e.to_string()}], "settingsErrors": [], "verdicts": []})
            .to_string()
    })
}

/// Evaluates every object of `manifests` under `settings` (YAML or JSON),
/// digests answered from `answers` (`image: digest`, as `--digests`).
pub fn check(settings: &str, manifests: &str, answers: &str) -> Report {
    let mut report = Report::default();
    let settings_value = match read_settings(settings) {
        Ok(value) => Some(value),
        Err(e) => {
            report.input_errors.push(input_error("settings", e));
            None
        }
    };
    let host = if answers.trim().is_empty() {
        Some(Host::default())
    } else {
        match Host::with_digests("fake answers", answers) {
            Ok(host) => Some(host),
            Err(e) => {
                report.input_errors.push(input_error("answers", e));
                None
            }
        }
    };
    let documents = match parse_documents("manifests", manifests) {
        Ok(documents) => documents,
        Err(e) => {
            report.input_errors.push(input_error("manifests", e));
            Vec::new()
        }
    };
    let (Some(settings_value), Some(host)) = (settings_value, host) else { return report };
    if let Err(errors) = registry_guard::settings::check_json(settings_value.to_string().as_bytes()) {
        report.settings_errors = errors.0.iter().map(|e| settings_error(settings, e)).collect();
        return report;
    }
    for sourced in documents {
        let documents = match classify(sourced.value) {
            Ok(documents) => documents,
            Err(e) => {
                report.input_errors.push(InputError {
                    input: "manifests",
                    line: None,
                    message: format!("document {}: {e}", sourced.index),
                });
                continue;
            }
        };
        for document in documents {
            let request = match document {
                Document::Object(object) => {
                    // As `registry-guard check`: YAML Argo manifests read first.
                    let object = registry_guard_runner::embedded::json_manifests(&object).unwrap_or(object);
                    create_request(&object, &format!("registry-guard-check-{}", report.verdicts.len() + 1))
                }
                Document::Request(request) => request,
            };
            report.verdicts.push(evaluate(&host, &settings_value, &request, (&sourced.source, sourced.index)));
        }
    }
    report
}

/// One object through the policy, as the runner's `check` evaluates it.
fn evaluate(host: &Host, settings: &Value, request: &Value, (source, index): (&str, usize)) -> Verdict {
    let payload = json!({"request": request, "settings": settings}).to_string();
    let mut call = |operation: &str, question: &[u8]| {
        host.answer("kubewarden", "oci", operation, question).map_err(|e| registry_guard::host::host_error(&e))
    };
    let response: ValidationResponse = registry_guard::validate_on(payload.as_bytes(), &mut call)
        .ok()
        .and_then(|raw| serde_json::from_slice(&raw).ok())
        .unwrap_or_else(|| ValidationResponse {
            message: Some("the policy gave no ValidationResponse".into()),
            ..ValidationResponse::default()
        });
    let original = request.get("object").unwrap_or(&Value::Null);
    let patch = response.mutated_object.as_ref().map(|m| patch::diff(original, m)).filter(|ops| !ops.is_empty());
    let text = |pointer: &str| request.pointer(pointer).and_then(Value::as_str);
    let line = verdict_line(
        text("/kind/kind").unwrap_or("object"),
        text("/namespace").or_else(|| text("/object/metadata/namespace")),
        text("/name").or_else(|| text("/object/metadata/name")),
        (source, index),
        response.accepted,
        response.message.as_deref(),
        patch.is_some(),
    );
    let status = match (response.accepted, &patch) {
        (false, _) => "deny",
        (true, Some(_)) => "mutated",
        (true, None) => "ok",
    };
    let host_calls = host
        .take_calls()
        .into_iter()
        .map(|call| match call.answer {
            Answer::Payload(payload) => format!("{} {:?} → {payload}", short(&call.capability), call.request),
            Answer::Error(error) => format!("{} {:?} → error: {error}", short(&call.capability), call.request),
        })
        .collect();
    Verdict { line, status, warnings: response.warnings.unwrap_or_default(), patch, host_calls }
}

/// `kubewarden/oci/v1/manifest_digest` → `manifest_digest`.
fn short(capability: &str) -> &str {
    capability.rsplit('/').next().unwrap_or(capability)
}

/// The settings text as the host sends it: one YAML or JSON document, `{}`
/// when empty.
fn read_settings(text: &str) -> Result<Value, String> {
    let mut documents = parse_documents("settings", text)?;
    match documents.len() {
        0 => Ok(json!({})),
        1 => Ok(documents.remove(0).value),
        n => Err(format!("settings must be one document, found {n}")),
    }
}

/// An input error, with the line serde_yaml names (`… at line 3 column 5`).
fn input_error(input: &'static str, message: String) -> InputError {
    let line = message
        .rsplit_once(" at line ")
        .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok());
    InputError { input, line, message }
}

/// A settings error (`path: message`, or `unknown setting "path"; …`) with
/// the line of its path in the settings text.
fn settings_error(text: &str, error: &str) -> SettingsError {
    let path = if let Some(rest) = error.strip_prefix("unknown setting \"") {
        rest.split('"').next().unwrap_or_default().to_string()
    } else {
        match error.split_once(": ") {
            Some((path, _)) if !path.contains(' ') => path.to_string(),
            _ => String::new(),
        }
    };
    SettingsError { line: locate::line_of(text, &path), path, message: error.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: prod}\nspec:\n  template:\n    spec:\n      initContainers: [{name: init, image: docker.io/library/busybox:1.36}]\n      containers: [{name: web, image: public.ecr.aws/nginx/nginx:1.27}]\n";

    #[test]
    fn verdicts_are_the_runners_lines() {
        let report = check("registries:\n  allow: [public.ecr.aws]\n", DEPLOYMENT, "");
        assert_eq!(report.input_errors, []);
        assert_eq!(report.verdicts.len(), 1);
        assert_eq!(report.verdicts[0].status, "deny");
        assert_eq!(
            report.verdicts[0].line,
            "deny Deployment prod/web: spec.template.spec.initContainers[0].image \"docker.io/library/busybox:1.36\": registry \"docker.io\" is not allowed (registries.allow: public.ecr.aws)"
        );
        let report = check("registries:\n  allow: [public.ecr.aws, docker.io]\n", DEPLOYMENT, "");
        assert_eq!(report.verdicts[0].line, "ok   Deployment prod/web");
    }

    #[test]
    fn settings_errors_stand_at_their_path_and_line() {
        let report =
            check("registries:\n  allow:\n    - public.ecr.aws\n    - \"bad host/x\"\ntag: {}\n", DEPLOYMENT, "");
        assert_eq!(report.verdicts, []);
        let errors: Vec<(&str, Option<usize>)> =
            report.settings_errors.iter().map(|e| (e.path.as_str(), e.line)).collect();
        assert_eq!(errors, [("tag", Some(5)), ("registries.allow[1]", Some(4))]);
        assert!(report.settings_errors[1].message.starts_with("registries.allow[1]: "));
    }

    #[test]
    fn yaml_errors_name_their_line() {
        let report = check("registries:\n  allow: [a\n", DEPLOYMENT, "");
        assert_eq!(report.input_errors.len(), 1);
        assert_eq!(report.input_errors[0].input, "settings");
        assert!(report.input_errors[0].line.is_some(), "{:?}", report.input_errors);
        let report = check("{}", "kind: Pod\nmetadata: {name: a\n", "");
        assert_eq!(report.input_errors[0].input, "manifests");
    }

    #[test]
    fn digests_come_from_the_fake_answers() {
        let settings = "digests: {pin: required}\n";
        let pod =
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: nginx:1.27}]\n";
        let digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
        let report = check(settings, pod, &format!("nginx:1.27: {digest}\n"));
        assert_eq!(report.verdicts[0].status, "mutated");
        assert_eq!(report.verdicts[0].line, "ok   Pod p (mutated)");
        assert_eq!(report.verdicts[0].host_calls.len(), 1);
        let report = check(settings, pod, "");
        assert_eq!(report.verdicts[0].status, "deny");
        assert!(report.verdicts[0].line.contains("its digest could not be looked up"), "{}", report.verdicts[0].line);
    }
}
