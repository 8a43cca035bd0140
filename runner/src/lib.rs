//! The registry-guard runner: runs a Kubewarden policy's `.wasm` offline,
//! the way a PolicyServer does, on manifests or admission requests.
//!
//! - `host`: loads the module into wasmtime and speaks waPC to it;
//! - `capabilities`: the host capabilities it answers (a fake registry for
//!   manifest digests, `sigstore` for signatures, `image_configs` for image
//!   configs), recorded;
//! - `reports`: a fake cluster of scan reports, for list calls;
//! - `clock`: `--now`, the policy's clock fixed;
//! - `patch`: the JSON patch between an object and its mutation;
//! - `manifests`: reads YAML/JSON documents from files, folders, stdin;
//! - `admission`: wraps objects into AdmissionRequests, answers into
//!   AdmissionResponses;
//! - `check`: one verdict per object (`embedded`: YAML Argo manifests
//!   read as JSON first);
//! - `bench`: timings and memory against a baseline policy.

// Without the `host` feature (wasmtime), what the playground shares with
// the runner: reading manifests, building admission requests, the fake
// host capabilities, the verdict lines.
pub mod admission;
#[cfg(feature = "host")]
pub mod bench;
#[cfg(feature = "host")]
pub mod bench_json;
#[cfg(feature = "host")]
pub mod bench_vulnerabilities;
pub mod capabilities;
#[cfg(feature = "host")]
pub mod check;
pub mod clock;
#[cfg(feature = "host")]
pub mod compile_profile;
pub mod embedded;
#[cfg(feature = "host")]
pub mod host;
pub mod image_configs;
pub mod import;
pub mod locate;
pub mod manifests;
pub mod patch;
#[cfg(feature = "host")]
pub mod report;
pub mod reports;
pub mod sigstore;

use std::path::PathBuf;

/// Where the policy is when `--policy` is not given: `$REGISTRY_GUARD_POLICY`,
/// else `policy.wasm` in the current folder (what `make policy.wasm` builds).
pub fn default_policy_path() -> PathBuf {
    std::env::var_os("REGISTRY_GUARD_POLICY").map_or_else(|| PathBuf::from("policy.wasm"), PathBuf::from)
}
