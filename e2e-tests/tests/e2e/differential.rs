//! Differential: every request fixture and every example manifest, under
//! every settings file the tests and examples use, is answered by kwctl
//! (policy-evaluator, the host of the PolicyServer) and by the runner's
//! host (`registry-guard check`), and the two AdmissionResponses must be the
//! same: `allowed`, `status`, `warnings`, `patchType`, the decoded `patch`,
//! `auditAnnotations`, `uid`.
//!
//! Both get the same file: a request fixture as it is, a manifest's object
//! wrapped in the AdmissionReview the runner builds for it
//! (`admission::create_request`). Manifest digests come from the runner's
//! fake registry (`--digests`); the runner records the lookups
//! (`--record-host-calls`) and kwctl replays them
//! (`--replay-host-capabilities-interactions`), which also fails when the
//! policy asks kwctl's host something else, or less, than it asked the runner.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use registry_guard_e2e::{policy_path, repo_root, runner_bin};
use registry_guard_runner::admission::{Document, classify, create_request};
use registry_guard_runner::manifests::read_inputs;
use serde_json::{Value, json};

use crate::kwctl::{Kwctl, describe, path};

/// Settings, with the fake registry answering the digest lookups and the
/// fake verifier the signature checks.
struct Settings {
    /// As the failure messages name it.
    name: String,
    file: PathBuf,
    digests: Option<&'static str>,
    sigstore: Option<&'static str>,
    configs: Option<&'static str>,
}

/// One AdmissionReview or AdmissionRequest file, and where it came from.
struct Input {
    name: String,
    file: PathBuf,
}

fn settings(scratch: &Path) -> Vec<Settings> {
    // Pinning required, with lookups that fail: rejections quoting the host's error.
    const REQUIRED: &str = "digests: {pin: required, require: true}\ntags: {reject: [latest]}\n";
    let required = scratch.join("pin-required.yaml");
    std::fs::write(&required, REQUIRED).unwrap();
    let repo = |file: &str, digests| Settings {
        name: file.into(),
        file: repo_root().join(file),
        digests,
        sigstore: None,
        configs: None,
    };
    vec![
        repo("e2e-tests/fixtures/settings.yaml", None),
        repo("e2e-tests/fixtures/pin-settings.yaml", Some("e2e-tests/fixtures/digests.yaml")),
        Settings {
            name: format!("{{{}}}", REQUIRED.trim().replace('\n', ", ")),
            file: required,
            digests: Some("e2e-tests/fixtures/digests.yaml"),
            sigstore: None,
            configs: None,
        },
        repo("examples/settings.yaml", None),
        repo("examples/mutation/settings.yaml", Some("examples/mutation/digests.yaml")),
        Settings {
            sigstore: Some("examples/signatures/sigstore.yaml"),
            ..repo("examples/signatures/settings.yaml", None)
        },
        repo("examples/everywhere/settings.yaml", None),
        Settings {
            configs: Some("examples/image-config/image-configs.yaml"),
            ..repo("examples/image-config/settings.yaml", None)
        },
    ]
}

