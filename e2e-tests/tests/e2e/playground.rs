//! The playground gives the same verdicts and messages as policy.wasm in
//! the runner: its engine (`registry_guard_playground::check`, the code the
//! page runs, here natively) against `registry-guard check` on the built
//! policy.wasm, over every example and e2e fixture whose host lookups a
//! browser can answer (digests, from the same fake-registry file; not
//! signatures or image configs, which fail in the page by design).

use registry_guard_e2e::{policy_with_host, repo_root};
use registry_guard_runner::check::check;
use registry_guard_runner::manifests::{read_inputs, read_settings};

/// (settings file, digests file, inputs): what `make run` and the e2e tests check.
const CASES: &[(&str, Option<&str>, &[&str])] = &[
    ("examples/settings.yaml", None, &["examples/manifests"]),
    ("examples/mutation/settings.yaml", Some("examples/mutation/digests.yaml"), &["examples/mutation/manifests"]),
    ("examples/everywhere/settings.yaml", None, &["examples/everywhere/manifests"]),
    ("examples/settings.yaml", None, &["examples/everywhere/manifests", "e2e-tests/fixtures/upstream"]),
    (
        "e2e-tests/fixtures/settings.yaml",
        None,
        &[
            "e2e-tests/fixtures/deployment-create-review.json",
            "e2e-tests/fixtures/pod-ephemeralcontainers-request.json",
        ],
    ),
    (
        "e2e-tests/fixtures/pin-settings.yaml",
        Some("e2e-tests/fixtures/digests.yaml"),
        &["e2e-tests/fixtures/pod-pin-review.json", "examples/manifests", "examples/mutation/manifests"],
    ),
];

#[test]
fn the_playground_says_what_the_runner_says() {
    let mut compared = 0;
    for (settings_file, digests, inputs) in CASES {
        let root = repo_root();
        let settings = read_settings(root.join(settings_file).to_str().unwrap()).unwrap();
        let paths: Vec<String> = inputs.iter().map(|i| root.join(i).display().to_string()).collect();
        let runner = check(&policy_with_host(*digests, None), &settings, read_inputs(&paths).unwrap()).unwrap();

        let settings_text = std::fs::read_to_string(root.join(settings_file)).unwrap();
        let answers = digests.map(|d| std::fs::read_to_string(root.join(d)).unwrap()).unwrap_or_default();
        let mut playground = Vec::new();
        for path in &paths {
            let files = if std::path::Path::new(path).is_dir() {
                let mut files: Vec<_> = walk(std::path::Path::new(path));
                files.sort();
                files
            } else {
                vec![std::path::PathBuf::from(path)]
            };
            for file in files {
                let text = std::fs::read_to_string(&file).unwrap();
                let report = registry_guard_playground::check(&settings_text, &text, &answers);
                assert_eq!(report.input_errors, [], "{}", file.display());
                assert_eq!(report.settings_errors, [], "{settings_file}");
                playground.extend(report.verdicts.into_iter().map(|v| (file.clone(), v)));
            }
        }
        assert_eq!(runner.len(), playground.len(), "{settings_file} on {inputs:?}");
        for (ours, (file, theirs)) in runner.iter().zip(&playground) {
            // The runner names files by path; the playground's one input is
            // `manifests`: only unnamed objects' lines would differ.
            // Likewise the fake registry: a file there, "fake answers" here.
            let same = |text: &str| match digests {
                Some(file) => text.replace(&format!("is not in {file}"), "is not in fake answers"),
                None => text.to_string(),
            };
            let line = same(&ours.line()).replace(&format!("({}#", ours.source), "(manifests#");
            assert_eq!(line, theirs.line, "{settings_file}: {}", file.display());
            let warnings: Vec<String> = ours.warnings.iter().map(|w| same(w)).collect();
            assert_eq!(warnings, theirs.warnings, "{}", ours.line());
            assert_eq!(ours.patch, theirs.patch, "{}", ours.line());
            compared += 1;
        }
    }
    assert!(compared >= 100, "{compared} verdicts compared");
}

/// The manifest files under `dir`, as the runner reads a folder.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json") {
            out.push(path);
        }
    }
    out
}
