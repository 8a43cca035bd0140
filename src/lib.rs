//! registry-guard: a Kubewarden policy that decides which container images a
//! cluster may run.
//!
//! The data path, top to bottom:
//! payload read in one streaming pass, images found in the object
//! (`discovery.rs` over `json.rs`) → settings, compiled once per distinct
//! document (`settings.rs` → `rules::Policy`) → each image parsed
//! (`reference.rs`, `registry.rs`, `image.rs`), mirrored (`mirror.rs`),
//! decided (`rules::decide`) and pinned (`digest_lookup.rs`), one at a time
//! (`evaluate.rs`) → response (`response.rs`): a rejection, an acceptance,
//! or an acceptance with the object's images rewritten in place.

pub mod digest_lookup;
pub mod discovery;
pub mod evaluate;
pub mod glob;
pub mod host_pattern;
pub mod image;
pub mod image_pattern;
pub mod json;
pub mod mirror;
pub mod reference;
pub mod registry;
pub mod response;
pub mod rules;
pub mod settings;
pub mod str_map;
pub mod tag_pattern;
pub mod verdict_cache;

use std::cell::RefCell;
use std::rc::Rc;

use kubewarden_policy_sdk::wapc_guest::{self as guest, CallResult};

use crate::evaluate::{Lookup, Outcome, evaluate};
use crate::rules::{Pin, Policy};
use crate::settings::SettingsError;
use crate::verdict_cache::VerdictCache;

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    guest::register_function("validate", validate);
    guest::register_function("validate_settings", validate_settings);
    guest::register_function("protocol_version", protocol_version);
}

/// waPC `validate`: `{"request": ..., "settings": ...}` → ValidationResponse.
/// Never a guest error: whatever the payload, the answer is a verdict.
pub fn validate(payload: &[u8]) -> CallResult {
    validate_with(payload, &mut digest_lookup::manifest_digest)
}

/// `validate`, with digests looked up by `lookup`: the host in `validate`, a
/// fake registry in tests and fuzzing.
pub fn validate_with(bytes: &[u8], lookup: &mut Lookup<'_>) -> CallResult {
    let reject = |message: String| response::reject(message, Vec::new());
    let payload = match COMPILED.with_borrow(|cache| discovery::read(bytes, cache.as_ref().map(|(text, _)| &text[..])))
    {
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
    let compiled = compiled_settings(payload.settings.unwrap_or(b"{}"), payload.settings_known);
    let policy = match compiled.as_ref() {
        Ok(policy) => policy,
        Err(e) => return reject(format!("registry-guard settings are invalid: {e}")),
    };
    // Each image is looked up once per request, however often it appears;
    // not across requests: a tag may move, and the host keeps its own cache.
    // A list, not a HashMap (whose code would cost more than the scan: a
    // request names a handful of distinct images, each a network lookup).
    let mut answers: Vec<(String, Result<String, String>)> = Vec::new();
    let mut lookup_once = |image: &str| match answers.iter().find(|(asked, _)| asked == image) {
        Some((_, answer)) => answer.clone(),
        None => {
            let answer = lookup(image);
            answers.push((image.to_string(), answer.clone()));
            answer
        }
    };
    let (mut violations, mut warnings, mut edits) = (Vec::new(), Vec::new(), Vec::new());
    // Decisions that ask the host nothing are remembered across requests.
    let cacheable = policy.pin == Pin::Never;
    for found in &payload.found {
        let Outcome { violation, rewrite, warning } = match &found.image {
            Ok(image) if cacheable => VERDICTS.with_borrow_mut(|cache| {
                cache.outcome(image, &found.field, || evaluate(policy, found, &mut lookup_once))
            }),
            _ => evaluate(policy, found, &mut lookup_once),
        };
        violations.extend(violation);
        warnings.extend(warning);
        if let Some(rewrite) = rewrite {
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

/// Settings as compiled: the policy, or why the settings are invalid.
type Compiled = Rc<Result<Policy, SettingsError>>;

thread_local! {
    /// The last settings document seen and what it compiled to. A
    /// PolicyServer keeps the instance and sends the same settings with every
    /// request, so they are compiled once, not per request.
    static COMPILED: RefCell<Option<(Vec<u8>, Compiled)>> = const { RefCell::new(None) };
    /// What the compiled settings made of each image lately (see
    /// `verdict_cache.rs`); cleared whenever other settings are compiled.
    static VERDICTS: RefCell<VerdictCache> = RefCell::new(VerdictCache::default());
}

/// The compiled settings; `known`: the reader already found them equal to
/// the cached document (no second comparison).
fn compiled_settings(settings: &[u8], known: bool) -> Compiled {
    COMPILED.with_borrow_mut(|cache| match cache {
        Some((text, compiled)) if known || json::equal_words(text, settings) => compiled.clone(),
        _ => {
            VERDICTS.with_borrow_mut(VerdictCache::clear);
            let compiled = Rc::new(settings::compile_json(settings));
            *cache = Some((settings.to_vec(), compiled.clone()));
            compiled
        }
    })
}

/// waPC `validate_settings`: answers valid, or invalid with every problem.
pub fn validate_settings(payload: &[u8]) -> CallResult {
    let message = settings::compile_json(payload).err().map(|e| e.to_string());
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
