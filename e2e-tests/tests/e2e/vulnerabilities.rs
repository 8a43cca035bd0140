//! `vulnerabilities` through the built policy.wasm: in the runner
//! (`registry-guard check --reports … --now …`, deterministic), and in kwctl
//! (policy-evaluator, the PolicyServer's host), which replays the list calls
//! the runner recorded (`!KubernetesListResourceNamespace` exchanges) through
//! the annotated module with `--allow-context-aware`, for both report kinds.
//!
//! kwctl reads the real clock, so its cases use the example reports with
//! every time shifted by (now − the examples' `--now`): the same ages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use registry_guard::rules::image_config::{now, rfc3339, unix_seconds};
use registry_guard_e2e::{policy_path, repo_root, runner_bin};
use registry_guard_runner::admission::{Document, classify, create_request};
use registry_guard_runner::manifests::read_inputs;
use serde_json::{Value, json};

use crate::kwctl::{Kwctl, describe, path};

const DIR: &str = "examples/vulnerabilities";
/// The time the examples are written for.
const NOW: &str = "2026-12-01T12:00:00Z";

fn runner(args: &[&str]) -> Output {
    Command::new(runner_bin())
        .current_dir(repo_root())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (build it with `make runner`)", runner_bin().display()))
}

fn example(file: &str) -> String {
    format!("{DIR}/{file}")
}

/// `check` of the example manifests with the example settings and digests,
/// these reports files, at `now`.
fn check_examples(reports: &[&str], now: &str) -> Output {
    let (settings, digests, manifests) =
        (example("settings.yaml"), example("digests.yaml"), example("manifests/shop.yaml"));
    let policy = policy_path();
    let mut args =
        vec!["check", "--settings", &settings, "--digests", &digests, "--now", now, "--policy", path(&policy)];
    let files: Vec<String> = reports.iter().map(|file| example(file)).collect();
    for file in &files {
        args.extend(["--reports", file.as_str()]);
    }
    args.push(&manifests);
    runner(&args)
}

#[test]
fn check_with_reports_and_a_fixed_clock_gives_every_verdict() {
    let output = check_examples(&["trivy-reports.yaml", "sbomscanner-reports.yaml"], NOW);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let search = "sha256:2419329067823cab5b4e5ac5dd18a6abf1f57f45e753f5fc934292f3085a3717";
    let moved_from = "sha256:6c9faefc819f093ff798b77d6f94cf294f3079f4a8991ba11b72e29743f79374";
    assert_eq!(
        lines,
        [
            "ok   Deployment shop/api".to_string(),
            // CVE-2024-3094 is excepted for cart until 2027-01-31.
            "ok   Deployment shop/cart".to_string(),
            format!("deny Deployment shop/search: spec.template.spec.containers[0].image \"ghcr.io/acme/shop/search:3.0.0\": it has not been scanned yet: no trivy-operator or sbomscanner VulnerabilityReport in namespace shop, sbomscanner is for its digest {search} (vulnerabilities.missingReport: deny); reports of the same tag at another digest are stale (the tag moved since the scan) and not used: VulnerabilityReport shop/replicaset-search-6f8d7c9b4-app (trivy-operator) :3.0.0 at {moved_from}"),
            "deny Deployment shop/legacy: spec.template.spec.containers[0].image \"ghcr.io/acme/shop/legacy:0.9\": its scan report VulnerabilityReport shop/replicaset-legacy-58b6c7d9f-app (trivy-operator): the scan is 21 days 3 hours old, older than 168h (vulnerabilities.maxAge)".to_string(),
            "deny Deployment shop/new: spec.template.spec.containers[0].image \"ghcr.io/acme/shop/new:1.0.0\": it has not been scanned yet: no trivy-operator or sbomscanner VulnerabilityReport in namespace shop, sbomscanner is for its digest sha256:11507a0e2f5e69d5dfa40a62a1bd7b6ee57e6bcd85c67c9b8431b36fff21c437 (vulnerabilities.missingReport: deny)".to_string(),
            // A multi-platform image: its tag's index digest is the reports' indexDigest;
            // the critical finding is VEX not_affected.
            "ok   Deployment shop/worker".to_string(),
            "deny Deployment shop/batch: spec.template.spec.containers[0].image \"ghcr.io/acme/shop/batch:1.1\": the age of its scan report cannot be known, so it is not used (vulnerabilities): VulnerabilityReport sbomscanner/4bb24efc9641afc5ded1ca77eabb6e2fcf062d2112ccd61bd8bd6acd89180bae (sbomscanner): its ScanJob (uid 0e2f19af-2de4-496e-88e8-65b9abcb0199) is gone from namespace sbomscanner, so when it was scanned cannot be known".to_string(),
        ]
    );
    // Two months later, the exception for cart has expired, and every scan is too old.
    let output = check_examples(&["trivy-reports.yaml"], "2027-02-01T00:00:00Z");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("deny Deployment shop/api: spec.template.spec.containers[0].image \"ghcr.io/acme/shop/api:2.4.1\": its scan report VulnerabilityReport shop/replicaset-api-7d9f8c6b5-app (trivy-operator): the scan is 62 days 16 hours old, older than 168h (vulnerabilities.maxAge)"), "{stdout}");
}

