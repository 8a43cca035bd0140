//! The host capabilities this runner answers, in place of a PolicyServer's:
//!
//! - `kubewarden/tracing/log`: accepted and dropped;
//! - `kubewarden/oci/v1/manifest_digest`: answered from a fake registry, a
//!   YAML file of `image: digest` (or `image: {error: message}`) given with
//!   `--digests`. Its keys are normalized as the policy normalizes images
//!   (`nginx:1.25` is `docker.io/library/nginx:1.25`), so either spelling
//!   matches. An image not in the file is answered with a "manifest
//!   unknown" error, as a registry answers it;
//! - `kubewarden/oci/v2/verify`: answered by a fake Sigstore verifier, a
//!   YAML file of signed images given with `--sigstore` (see `sigstore.rs`);
//! - `kubewarden/oci/v1/oci_manifest` and `kubewarden/oci/v1/oci_manifest_config`:
//!   answered from a YAML file of image configs (single images and
//!   multi-platform indexes) given with `--image-configs` (see `image_configs.rs`);
//! - `kubewarden/kubernetes/list_resources_by_namespace`: answered from the
//!   objects of `--reports` files (`reports.rs`): scan reports and ScanJobs;
//! - anything else: an error naming the capability.
//!
//! A failed lookup reaches the guest as policy-evaluator forwards it
//! (`runtimes/callback.rs`, in kwctl and the PolicyServer alike): the
//! error prefixed with `Callback evaluation failure: `
//! ([`CALLBACK_FAILURE`]). The record keeps the error as the host's
//! callback handler gave it, as kwctl's sessions do.
//!
//! Every call but logging is recorded (what was asked, what was answered),
//! for the runner's output and for `--record-host-calls`, which writes the
//! session file `kwctl run --replay-host-capabilities-interactions` reads.

use std::collections::HashMap;
use std::sync::Mutex;

use registry_guard::references::image::Image;

use crate::image_configs::FakeConfigs;
use crate::reports::FakeCluster;
use crate::sigstore::{FakeSigstore, Request};
use serde::Serialize;
use serde_json::{Value, json};

/// The capabilities this runner fakes.
pub const MANIFEST_DIGEST: &str = "kubewarden/oci/v1/manifest_digest";
pub const VERIFY: &str = "kubewarden/oci/v2/verify";
pub const MANIFEST_CONFIG: &str = "kubewarden/oci/v1/oci_manifest_config";
pub const MANIFEST: &str = "kubewarden/oci/v1/oci_manifest";
pub const LIST_BY_NAMESPACE: &str = "kubewarden/kubernetes/list_resources_by_namespace";

/// What policy-evaluator puts before a callback handler's error when it
/// hands it to the guest (`Callback evaluation failure: {e:?}`; for an
/// error without a cause or backtrace, `{e:?}` is the message).
pub const CALLBACK_FAILURE: &str = "Callback evaluation failure: ";

/// One answered host call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostCall {
    /// `binding/namespace/operation`.
    pub capability: String,
    /// The request as the policy sent it (for manifest digests, the image).
    pub request: String,
    /// The answer's payload, or the error the policy got.
    #[serde(flatten)]
    pub answer: Answer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Answer {
    Payload(String),
    Error(String),
}

/// A fake registry's answer for one image.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Digest(String),
    Error(String),
}

/// The host side of one policy instance.
#[derive(Debug, Default)]
pub struct Host {
    /// `None`: no `--digests` file; lookups fail saying so.
    registry: Option<FakeRegistry>,
    /// `None`: no `--sigstore` file; verifications fail saying so.
    sigstore: Option<FakeSigstore>,
    /// `None`: no `--image-configs` file; config lookups fail saying so.
    configs: Option<FakeConfigs>,
    /// `None`: no `--reports` file; list calls fail saying so.
    cluster: Option<FakeCluster>,
    /// Capabilities answered with a fixed payload, at once and unrecorded
    /// (the bench's instant host).
    fixed: Vec<(String, Vec<u8>)>,
    log: Mutex<Vec<HostCall>>,
}

#[derive(Debug)]
struct FakeRegistry {
    source: String,
    entries: HashMap<String, Entry>,
}