/// The request fixtures (every AdmissionReview or AdmissionRequest in
/// e2e-tests/fixtures and benches/fixtures), then one AdmissionReview per
/// object of the example manifests, written to `scratch`.
fn inputs(scratch: &Path) -> Vec<Input> {
    let mut inputs = Vec::new();
    for dir in ["e2e-tests/fixtures", "benches/fixtures"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|entry| entry.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for file in files {
            let name = format!("{dir}/{}", file.file_name().unwrap().to_string_lossy());
            let value: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let is_request = value["kind"] == "AdmissionReview" || value.get("operation").is_some();
            if is_request {
                inputs.push(Input { name, file });
            }
        }
    }
    let requests = inputs.len();
    assert!(requests >= 5, "expected the 3 e2e and 2 bench request fixtures, found {requests}");

    for dir in [
        "examples/manifests",
        "examples/mutation/manifests",
        "examples/signatures/manifests",
        "examples/everywhere/manifests",
        "examples/image-config/manifests",
    ] {
        let documents = read_inputs(&[repo_root().join(dir).display().to_string()]).unwrap_or_else(|e| panic!("{e}"));
        for sourced in documents {
            let source = Path::new(&sourced.source).file_name().unwrap().to_string_lossy().into_owned();
            for document in classify(sourced.value).unwrap_or_else(|e| panic!("{}: {e}", sourced.source)) {
                let Document::Object(object) = document else { panic!("{}: not a manifest", sourced.source) };
                let n = inputs.len() + 1;
                let review = json!({
                    "apiVersion": "admission.k8s.io/v1",
                    "kind": "AdmissionReview",
                    "request": create_request(&object, &format!("registry-guard-differential-{n}")),
                });
                let file = scratch.join(format!("review-{n}-{source}.json"));
                std::fs::write(&file, serde_json::to_vec_pretty(&review).unwrap()).unwrap();
                let name = format!("{dir}/{source} (document {}, {})", sourced.index, object["kind"]);
                inputs.push(Input { name, file });
            }
        }
    }
    assert!(inputs.len() >= requests + 6, "expected the 6 example objects, found {}", inputs.len() - requests);
    inputs
}

/// The base64 `patch` of an AdmissionResponse, as JSON.
fn decode_patch(encoded: &str) -> Result<Value, String> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bytes = Vec::new();
    let (mut bits, mut count) = (0u32, 0);
    for c in encoded.bytes().filter(|c| *c != b'=') {
        let value = ALPHABET.iter().position(|a| *a == c).ok_or_else(|| format!("not base64: {c:?}"))?;
        bits = (bits << 6) | value as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("the patch is not JSON: {e}"))
}

/// The fields both hosts must agree on; a missing field is `null` (kwctl
/// prints `"warnings": null`, the runner leaves it out).
fn comparable(response: &Value) -> Value {
    let field = |name: &str| response.get(name).cloned().unwrap_or(Value::Null);
    let patch = match response.get("patch").and_then(Value::as_str) {
        Some(encoded) => decode_patch(encoded).unwrap_or_else(|e| json!({"undecodable": encoded, "error": e})),
        None => Value::Null,
    };
    json!({
        "uid": field("uid"),
        "allowed": field("allowed"),
        "status": field("status"),
        "warnings": field("warnings"),
        "auditAnnotations": field("auditAnnotations"),
        "patchType": field("patchType"),
        "patch": patch,
    })
}