#[test]
fn now_fixes_the_clock_of_image_config_max_age_too() {
    let config = repo_root().join("target").join(format!("rg-now-{}.yaml", std::process::id()));
    std::fs::write(&config, "imageConfig: {maxAge: 30d}\n").unwrap();
    let configs = "registry.corp.example/team/api:1.4.2: {created: \"2026-11-01T00:00:00Z\", user: \"1\"}\n";
    let configs_file = config.with_extension("configs.yaml");
    std::fs::write(&configs_file, configs).unwrap();
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default}\nspec:\n  containers: [{name: c, image: registry.corp.example/team/api:1.4.2}]\n";
    let pod_file = config.with_extension("pod.yaml");
    std::fs::write(&pod_file, pod).unwrap();
    let check = |now: &str| {
        let output = runner(&[
            "check",
            "--settings",
            path(&config),
            "--image-configs",
            path(&configs_file),
            "--now",
            now,
            "--policy",
            path(&policy_path()),
            path(&pod_file),
        ]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert_eq!(check("2026-11-20T00:00:00Z").trim(), "ok   Pod default/p");
    assert!(
        check("2027-01-01T00:00:00Z")
            .contains("built 2026-11-01T00:00:00Z, 61 days ago, older than 30d (imageConfig.maxAge)"),
        "{}",
        check("2027-01-01T00:00:00Z")
    );
    let output = runner(&["check", "--now", "yesterday", path(&pod_file)]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--now \"yesterday\" is not an RFC 3339 time"));
}

#[test]
fn check_help_prints_the_usage() {
    for flag in ["--help", "-h"] {
        let output = runner(&["check", flag]);
        assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains("registry-guard check [--policy PATH]") && stdout.contains("--reports FILE"),
            "{stdout}"
        );
    }
}

/// Every RFC 3339 time of `value` moved by `shift` seconds.
fn shifted(value: &mut Value, shift: i64) {
    match value {
        Value::String(s) => {
            if let Some(t) = unix_seconds(s) {
                *s = rfc3339(t + shift);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| shifted(v, shift)),
        Value::Object(map) => map.values_mut().for_each(|v| shifted(v, shift)),
        _ => {}
    }
}

/// The example reports, shifted to now, as files in `scratch`.
fn reports_now(scratch: &Path) -> Vec<PathBuf> {
    let shift = now() - unix_seconds(NOW).unwrap();
    ["trivy-reports.yaml", "sbomscanner-reports.yaml"]
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(repo_root().join(example(file))).unwrap();
            let mut value: Value = serde_yaml::from_str(&text).unwrap();
            shifted(&mut value, shift);
            let out = scratch.join(file);
            std::fs::write(&out, serde_yaml::to_string(&value).unwrap()).unwrap();
            out
        })
        .collect()
}

