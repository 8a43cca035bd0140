//! The reader's speed in bytes per second, in wasm (wasmtime, the engine
//! PolicyServers run), for `registry-guard bench`: the skip path (a
//! validating bracket counter, what the walker pays for what it does not
//! read: `metadata`, `status`) against the event path (an event per token,
//! what it pays where it reads). The module is `benches/json-speed`, the
//! policy's own reader built like policy.wasm; the native figures come from
//! `cargo run --release --example profile-request json-speed` (the Makefile's
//! `bench` prints both).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::host::PolicyModule;

/// The documents read: the whole 100+1 Deployment payload, and the 3+1
/// Deployment's `metadata` alone (the last-applied annotation: a second,
/// escaped copy of the object, a `\"` every few bytes).
pub fn documents(large_payload: &[u8], small_request: &Value) -> Vec<(&'static str, Vec<u8>)> {
    let metadata = serde_json::to_vec(&small_request["object"]["metadata"]).expect("JSON serializes");
    vec![("Deployment 100+1 payload", large_payload.to_vec()), ("metadata of the 3+1 Deployment", metadata)]
}

/// Megabytes (10^6 bytes) per second of reading `document` with the
/// module's `operation`, the median of `rounds` rounds on one instance.
fn rate(module: &PolicyModule, operation: &str, document: &[u8], rounds: usize) -> Result<f64, String> {
    let instance = module.instantiate().map_err(|e| e.0)?;
    let answer = instance.call(operation, document)?;
    if answer != b"ok" {
        return Err(format!("{operation}: {}", String::from_utf8_lossy(&answer)));
    }
    // Enough calls per round for a millisecond or more.
    let per_round = (1_000_000 / document.len()).clamp(1, 1_000);
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..per_round {
                let _ = instance.call(operation, document);
            }
            started.elapsed() / per_round as u32
        })
        .collect();
    times.sort();
    Ok(document.len() as f64 / times[times.len() / 2].as_secs_f64() / 1e6)
}

/// The lines of the bench's reading-speed section.
pub fn measure(module_bytes: &[u8], documents: &[(&str, Vec<u8>)]) -> Result<Vec<String>, String> {
    let module = PolicyModule::from_bytes(module_bytes).map_err(|e| e.0)?;
    let mut lines = vec![
        "JSON reading speed in wasm (benches/json-speed: the policy's reader; one instance, median of 31 rounds)"
            .into(),
        format!("{:<36}{:>10}{:>14}{:>14}{:>8}", "", "bytes", "skip path", "event path", "ratio"),
    ];
    for (name, document) in documents {
        let skip = rate(&module, "skip", document, 31)?;
        let events = rate(&module, "events", document, 31)?;
        lines.push(format!(
            "{name:<36}{:>10}{:>9.0} MB/s{:>9.0} MB/s{:>8.2}",
            document.len(),
            skip,
            events,
            skip / events
        ));
    }
    Ok(lines)
}
