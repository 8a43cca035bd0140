//! kwctl (Kubewarden's CLI, the host Kubewarden users run), for the tests
//! that compare the policy there with the runner's host. kwctl is not
//! installable from package registries: where it is not on PATH, these tests
//! print a note and pass, except under `CI=true`, where a missing kwctl
//! fails them (CI puts `../shared/bin` on PATH: a skip there would hide a
//! broken setup).
//!
//! kwctl 1.35 runs every case with `--allowed-host-capabilities` set to
//! exactly the list `metadata.yml` declares, so a capability the policy
//! calls without declaring it fails a test; 1.31 has no such flag.
//!
//! Every command runs offline and quietly: `HOME` is a scratch folder (kwctl
//! keeps its store and wasmtime cache there), no backtraces (policy-evaluator
//! hands host errors to the guest with `{:?}`, which would append one to
//! every failed lookup), and `kwctl run` gets an empty Sigstore trust config,
//! so that it does not try the network for one (a second per run, here).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use registry_guard_e2e::{policy_path, repo_root};

/// kwctl on PATH, with a scratch folder for its HOME and outputs.
pub struct Kwctl {
    bin: PathBuf,
    /// Removed when dropped.
    pub scratch: PathBuf,
}

impl Kwctl {
    /// kwctl from PATH, or `None` after printing why `test` is skipped.
    pub fn find(test: &str) -> Option<Kwctl> {
        let bin = std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join("kwctl"))
            .find(|path| path.is_file());
        let Some(bin) = bin else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: kwctl is not on PATH, and CI=true (.ci/run puts ../shared/bin on PATH)"
            );
            println!("skipping {test}: kwctl is not on PATH");
            return None;
        };
        let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("kwctl-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(scratch.join("home")).unwrap_or_else(|e| panic!("{}: {e}", scratch.display()));
        std::fs::write(scratch.join("sigstore-trust-config.json"), "{}").unwrap();
        Some(Kwctl { bin, scratch })
    }

    /// `kwctl ARGS…` in the repository root.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.bin);
        command
            .current_dir(repo_root())
            .env("HOME", self.scratch.join("home"))
            .env("RUST_BACKTRACE", "0")
            .env("RUST_LIB_BACKTRACE", "0")
            .env("NO_COLOR", "1");
        command
    }

    /// Runs `kwctl ARGS…`; panics, showing its output, unless it succeeds.
    pub fn output(&self, args: &[&str]) -> Output {
        let output = self.command().args(args).output().unwrap_or_else(|e| panic!("kwctl: {e}"));
        assert!(output.status.success(), "kwctl {}: {}\n{}", args.join(" "), output.status, describe(&output));
        output
    }

    /// The built policy.wasm (the module the runner's tests load) annotated
    /// with metadata.yml, as `make annotated-policy.wasm` does.
    pub fn annotate(&self) -> PathBuf {
        let annotated = self.scratch.join("annotated-policy.wasm");
        let policy = policy_path();
        assert!(policy.exists(), "{} is missing: run `make policy.wasm` first", policy.display());
        self.output(&["annotate", "-m", "metadata.yml", "-u", "README.md", "-o", path(&annotated), path(&policy)]);
        annotated
    }

    /// `kwctl run` arguments that keep it offline and, on kwctl 1.35 and
    /// later, grant exactly the host capabilities metadata.yml declares.
    pub fn run_args(&self) -> Vec<String> {
        let trust = self.scratch.join("sigstore-trust-config.json");
        let mut args = vec!["run".into(), "--sigstore-trust-config".into(), path(&trust).to_string()];
        // One flag, every value after it: kwctl 1.35's help says the flag
        // "can be repeated", but a second one is refused.
        if self.grants_capabilities() {
            args.push("--allowed-host-capabilities".into());
            args.extend(declared_host_capabilities());
        }
        args
    }

    /// kwctl 1.35 and later grant host capabilities by list.
    fn grants_capabilities(&self) -> bool {
        let output = self.output(&["--version"]);
        let version = String::from_utf8_lossy(&output.stdout);
        let minor = version
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.strip_prefix("1."))
            .and_then(|v| v.split('.').next())
            .and_then(|v| v.parse::<u32>().ok());
        minor.is_none_or(|minor| minor >= 35)
    }
}

impl Drop for Kwctl {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.scratch);
        }
    }
}

/// The `hostCapabilities` list of metadata.yml (`  - oci/v1/…` lines).
pub fn declared_host_capabilities() -> Vec<String> {
    let metadata = std::fs::read_to_string(repo_root().join("metadata.yml")).expect("metadata.yml");
    let mut lines = metadata.lines().skip_while(|line| *line != "hostCapabilities:").skip(1);
    let list: Vec<String> = lines
        .by_ref()
        .map_while(|line| line.strip_prefix("  - "))
        .map(|capability| capability.trim().to_string())
        .collect();
    assert!(!list.is_empty(), "metadata.yml declares no hostCapabilities");
    list
}

pub fn path(path: &Path) -> &str {
    path.to_str().unwrap_or_else(|| panic!("{} is not UTF-8", path.display()))
}

/// A command's exit status, stdout and stderr, for failure messages.
pub fn describe(output: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
