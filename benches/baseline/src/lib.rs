//! The benchmark baseline: what any policy pays that builds a JSON tree of
//! the request. It parses the whole waPC payload into a `serde_json::Value`
//! and accepts. Built with the same release profile as registry-guard; never
//! shipped.

use kubewarden_policy_sdk::wapc_guest::{self as guest, CallResult};
use kubewarden_policy_sdk::{accept_request, reject_request};

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    guest::register_function("validate", validate);
    guest::register_function("validate_settings", validate_settings);
    guest::register_function("protocol_version", kubewarden_policy_sdk::protocol_version_guest);
}

fn validate(payload: &[u8]) -> CallResult {
    match serde_json::from_slice::<serde_json::Value>(payload) {
        // black_box: the tree must really be built, not optimized away.
        Ok(tree) => {
            std::hint::black_box(&tree);
            accept_request()
        }
        Err(e) => reject_request(Some(e.to_string()), None, None, None),
    }
}

fn validate_settings(_payload: &[u8]) -> CallResult {
    Ok(br#"{"valid":true}"#.to_vec())
}
