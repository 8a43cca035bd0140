//! End-to-end: the built policy.wasm in the runner's waPC/wasmtime host.
//! One test binary, so that wasmtime is linked once.
//! With kwctl on PATH, also in kwctl (Kubewarden's host): `differential`, `kwctl_packaging`.

mod differential;
mod examples;
mod image_config;
mod import;
mod kwctl;
mod kwctl_packaging;
mod limits;
mod malformed;
mod mutation;
mod openshift_library;
mod packaging;
mod playground;
mod readme;
mod settings;
mod signatures;
mod upstream;
mod upstream_examples;
mod vulnerabilities;
mod workloads;
