//! A waPC host for Kubewarden policies, built on the engine Kubewarden's
//! policy-evaluator uses (`wapc` + `wasmtime-provider`, WASI preview 1), and
//! talking to the guest as a PolicyServer does: `protocol_version`, then
//! `validate_settings`, then `validate` with `{"request", "settings"}`.
//!
//! A module is compiled once (`PolicyModule::load`) and instantiated cheaply
//! as often as needed (`PolicyModule::instantiate`). Guest errors and traps
//! are answered as the host answers them: invalid settings, or a rejection
//! with code 500. Every guest call runs under a deadline (epoch
//! interruption), so a policy that loops cannot hang the runner.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wapc::WapcHost;
use wasmtime_provider::wasmtime::{Config, Engine, ProfilingStrategy};
use wasmtime_provider::{EpochDeadlines, ResourceLimits, WasmtimeEngineProviderBuilder, WasmtimeEngineProviderPre};

use crate::capabilities::{Host, HostCall};

/// One epoch tick; deadlines are counted in ticks.
const TICK: Duration = Duration::from_millis(100);
/// A guest call may run 2 seconds, PolicyServer's default policy timeout.
const DEADLINE_TICKS: u64 = 20;
/// A guest's linear memory may not grow past this.
const MAX_MEMORY: usize = 1 << 30;

/// An error of the runner itself (not a policy verdict).
#[derive(Debug)]
pub struct HostError(pub String);

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HostError {}

/// The engine every module of this process runs on, with a thread that
/// advances its epoch (what deadlines are counted in).
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.epoch_interruption(true);
        // For profiling the guest with `perf`: its functions appear by name
        // (when the module keeps its name section).
        if std::env::var_os("REGISTRY_GUARD_PERFMAP").is_some() {
            config.profiler(ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).expect("the default wasmtime configuration is valid");
        let ticker = engine.clone();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(TICK);
                ticker.increment_epoch();
            }
        });
        engine
    })
}

/// A compiled policy module.
pub struct PolicyModule {
    pre: WasmtimeEngineProviderPre,
}

impl PolicyModule {
    /// Reads and compiles a `.wasm` file.
    pub fn load(path: &Path) -> Result<Self, HostError> {
        let bytes =
            std::fs::read(path).map_err(|e| HostError(format!("cannot read policy {}: {e}", path.display())))?;
        Self::from_bytes(&bytes).map_err(|HostError(e)| HostError(format!("{}: {e}", path.display())))
    }

    /// Reads and compiles a `.wasm` file whose WASI clock reads
    /// `unix_seconds` (`check --now`; see `clock.rs`).
    pub fn load_at(path: &Path, unix_seconds: i64) -> Result<Self, HostError> {
        let bytes =
            std::fs::read(path).map_err(|e| HostError(format!("cannot read policy {}: {e}", path.display())))?;
        let bytes = crate::clock::fixed_clock(&bytes, unix_seconds)
            .map_err(|e| HostError(format!("{}: cannot fix its clock: {e}", path.display())))?;
        Self::from_bytes(&bytes).map_err(|HostError(e)| HostError(format!("{}: {e}", path.display())))
    }

    /// Compiles a module held in memory.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, HostError> {
        Self::from_bytes_with_memory_limit(bytes, MAX_MEMORY)
    }

    /// Compiles a module whose instances' linear memory may not grow past
    /// `max_memory` bytes (a failed growth traps the guest).
    pub fn from_bytes_with_memory_limit(bytes: &[u8], max_memory: usize) -> Result<Self, HostError> {
        let pre = WasmtimeEngineProviderBuilder::new()
            .engine(engine().clone())
            .module_bytes(bytes)
            .enable_resource_limits(ResourceLimits { max_memory_size: Some(max_memory), max_table_elements: None })
            .build_pre()
            .map_err(|e| HostError(format!("not a WebAssembly module this host can run: {e}")))?;
        Ok(PolicyModule { pre })
    }

    /// A fresh instance whose host answers logging only (see `capabilities`).
    pub fn instantiate(&self) -> Result<PolicyInstance, HostError> {
        self.instantiate_with(Arc::new(Host::default()))
    }

    /// A fresh instance, initialized (`wapc_init`) and checked to speak
    /// Kubewarden's protocol v1, whose host calls `host` answers.
    pub fn instantiate_with(&self, host: Arc<Host>) -> Result<PolicyInstance, HostError> {
        let instance = self.fresh_instance(host)?;
        let version = instance.protocol_version()?;
        if version != "v1" {
            return Err(HostError(format!("the policy speaks protocol {version:?}; this host speaks \"v1\"")));
        }
        Ok(instance)
    }

    /// A fresh instance, initialized (`wapc_init`) and nothing more: what a
    /// PolicyServer makes for every request (policy-evaluator's `rehydrate`),
    /// having checked the protocol and the settings once at start.
    pub fn fresh_instance(&self, host: Arc<Host>) -> Result<PolicyInstance, HostError> {
        let deadlines = EpochDeadlines { wapc_init: DEADLINE_TICKS, wapc_func: DEADLINE_TICKS };
        let provider = self
            .pre
            .rehydrate(Some(deadlines))
            .map_err(|e| HostError(format!("cannot instantiate the policy: {e}")))?;
        let answering = host.clone();
        let callback = move |_id: u64, binding: &str, namespace: &str, operation: &str, payload: &[u8]| {
            answering.answer(binding, namespace, operation, payload).map_err(|e| e.into())
        };
        let wapc = WapcHost::new(Box::new(provider), Some(Box::new(callback)))
            .map_err(|e| HostError(format!("the policy failed to initialize: {e}")))?;
        Ok(PolicyInstance { host: wapc, capabilities: host })
    }
}

