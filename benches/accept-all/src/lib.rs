//! The benchmark floor: a waPC policy that accepts every request without
//! reading it. What it costs is what the host charges any policy (instance,
//! `wapc_init`, copying the payload in and the answer out); registry-guard
//! is measured against it. Built with the same release profile and
//! wasm-opt flags as registry-guard; never shipped.

use kubewarden_policy_sdk::wapc_guest::{self as guest, CallResult};

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    guest::register_function("validate", validate);
    guest::register_function("validate_settings", validate_settings);
    guest::register_function("protocol_version", protocol_version);
}

fn validate(_payload: &[u8]) -> CallResult {
    Ok(br#"{"accepted":true,"message":null,"code":null,"mutated_object":null,"audit_annotations":null,"warnings":null}"#.to_vec())
}

fn validate_settings(_payload: &[u8]) -> CallResult {
    Ok(br#"{"valid":true,"message":null}"#.to_vec())
}

fn protocol_version(_payload: &[u8]) -> CallResult {
    Ok(br#""v1""#.to_vec())
}
