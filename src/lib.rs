//! registry-guard: a Kubewarden policy that decides which container images a
//! cluster may run.
//!
//! The data path, top to bottom, one folder a stage:
//!
//! 1. `request/`: the payload read in one streaming pass (`json.rs`), the
//!    images found in the object and the settings document read on the way
//!    (`discovery.rs`);
//! 2. `settings/`: the settings checked and compiled into `rules::Policy`,
//!    on every request (a PolicyServer runs each request in a fresh
//!    instance, so nothing kept would be seen again);
//! 3. `references/`: each image parsed and normalized as runtimes read it
//!    (`reference.rs`, `registry.rs`, `image.rs`);
//! 4. `rules/`: mirrored (`mirror.rs`) and decided (`rules::decide`, over the
//!    host, image and tag pattern sets);
//! 5. `host/`: host capability lookups (`manifest_digest.rs` for pinning,
//!    `sigstore.rs`, `oci_manifest.rs` and `image_config.rs`, `kubernetes.rs`
//!    for scan reports), whose answers are untrusted input; on an UPDATE, an
//!    image that `oldObject` holds at the same field is not looked up again
//!    (`unchanged_images`, `lookupsOnUpdate`);
//! 6. `evaluate.rs` runs steps 3-5 for one image (and, for
//!    `vulnerabilities`, `vulnerability_gate.rs`: scan reports read from the
//!    cluster, once per request); `response.rs` answers: a
//!    rejection, an acceptance, or an acceptance with the object's images
//!    rewritten in place.

pub mod evaluate;
pub mod host;
pub mod references;
pub mod request;
pub mod response;
pub mod rules;
pub mod settings;
pub mod vulnerability_gate;

/// What a waPC function answers (the same type as `wapc_guest::CallResult`,
/// defined here so that the playground can build the policy without the
/// waPC guest).
pub type CallResult = Result<Vec<u8>, Box<dyn std::error::Error + Sync + Send>>;

use crate::evaluate::{Lookups, Outcome, evaluate_with};
use crate::host::HostCall;
use crate::host::manifest_digest::Lookup;

// The waPC entry points, with the `wapc` feature (the default, and what
// policy.wasm is built with). The playground builds without it: the waPC
// guest's exports and `wapc` imports cannot be satisfied in a browser.
#[cfg(feature = "wapc")]
#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    use kubewarden_policy_sdk::wapc_guest as guest;
    guest::register_function("validate", validate);
    guest::register_function("validate_settings", validate_settings);
    guest::register_function("protocol_version", protocol_version);
}

/// waPC `validate`: `{"request": ..., "settings": ...}` → ValidationResponse.
/// Never a guest error: whatever the payload, the answer is a verdict.
#[cfg(feature = "wapc")]
pub fn validate(payload: &[u8]) -> CallResult {
    validate_on(payload, &mut host::wapc)
}

/// `validate`, with manifest digests answered by `lookup` (a fake registry
/// in tests and fuzzing) and every other host capability refused.
pub fn validate_with(bytes: &[u8], lookup: &mut Lookup<'_>) -> CallResult {
    validate_on(bytes, &mut host::manifest_digest::answering(lookup))
}

/// `validate`, with host capabilities answered by `host`.
///
/// The stages it calls are kept out of line (`#[inline(never)]` on the walk,
/// each evaluation step and the answer): inlined, they made one 39 KB
/// function, and a PolicyServer compiles the module at start, with a cost
/// that grows faster than the size of the largest function (measured with
/// `registry-guard bench`, "compile + instantiate").
pub fn validate_on(bytes: &[u8], host: &mut HostCall<'_>) -> CallResult {
    let reject = |message: String| response::reject(message, Vec::new());
    let payload = match request::discovery::read(bytes) {
        Ok(payload) => payload,
        Err(e) => return reject(format!("registry-guard cannot read the admission request: {e}")),
    };
    if !payload.has_request {
        return reject("registry-guard cannot read the admission request: it has no \"request\"".into());
    }
    // Nothing to check or rewrite in an object that goes away.
    if payload.operation.as_deref() == Some("DELETE") {
        return response::accept(Vec::new());
    }
    // Read and compiled on every request: a PolicyServer evaluates each
    // request in a fresh instance, so nothing kept here would be seen again.
    let policy = match settings::compile_payload_settings(payload.settings.as_ref(), &payload.found) {
        Ok(policy) => policy,
        Err(e) => return reject(format!("registry-guard settings are invalid: {e}")),
    };
    let mut found = payload.found;
    if let Err(e) = find_custom_fields(
        bytes,
        &policy,
        payload.object.clone(),
        payload.api_version.as_deref(),
        payload.kind.as_deref(),
        &mut found,
    ) {
        return reject(format!("registry-guard cannot read the admission request: {e}"));
    }
    // Each question is asked once per request, however often its image
    // appears; not across requests: a tag may move, and the host keeps its
    // own cache. A list, not a HashMap (whose code would cost more than the
    // scan: a request asks a handful of questions, each a network lookup).
    let mut answers: Vec<Exchange> = Vec::new();
    // Cluster lists are kept, read, by the vulnerability gate (`Cluster`):
    // megabytes, not copied here.
    let mut ask_once = |operation: &str, question: &[u8]| match answers
        .iter()
        .find(|(op, asked, _)| op == operation && asked == question)
    {
        _ if operation.starts_with("kubernetes/") => host(operation, question),
        Some((_, _, answer)) => answer.clone(),
        None => {
            let answer = host(operation, question);
            answers.push((operation.to_string(), question.to_vec(), answer.clone()));
            answer
        }
    };
    let unchanged = match unchanged_images(bytes, &payload.operation, payload.old_object.clone(), &policy, &found) {
        Ok(unchanged) => unchanged,
        Err(e) => return reject(format!("registry-guard cannot read the admission request's oldObject: {e}")),
    };
    // The object's namespace, where `vulnerabilities` reads scan reports by default.
    let namespace = match &policy.vulnerabilities {
        Some(rule) if rule.namespaces.is_empty() && !found.is_empty() => request_namespace(bytes),
        _ => None,
    };
    let mut cluster = vulnerability_gate::Cluster::new(namespace.as_deref());
    let (mut violations, mut warnings, mut edits) = (Vec::new(), Vec::new(), Vec::new());
    for (i, found) in found.iter().enumerate() {
        let lookups = if unchanged.get(i) == Some(&true) { Lookups::Skipped } else { Lookups::Made };
        let Outcome { violation, rewrite, warning } =
            evaluate_with(&policy, found, lookups, &mut cluster, &mut ask_once);
        violations.extend(violation);
        warnings.extend(warning);
        if let Some(rewrite) = rewrite {
            // `docker://` and `registry://` stay in front of the image.
            let rewrite = if found.scheme.is_empty() { rewrite } else { format!("{}{rewrite}", found.scheme) };
            edits.push((found.span.clone(), rewrite));
        }
    }
    if !violations.is_empty() {
        return response::reject(response::rejection_message(&violations), warnings);
    }
    if edits.is_empty() {
        return response::accept(warnings);
    }
    // Images are only found inside the object, in document order; should an
    // edit ever fall elsewhere, refuse rather than admit the image unrewritten.
    match payload.object.and_then(|object| response::mutate(bytes, object, &edits, warnings)) {
        Some(answer) => answer,
        None => reject("registry-guard cannot rewrite an image outside request.object".into()),
    }
}