/// `nginx:1.25` → `docker.io/library/nginx:1.25`; `None` when not an image.
fn normalized(image: &str) -> Option<String> {
    Image::parse(image).ok().map(|image| image.to_string())
}

impl Host {
    /// A host answering digests from the YAML text of a `--digests` file
    /// (`source` names it in messages).
    pub fn with_digests(source: &str, text: &str) -> Result<Host, String> {
        let document: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| format!("{source}: not YAML: {e}"))?;
        let serde_yaml::Value::Mapping(mapping) = document else {
            return Err(format!("{source}: expected a mapping of image: digest"));
        };
        let mut entries = HashMap::new();
        for (key, value) in mapping {
            let Some(key) = key.as_str() else {
                return Err(format!("{source}: every key must be an image, found {key:?}"));
            };
            let image = Image::parse(key).map_err(|e| format!("{source}: {key:?}: {e}"))?;
            if image.digest.is_some() {
                return Err(format!("{source}: {key:?}: keys name tags; this one already has a digest"));
            }
            let entry = match &value {
                serde_yaml::Value::String(digest) => Entry::Digest(digest.clone()),
                serde_yaml::Value::Mapping(m) => match m.get("error").and_then(serde_yaml::Value::as_str) {
                    Some(message) if m.len() == 1 => Entry::Error(message.to_string()),
                    _ => return Err(format!("{source}: {key:?}: expected a digest or {{error: message}}")),
                },
                _ => return Err(format!("{source}: {key:?}: expected a digest or {{error: message}}")),
            };
            if entries.insert(image.to_string(), entry).is_some() {
                return Err(format!("{source}: {key:?} names an image already in the file"));
            }
        }
        Ok(Host { registry: Some(FakeRegistry { source: source.to_string(), entries }), ..Host::default() })
    }

    /// This host, also answering signature verifications from the YAML
    /// text of a `--sigstore` file (`source` names it in messages).
    pub fn with_sigstore(self, source: &str, text: &str) -> Result<Host, String> {
        Ok(Host { sigstore: Some(FakeSigstore::read(source, text)?), ..self })
    }

    /// This host, also answering image config lookups from the YAML text of
    /// an `--image-configs` file (`source` names it in messages).
    pub fn with_image_configs(self, source: &str, text: &str) -> Result<Host, String> {
        Ok(Host { configs: Some(FakeConfigs::read(source, text)?), ..self })
    }

    /// This host, also answering list calls from the objects of the YAML
    /// text of a `--reports` file (`source` names it in messages); files add up.
    pub fn with_reports(mut self, source: &str, text: &str) -> Result<Host, String> {
        self.cluster.get_or_insert_with(FakeCluster::default).read(source, text)?;
        Ok(self)
    }

    /// This host, answering every call of `capability` with `payload` at
    /// once, without recording it: a host whose cost is nothing, for the
    /// bench.
    pub fn with_fixed_answer(mut self, capability: &str, payload: &[u8]) -> Host {
        self.fixed.push((capability.to_string(), payload.to_vec()));
        self
    }

    /// Answers one waPC host call from the guest.
    pub fn answer(&self, binding: &str, namespace: &str, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
        let capability = format!("{binding}/{namespace}/{operation}");
        if let Some((_, answer)) = self.fixed.iter().find(|(fixed, _)| *fixed == capability) {
            return Ok(answer.clone());
        }
        if capability == "kubewarden/tracing/log" {
            return Ok(Vec::new());
        }
        let asked = || String::from_utf8_lossy(payload).into_owned();
        // What was asked, what the capability's handler answered, and whether
        // the call reached a handler (whose errors policy-evaluator prefixes).
        let (request, result, handled) = match capability.as_str() {
            MANIFEST_DIGEST => match serde_json::from_slice::<String>(payload) {
                Ok(image) => {
                    let result = self.manifest_digest(&image);
                    (image, result, true)
                }
                Err(e) => (asked(), Err(format!("the request is not an image as a JSON string: {e}")), false),
            },
            VERIFY => (asked(), self.verify(payload), true),
            LIST_BY_NAMESPACE => match &self.cluster {
                Some(cluster) => match cluster.list(payload) {
                    Ok(answer) => (asked(), Ok(answer), true),
                    Err(e) => (asked(), Err(e), false),
                },
                None => (
                    asked(),
                    Err("cannot list cluster objects: no --reports file was given to the runner".to_string()),
                    true,
                ),
            },
            MANIFEST_CONFIG | MANIFEST => match serde_json::from_slice::<String>(payload) {
                Ok(image) => {
                    let result = match &self.configs {
                        Some(configs) if capability == MANIFEST => configs.manifest(&image),
                        Some(configs) => configs.answer(&image),
                        None => Err(format!(
                            "cannot read the manifest or config of {image:?}: no --image-configs file was given to the runner"
                        )),
                    };
                    (image, result, true)
                }
                Err(e) => (asked(), Err(format!("the request is not an image as a JSON string: {e}")), false),
            },
            _ => (asked(), Err(format!("host capability {capability} is not available in this runner")), false),
        };
        let answer = match &result {
            Ok(payload) => Answer::Payload(payload.clone()),
            Err(e) => Answer::Error(e.clone()),
        };
        self.record(HostCall { capability, request, answer });
        result.map(String::into_bytes).map_err(|e| if handled { format!("{CALLBACK_FAILURE}{e}") } else { e })
    }

    fn verify(&self, payload: &[u8]) -> Result<String, String> {
        let asked = Request::parse(payload)?;
        match &self.sigstore {
            Some(sigstore) => sigstore.verify(&asked),
            None => Err(format!("cannot verify {:?}: no --sigstore file was given to the runner", asked.image())),
        }
    }

    fn record(&self, call: HostCall) {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).push(call);
    }

    fn manifest_digest(&self, image: &str) -> Result<String, String> {
        let Some(registry) = &self.registry else {
            return Err(format!("cannot look up {image:?}: no --digests file was given to the runner"));
        };
        let key = normalized(image).ok_or_else(|| format!("{image:?} is not an image reference"))?;
        match registry.entries.get(&key) {
            Some(Entry::Digest(digest)) => Ok(json!({"digest": digest}).to_string()),
            Some(Entry::Error(message)) => Err(message.clone()),
            None => Err(format!("manifest unknown: {key} is not in {}", registry.source)),
        }
    }

    /// The calls answered since the last `take_calls`.
    pub fn take_calls(&self) -> Vec<HostCall> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The calls as a kwctl session file (`--replay-host-capabilities-interactions`):
