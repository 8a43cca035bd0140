//! registry-guard: a Kubewarden policy that decides which container images a
//! cluster may run.
//!
//! The data path, top to bottom:
//! payload read in one streaming pass, images found in the object
//! (`discovery.rs` over `json.rs`) → settings, compiled once per distinct
//! document (`settings.rs` → `rules::Policy`) → each image parsed
//! (`reference.rs`, `registry.rs`, `image.rs`) and decided on its own
//! (`rules::decide`) → response (`response.rs`).

pub mod discovery;
pub mod glob;
pub mod host_pattern;
pub mod image;
pub mod image_pattern;
pub mod json;
pub mod reference;
pub mod registry;
pub mod response;
pub mod rules;
pub mod settings;
pub mod tag_pattern;

use std::cell::RefCell;
use std::rc::Rc;

use kubewarden_policy_sdk::settings::SettingsValidationResponse;
use kubewarden_policy_sdk::wapc_guest::{self as guest, CallResult};

use crate::image::Image;
use crate::response::Violation;
use crate::rules::Policy;
use crate::settings::SettingsError;

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    guest::register_function("validate", validate);
    guest::register_function("validate_settings", validate_settings);
    guest::register_function("protocol_version", kubewarden_policy_sdk::protocol_version_guest);
}

/// waPC `validate`: `{"request": ..., "settings": ...}` → ValidationResponse.
/// Never a guest error: whatever the payload, the answer is a verdict.
pub fn validate(payload: &[u8]) -> CallResult {
    let payload =
        match COMPILED.with_borrow(|cache| discovery::read(payload, cache.as_ref().map(|(text, _)| &text[..]))) {
            Ok(payload) => payload,
            Err(e) => return response::reject(format!("registry-guard cannot read the admission request: {e}")),
        };
    if !payload.has_request {
        return response::reject("registry-guard cannot read the admission request: it has no \"request\"".into());
    }
    if payload.operation.as_deref() == Some("DELETE") {
        return response::accept();
    }
    let compiled = compiled_settings(payload.settings.unwrap_or(b"{}"), payload.settings_known);
    let policy = match compiled.as_ref() {
        Ok(policy) => policy,
        Err(e) => return response::reject(format!("registry-guard settings are invalid: {e}")),
    };
    let violations: Vec<Violation> = payload.found.iter().filter_map(|found| check(policy, found)).collect();
    if violations.is_empty() { response::accept() } else { response::reject(response::rejection_message(&violations)) }
}

/// The violation for one found image, if any. Allowed images (the common
/// case) cost no allocation here.
fn check(policy: &Policy, found: &discovery::Found<'_>) -> Option<Violation> {
    let (image, reasons) = match &found.image {
        Err(problem) => (None, vec![problem.clone()]),
        Ok(written) => {
            let reasons: Vec<String> = match Image::parse(written) {
                Ok(image) => rules::decide(policy, &image).iter().map(ToString::to_string).collect(),
                Err(e) => vec![e.to_string()],
            };
            if reasons.is_empty() {
                return None;
            }
            (Some(written.to_string()), reasons)
        }
    };
    Some(Violation { field: found.field.clone(), image, reasons })
}

/// Settings as compiled: the policy, or why the settings are invalid.
type Compiled = Rc<Result<Policy, SettingsError>>;

thread_local! {
    /// The last settings document seen and what it compiled to. A
    /// PolicyServer keeps the instance and sends the same settings with every
    /// request, so they are compiled once, not per request.
    static COMPILED: RefCell<Option<(Vec<u8>, Compiled)>> = const { RefCell::new(None) };
}

/// The compiled settings; `known`: the reader already found them equal to
/// the cached document (no second comparison).
fn compiled_settings(settings: &[u8], known: bool) -> Compiled {
    COMPILED.with_borrow_mut(|cache| match cache {
        Some((text, compiled)) if known || json::equal_words(text, settings) => compiled.clone(),
        _ => {
            let compiled = Rc::new(settings::compile_json(settings));
            *cache = Some((settings.to_vec(), compiled.clone()));
            compiled
        }
    })
}

/// waPC `validate_settings`: answers valid, or invalid with every problem.
pub fn validate_settings(payload: &[u8]) -> CallResult {
    let message = settings::compile_json(payload).err().map(|e| e.to_string());
    Ok(serde_json::to_vec(&SettingsValidationResponse { valid: message.is_none(), message })?)
}

#[cfg(test)]
mod pipeline_tests;

#[cfg(test)]
mod properties;