/// `imageFields`: the images at the paths the settings name for the
/// object's kind, added to `found` (a second, targeted walk of the object:
/// the settings come after it in the payload).
#[inline(never)]
fn find_custom_fields<'de>(
    bytes: &'de [u8],
    policy: &rules::Policy<'_>,
    object: Option<std::ops::Range<usize>>,
    api_version: Option<&str>,
    kind: Option<&str>,
    found: &mut Vec<request::discovery::Found<'de>>,
) -> Result<(), String> {
    let (Some(object), Some(kind)) = (object, kind) else { return Ok(()) };
    let api_version = api_version.unwrap_or_default();
    let paths: Vec<_> =
        policy.image_fields.iter().filter(|r| r.applies_to(api_version, kind)).flat_map(|r| &r.paths).collect();
    if paths.is_empty() {
        return Ok(());
    }
    request::custom_fields::find(bytes, object, &paths, found)
}

/// For each found image, whether an UPDATE's `oldObject` holds the same
/// image at the same field, so that it is not looked up again
/// (`lookupsOnUpdate: changedImages`, the default): an update that changes
/// replicas or labels makes no registry call, and a registry outage does not
/// block it. Empty (nothing skipped) for other operations, for settings that
/// make no lookups, and with `lookupsOnUpdate: allImages`. Images found
/// through `imageFields` are always looked up: the old object is walked for
/// the built-in places only.
#[inline(never)]
fn unchanged_images(
    bytes: &[u8],
    operation: &Option<std::borrow::Cow<'_, str>>,
    old_object: Option<std::ops::Range<usize>>,
    policy: &rules::Policy<'_>,
    found: &[request::discovery::Found<'_>],
) -> Result<Vec<bool>, String> {
    let (Some(old), true) = (old_object, operation.as_deref() == Some("UPDATE")) else { return Ok(Vec::new()) };
    if policy.lookups_on_update == rules::LookupsOnUpdate::AllImages || !policy.looks_up() {
        return Ok(Vec::new());
    }
    let old_found = request::discovery::read_object(&bytes[old])?;
    Ok(found
        .iter()
        .map(|new| {
            new.image.is_ok()
                && old_found
                    .iter()
                    .any(|old| old.field == new.field && old.image == new.image && old.scheme == new.scheme)
        })
        .collect())
}

/// `request.namespace` of a validate payload (a second, shallow pass: the
/// walker of `request/` does not keep it), `None` when absent or not a
/// string. The payload was read whole before, so it is valid JSON.
#[inline(never)]
fn request_namespace(bytes: &[u8]) -> Option<String> {
    use host::kubernetes::{object, skip, string};
    let mut parser = request::json::Parser::new(bytes);
    let mut namespace = None;
    let _ = object(&mut parser, "the payload", |key, p| match key {
        "request" => object(p, "request", |key, p| match key {
            "namespace" => {
                namespace = string(p, "request.namespace")?;
                Ok(())
            }
            _ => skip(p),
        }),
        _ => skip(p),
    });
    namespace
}

/// One host call of a request: the operation, the question, the answer.
type Exchange = (String, Vec<u8>, Result<Vec<u8>, String>);

/// waPC `validate_settings`: answers valid, or invalid with every problem.
pub fn validate_settings(payload: &[u8]) -> CallResult {
    let message = settings::check_json(payload).err().map(|e| e.to_string());
    Ok(response::settings_verdict(message.as_deref()))
}

/// waPC `protocol_version`: the Kubewarden policy protocol this speaks, as
/// the SDK's `protocol_version_guest` answers it (without its serde code).
pub fn protocol_version(_payload: &[u8]) -> CallResult {
    Ok(br#""v1""#.to_vec())
}

#[cfg(test)]
mod pipeline_tests;

#[cfg(test)]
mod properties;

#[cfg(test)]
mod signature_tests;

#[cfg(test)]
mod image_config_tests;

#[cfg(test)]
mod update_tests;

#[cfg(test)]
mod vulnerability_tests;