/// a YAML list of exchanges whose request is the YAML of policy-evaluator's
/// `CallbackRequestType`, answered by a success payload or an error.
pub fn kwctl_session(calls: &[HostCall]) -> Result<String, String> {
    // The variant names are policy-evaluator's `CallbackRequestType`'s.
    #[derive(Serialize)]
    #[allow(clippy::enum_variant_names)]
    enum Oci<'a> {
        OciManifestDigest { image: &'a str },
        OciManifest { image: &'a str },
        OciManifestAndConfig { image: &'a str },
    }
    // The SDK's request, as the policy sent it, and as the session's
    // `!KubernetesListResourceNamespace` mapping.
    #[derive(Serialize, serde::Deserialize)]
    struct ListResources {
        api_version: String,
        kind: String,
        namespace: String,
        label_selector: Option<String>,
        field_selector: Option<String>,
        field_masks: Option<std::collections::BTreeSet<String>>,
    }
    #[derive(Serialize)]
    enum Kubernetes {
        KubernetesListResourceNamespace(ListResources),
    }
    #[derive(Serialize)]
    #[serde(tag = "type")]
    enum Response<'a> {
        Success { payload: &'a str },
        Error { message: &'a str },
    }
    #[derive(Serialize)]
    #[serde(tag = "type")]
    enum Exchange<'a> {
        Exchange { request: String, response: Response<'a> },
    }
    let mut exchanges = Vec::new();
    for call in calls {
        let request = match call.capability.as_str() {
            MANIFEST_DIGEST => serde_yaml::to_string(&Oci::OciManifestDigest { image: &call.request }),
            MANIFEST_CONFIG => serde_yaml::to_string(&Oci::OciManifestAndConfig { image: &call.request }),
            MANIFEST => serde_yaml::to_string(&Oci::OciManifest { image: &call.request }),
            VERIFY => serde_yaml::to_string(&Request::parse(call.request.as_bytes())?.for_session()),
            LIST_BY_NAMESPACE => {
                let request: ListResources = serde_json::from_str(&call.request).map_err(|e| e.to_string())?;
                serde_yaml::to_string(&Kubernetes::KubernetesListResourceNamespace(request))
            }
            other => return Err(format!("kwctl sessions of {other} calls are not written by this runner")),
        }
        .map_err(|e| e.to_string())?;
        let response = match &call.answer {
            Answer::Payload(payload) => Response::Success { payload },
            Answer::Error(message) => Response::Error { message },
        };
        exchanges.push(Exchange::Exchange { request, response });
    }
    serde_yaml::to_string(&exchanges).map_err(|e| e.to_string())
}

/// A call as one line of text: `kubewarden/oci/v1/manifest_digest "nginx:1" → {"digest":…}`.
pub fn describe(call: &HostCall) -> String {
    let answer = match &call.answer {
        Answer::Payload(payload) => payload.clone(),
        Answer::Error(e) => format!("error: {e}"),
    };
    // A verification request is a JSON document: its kind and image say
    // what was asked.
    if call.capability == LIST_BY_NAMESPACE {
        let request: Value = serde_json::from_str(&call.request).unwrap_or(Value::Null);
        let answer = match &call.answer {
            Answer::Payload(payload) => {
                let items =
                    serde_json::from_str::<Value>(payload).ok().and_then(|v| v["items"].as_array().map(Vec::len));
                format!("{} items ({} bytes)", items.unwrap_or_default(), payload.len())
            }
            Answer::Error(e) => format!("error: {e}"),
        };
        return format!(
            "{} {} {} in {} → {answer}",
            call.capability,
            request["api_version"].as_str().unwrap_or_default(),
            request["kind"].as_str().unwrap_or_default(),
            request["namespace"].as_str().unwrap_or_default()
        );
    }
    let asked = match Request::parse(call.request.as_bytes()) {
        Ok(request) if call.capability == VERIFY => {
            let kind =
                serde_json::from_str::<Value>(&call.request).ok().and_then(|v| v["type"].as_str().map(str::to_string));
            format!("{} {:?}", kind.unwrap_or_default(), request.image())
        }
        _ => format!("{:?}", call.request),
    };
    format!("{} {asked} → {answer}", call.capability)
}

/// The calls as JSON, for `--output json`.
pub fn to_json(calls: &[HostCall]) -> Value {
    serde_json::to_value(calls).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn host() -> Host {
        let text =
            format!("nginx:1.25: {DIGEST}\nquay.io/team/app:2: {{error: \"unauthorized: authentication required\"}}\n");
        Host::with_digests("digests.yaml", &text).unwrap()
    }

    fn ask(host: &Host, image: &str) -> Result<String, String> {
        host.answer("kubewarden", "oci", "v1/manifest_digest", &serde_json::to_vec(image).unwrap())
            .map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn digests_are_answered_under_any_spelling_and_recorded() {
        let host = host();
        let expected = format!("{{\"digest\":\"{DIGEST}\"}}");
        assert_eq!(ask(&host, "docker.io/library/nginx:1.25"), Ok(expected.clone()));
        assert_eq!(ask(&host, "nginx:1.25"), Ok(expected.clone()));
        // Errors reach the guest as policy-evaluator forwards them.
        assert_eq!(
            ask(&host, "quay.io/team/app:2"),
            Err("Callback evaluation failure: unauthorized: authentication required".into())
        );
        assert_eq!(
            ask(&host, "redis"),
            Err("Callback evaluation failure: manifest unknown: docker.io/library/redis:latest is not in digests.yaml"
                .into())
        );
        let calls = host.take_calls();
        assert_eq!(calls.len(), 4);
        assert_eq!(calls[0].request, "docker.io/library/nginx:1.25");
        assert_eq!(calls[0].answer, Answer::Payload(expected));
        // The record keeps the handler's error, as kwctl's sessions do.
        assert_eq!(calls[2].answer, Answer::Error("unauthorized: authentication required".into()));
        assert!(host.take_calls().is_empty());
    }

    #[test]
    fn logging_is_not_recorded_and_unknown_capabilities_are_errors() {
        let host = Host::default();
        assert_eq!(host.answer("kubewarden", "tracing", "log", b"{}"), Ok(Vec::new()));
        let err = host.answer("kubewarden", "net", "v1/dns_lookup_host", b"\"x\"").unwrap_err();
        assert_eq!(err, "host capability kubewarden/net/v1/dns_lookup_host is not available in this runner");
        assert!(ask(&host, "nginx").unwrap_err().contains("no --digests file"));
        assert_eq!(host.take_calls().len(), 2);
    }

    #[test]
    fn bad_digest_files_are_errors_naming_the_entry() {
        for (text, error) in [
            ("- nginx", "digests.yaml: expected a mapping of image: digest"),
            ("Nginx:1: sha256:x", "digests.yaml: \"Nginx:1\": not a valid image reference"),
            ("nginx: [1]", "digests.yaml: \"nginx\": expected a digest or {error: message}"),
            (
                "nginx: x\ndocker.io/library/nginx:latest: y",
                "digests.yaml: \"docker.io/library/nginx:latest\" names an image already in the file",
            ),
        ] {
            let err = Host::with_digests("digests.yaml", text).unwrap_err();
            assert!(err.starts_with(error), "{err}");
        }
    }

    #[test]
    fn sessions_are_written_as_kwctl_reads_them() {
        let host = host();
        let _ = ask(&host, "nginx:1.25");
        let _ = ask(&host, "quay.io/team/app:2");
        let session = kwctl_session(&host.take_calls()).unwrap();
        let expected = format!(
            "- type: Exchange\n  request: |\n    !OciManifestDigest\n    image: nginx:1.25\n  response:\n    type: Success\n    payload: '{{\"digest\":\"{DIGEST}\"}}'\n\
             - type: Exchange\n  request: |\n    !OciManifestDigest\n    image: quay.io/team/app:2\n  response:\n    type: Error\n    message: 'unauthorized: authentication required'\n"
        );
        assert_eq!(session, expected);
    }

    #[test]
    fn list_calls_are_answered_from_reports_and_written_as_kwctl_replays_them() {
        let reports = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: aquasecurity.github.io/v1alpha1, kind: VulnerabilityReport, metadata: {name: r, namespace: shop}}\n";
        let host = Host::default().with_reports("reports.yaml", reports).unwrap();
        let request = r#"{"api_version":"aquasecurity.github.io/v1alpha1","kind":"VulnerabilityReport","namespace":"shop","label_selector":null,"field_selector":null,"field_masks":["metadata.name","kind"]}"#;
        let answer =
            host.answer("kubewarden", "kubernetes", "list_resources_by_namespace", request.as_bytes()).unwrap();
        assert_eq!(
            String::from_utf8(answer).unwrap(),
            r#"{"apiVersion":"aquasecurity.github.io/v1alpha1","items":[{"kind":"VulnerabilityReport","metadata":{"name":"r"}}],"kind":"VulnerabilityReportList","metadata":{}}"#
        );
        let calls = host.take_calls();
        assert_eq!(
            describe(&calls[0]),
            "kubewarden/kubernetes/list_resources_by_namespace aquasecurity.github.io/v1alpha1 VulnerabilityReport in shop → 1 items (160 bytes)"
        );
        let session = kwctl_session(&calls).unwrap();
        assert!(
            session.starts_with(
                "- type: Exchange\n  request: |\n    !KubernetesListResourceNamespace\n    api_version: aquasecurity.github.io/v1alpha1\n    kind: VulnerabilityReport\n    namespace: shop\n    label_selector: null\n    field_selector: null\n    field_masks:\n    - kind\n    - metadata.name\n"
            ),
            "{session}"
        );
        // Without --reports, a list call is a failed lookup saying so.
        let error =
            Host::default().answer("kubewarden", "kubernetes", "list_resources_by_namespace", request.as_bytes());
        assert!(error.unwrap_err().contains("no --reports file was given"));
    }
}