/// What `validate_settings` answered.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct SettingsVerdict {
    pub valid: bool,
    #[serde(default)]
    pub message: Option<String>,
}

pub use crate::admission::ValidationResponse;

/// One instance of a policy, kept across evaluations as a PolicyServer does.
pub struct PolicyInstance {
    host: WapcHost,
    capabilities: Arc<Host>,
}

impl PolicyInstance {
    /// Calls the guest's waPC function `operation` (the bench's reader
    /// module has others than a policy's).
    pub fn call(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
        self.host.call(operation, payload).map_err(|e| e.to_string())
    }

    /// The host calls the policy made since the last time this was asked.
    pub fn take_host_calls(&self) -> Vec<HostCall> {
        self.capabilities.take_calls()
    }

    pub fn protocol_version(&self) -> Result<String, HostError> {
        let raw = self
            .host
            .call("protocol_version", b"")
            .map_err(|e| HostError(format!("the policy does not answer protocol_version: {e}")))?;
        serde_json::from_slice(&raw)
            .map_err(|e| HostError(format!("the policy's protocol_version is not a JSON string: {e}")))
    }

    /// `validate_settings`; a guest error means invalid settings, as for the host.
    pub fn validate_settings(&self, settings: &Value) -> SettingsVerdict {
        let payload = serde_json::to_vec(settings).expect("a JSON value serializes");
        match self.host.call("validate_settings", &payload) {
            Ok(raw) => serde_json::from_slice(&raw).unwrap_or_else(|e| SettingsVerdict {
                valid: false,
                message: Some(format!(
                    "the policy answered validate_settings with something other than a verdict: {e}"
                )),
            }),
            Err(e) => SettingsVerdict {
                valid: false,
                message: Some(format!("the policy failed to validate its settings: {e}")),
            },
        }
    }

    /// `validate` on an AdmissionRequest; a guest error or trap is a
    /// rejection with code 500, as a PolicyServer answers it.
    pub fn validate(&self, request: &Value, settings: &Value) -> ValidationResponse {
        let payload = serde_json::to_vec(&serde_json::json!({"request": request, "settings": settings}))
            .expect("a JSON value serializes");
        self.validate_raw(&payload)
    }

    /// `validate` on payload bytes as they are (for malformed-input tests).
    pub fn validate_raw(&self, payload: &[u8]) -> ValidationResponse {
        match self.host.call("validate", payload) {
            Ok(raw) => serde_json::from_slice(&raw).unwrap_or_else(|e| {
                internal_error(format!(
                    "the policy answered validate with something other than a ValidationResponse: {e}"
                ))
            }),
            Err(e) => internal_error(format!("policy evaluation failed: {e}")),
        }
    }
}

fn internal_error(message: String) -> ValidationResponse {
    ValidationResponse { accepted: false, message: Some(message), code: Some(500), ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal waPC-shaped module: exports `wapc_init` (empty) and
    /// `__guest_call`, whose body is given (it must leave an i32).
    fn module_with_guest_call(body: &[u8]) -> Vec<u8> {
        let mut wasm = vec![0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
        // types: () -> (), (i32, i32) -> i32
        wasm.extend([0x01, 0x0a, 0x02, 0x60, 0x00, 0x00, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f]);
        // functions: 0 has type 0, 1 has type 1
        wasm.extend([0x03, 0x03, 0x02, 0x00, 0x01]);
        // exports
        wasm.extend([0x07, 0x1c, 0x02, 0x09]);
        wasm.extend(b"wapc_init");
        wasm.extend([0x00, 0x00, 0x0c]);
        wasm.extend(b"__guest_call");
        wasm.extend([0x00, 0x01]);
        // code: function 0 = `end`; function 1 = no locals + body
        let body_len = u8::try_from(body.len() + 1).unwrap();
        let section_len = 1 + 3 + 1 + body_len;
        wasm.extend([0x0a, section_len, 0x02, 0x02, 0x00, 0x0b, body_len, 0x00]);
        wasm.extend(body);
        wasm
    }

    #[test]
    fn a_file_that_is_not_wasm_is_an_error() {
        let err = PolicyModule::from_bytes(b"not wasm").err().unwrap();
        assert!(err.0.starts_with("not a WebAssembly module this host can run"), "{err}");
    }

    #[test]
    fn a_module_that_traps_is_an_error_not_a_crash() {
        // __guest_call: unreachable
        let module = PolicyModule::from_bytes(&module_with_guest_call(&[0x00, 0x0b])).unwrap();
        let err = module.instantiate().err().unwrap();
        assert!(err.0.starts_with("the policy does not answer protocol_version"), "{err}");
    }

    #[test]
    fn a_module_that_never_returns_is_interrupted() {
        // __guest_call: loop { br 0 }; unreachable
        let module =
            PolicyModule::from_bytes(&module_with_guest_call(&[0x03, 0x40, 0x0c, 0x00, 0x0b, 0x00, 0x0b])).unwrap();
        let err = module.instantiate().err().unwrap();
        assert!(err.0.contains("deadline"), "{err}");
    }
}