/// Both answers for one case, or why there are not two to compare.
fn answers(
    kwctl: &Kwctl,
    annotated: &Path,
    case: usize,
    input: &Input,
    settings: &Settings,
) -> Result<(Value, Value), String> {
    let session = kwctl.scratch.join(format!("session-{case}.yml"));
    let mut runner = Command::new(runner_bin());
    runner.current_dir(repo_root()).args([
        "check",
        "--policy",
        path(&policy_path()),
        "--settings",
        path(&settings.file),
    ]);
    if let Some(sigstore) = settings.sigstore {
        runner.args(["--sigstore", sigstore]);
    }
    if let Some(digests) = settings.digests {
        runner.args(["--digests", digests]);
    }
    if let Some(configs) = settings.configs {
        runner.args(["--image-configs", configs]);
    }
    runner.args(["--record-host-calls", path(&session), path(&input.file)]);
    let output =
        runner.output().map_err(|e| format!("{}: {e} (build it with `make runner`)", runner_bin().display()))?;
    if !matches!(output.status.code(), Some(0 | 1)) {
        return Err(format!("the runner failed: {}\n{}", output.status, describe(&output)));
    }
    let from_runner: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("the runner's answer is not one AdmissionResponse: {e}\n{}", describe(&output)))?;

    let mut args = kwctl.run_args();
    args.extend(["--request-path", path(&input.file), "--settings-path", path(&settings.file)].map(String::from));
    args.extend(["--replay-host-capabilities-interactions".into(), path(&session).into(), path(annotated).into()]);
    let output = kwctl.command().args(&args).output().map_err(|e| format!("kwctl: {e}"))?;
    if !output.status.success() {
        return Err(format!("kwctl failed: {}\n{}", output.status, describe(&output)));
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("have not been replayed") {
        return Err(format!("the policy made fewer host calls in kwctl than in the runner\n{}", describe(&output)));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    let from_kwctl: Value = serde_json::from_str(last)
        .map_err(|e| format!("kwctl's answer is not an AdmissionResponse: {e}\n{}", describe(&output)))?;
    Ok((from_kwctl, from_runner))
}

#[test]
fn kwctl_and_the_runner_give_the_same_admission_responses() {
    let Some(kwctl) = Kwctl::find("differential") else { return };
    assert!(
        runner_bin().exists(),
        "{} is missing: build it with `make runner` (or set REGISTRY_GUARD_BIN)",
        runner_bin().display()
    );
    let annotated = kwctl.annotate();
    let inputs = inputs(&kwctl.scratch);
    let settings = settings(&kwctl.scratch);
    let cases: Vec<(&Input, &Settings)> =
        inputs.iter().flat_map(|input| settings.iter().map(move |settings| (input, settings))).collect();

    // (case, kwctl's answer) for every case both hosts answered alike.
    let agreed = Mutex::new(Vec::new());
    let failures = Mutex::new(Vec::new());
    let next = Mutex::new(0..cases.len());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let take = || next.lock().unwrap().next();
                while let Some(case) = take() {
                    let (input, settings) = cases[case];
                    let what = format!(
                        "{} with --settings {}{}",
                        input.name,
                        settings.name,
                        settings.digests.map(|d| format!(" --digests {d}")).unwrap_or_default()
                            + &settings.sigstore.map(|s| format!(" --sigstore {s}")).unwrap_or_default()
                            + &settings.configs.map(|c| format!(" --image-configs {c}")).unwrap_or_default()
                    );
                    match answers(&kwctl, &annotated, case, input, settings) {
                        Err(why) => failures.lock().unwrap().push(format!("{what}: {why}")),
                        Ok((from_kwctl, from_runner)) if comparable(&from_kwctl) != comparable(&from_runner) => {
                            // Both answers whole, then each field that differs.
                            let (k, r) = (comparable(&from_kwctl), comparable(&from_runner));
                            let fields: String = k
                                .as_object()
                                .unwrap()
                                .iter()
                                .filter(|(field, value)| r[field.as_str()] != **value)
                                .map(|(field, value)| {
                                    format!("\n  {field}:\n    kwctl:  {value}\n    runner: {}", r[field])
                                })
                                .collect();
                            failures.lock().unwrap().push(format!(
                                "{what}: the answers differ\n  kwctl:  {from_kwctl}\n  runner: {}{fields}",
                                serde_json::to_string(&from_runner).unwrap(),
                            ));
                        }
                        Ok((from_kwctl, _)) => agreed.lock().unwrap().push((case, from_kwctl)),
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} cases: kwctl and the runner ({}; is it up to date? `make runner`) disagree:\n\n{}",
        failures.len(),
        cases.len(),
        runner_bin().display(),
        failures.join("\n\n")
    );
    // Not vacuous: the cases cover denials, warnings and patches.
    let agreed = agreed.into_inner().unwrap();
    let count = |f: &dyn Fn(&Value) -> bool| agreed.iter().filter(|(_, r)| f(r)).count();
    assert!(count(&|r| r["allowed"] == false) > 0, "no case was denied");
    assert!(count(&|r| r["patch"].is_string()) > 0, "no case was mutated");
    assert!(count(&|r| r["warnings"].as_array().is_some_and(|w| !w.is_empty())) > 0, "no case warned");
    println!("{} cases: kwctl and the runner agree", agreed.len());
}