/// The `status.message` (or `allowed`) kwctl answered for `review`, replaying
/// the runner's host calls, and the runner's own.
fn both(kwctl: &Kwctl, annotated: &Path, review: &Path, settings: &Path, reports: &[PathBuf]) -> (Value, Value) {
    let session = review.with_extension("session.yml");
    let policy = policy_path();
    let mut args = vec!["check", "--policy", path(&policy), "--settings", path(settings)];
    args.extend(["--digests", "examples/vulnerabilities/digests.yaml"]);
    for file in reports {
        args.extend(["--reports", path(file)]);
    }
    args.extend(["--record-host-calls", path(&session), path(review)]);
    let output = runner(&args);
    assert!(matches!(output.status.code(), Some(0 | 1)), "{}", describe(&output));
    let from_runner: Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}\n{}", describe(&output)));

    let mut args = kwctl.run_args();
    args.extend(
        [
            "--allow-context-aware",
            "--request-path",
            path(review),
            "--settings-path",
            path(settings),
            "--replay-host-capabilities-interactions",
            path(&session),
            path(annotated),
        ]
        .map(String::from),
    );
    let output = kwctl.command().args(&args).output().unwrap();
    assert!(output.status.success(), "kwctl: {}", describe(&output));
    assert!(!String::from_utf8_lossy(&output.stderr).contains("have not been replayed"), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    let from_kwctl: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}\n{}", describe(&output)));
    let said = |r: &Value| json!({"allowed": r["allowed"], "message": r["status"]["message"]});
    (said(&from_kwctl), said(&from_runner))
}

#[test]
fn kwctl_replays_the_list_calls_and_decides_as_the_runner_for_both_report_kinds() {
    let Some(kwctl) = Kwctl::find("vulnerabilities") else { return };
    let annotated = kwctl.annotate();
    let reports = reports_now(&kwctl.scratch);
    // The example settings, the exception's date moved as the reports were.
    let shift = now() - unix_seconds(NOW).unwrap();
    let expires = &rfc3339(unix_seconds("2027-01-31T00:00:00Z").unwrap() + shift)[..10];
    let text =
        std::fs::read_to_string(repo_root().join(example("settings.yaml"))).unwrap().replace("2027-01-31", expires);
    let settings = kwctl.scratch.join("settings.yaml");
    std::fs::write(&settings, text).unwrap();

    let documents = read_inputs(&[repo_root().join(example("manifests/shop.yaml")).display().to_string()]).unwrap();
    let mut verdicts = Vec::new();
    for (n, document) in documents.into_iter().flat_map(|d| classify(d.value).unwrap()).enumerate() {
        let Document::Object(object) = document else { panic!("not a manifest") };
        let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                            "request": create_request(&object, &format!("vulnerabilities-{n}"))});
        let file = kwctl.scratch.join(format!("review-{n}.json"));
        std::fs::write(&file, serde_json::to_vec(&review).unwrap()).unwrap();
        let (from_kwctl, from_runner) = both(&kwctl, &annotated, &file, &settings, &reports);
        assert_eq!(from_kwctl, from_runner, "{}", object["metadata"]["name"]);
        verdicts.push((object["metadata"]["name"].as_str().unwrap().to_string(), from_kwctl["allowed"] == true));
    }
    let allowed: Vec<&str> = verdicts.iter().filter(|(_, ok)| *ok).map(|(n, _)| n.as_str()).collect();
    // api and cart (trivy-operator), worker (sbomscanner, dated by its ScanJob).
    assert_eq!(allowed, ["api", "cart", "worker"]);
    assert_eq!(verdicts.len(), 7);
}
