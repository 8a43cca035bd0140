//! End-to-end: the built policy.wasm in the runner's waPC/wasmtime host.
//! One test binary, so that wasmtime is linked once.

mod examples;
mod limits;
mod malformed;
mod mutation;
mod packaging;
mod readme;
mod settings;
mod workloads;
