//! Bench only, never shipped: the policy's JSON reader over a whole
//! document, as waPC functions, so that `registry-guard bench` measures its
//! bytes per second in wasm, in the engine PolicyServers run (wasmtime),
//! built like policy.wasm. `skip` is the skip path (`Parser::skip_value`:
//! the validating bracket counter the walker uses for what it does not
//! read); `events` is the event path (`Parser::next` for every token, what
//! the walker pays where it reads). Both answer `ok`, or the JSON error.

use kubewarden_policy_sdk::wapc_guest::{self as guest, CallResult};
use registry_guard::request::json::Parser;

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    guest::register_function("skip", skip);
    guest::register_function("events", events);
    guest::register_function("protocol_version", protocol_version);
}

fn skip(document: &[u8]) -> CallResult {
    let mut parser = Parser::new(document);
    parser.skip_value().map_err(|e| e.to_string())?;
    match parser.next().map_err(|e| e.to_string())? {
        None => Ok(b"ok".to_vec()),
        Some(_) => Err("trailing characters".into()),
    }
}

fn events(document: &[u8]) -> CallResult {
    let mut parser = Parser::new(document);
    while parser.next().map_err(|e| e.to_string())?.is_some() {}
    Ok(b"ok".to_vec())
}

fn protocol_version(_payload: &[u8]) -> CallResult {
    Ok(br#""v1""#.to_vec())
}
