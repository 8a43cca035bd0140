//! The README's "run it" command: the example manifests against
//! examples/settings.yaml, with both verdicts.

use registry_guard_e2e::{policy, repo_root};
use registry_guard_runner::check::check;
use registry_guard_runner::manifests::{read_inputs, read_settings};

#[test]
fn example_manifests_get_the_documented_verdicts() {
    let root = repo_root();
    let settings = read_settings(root.join("examples/settings.yaml").to_str().unwrap()).unwrap();
    let documents = read_inputs(&[root.join("examples/manifests").display().to_string()]).unwrap();
    let verdicts = check(&policy(), &settings, documents).unwrap();
    let lines: Vec<String> = verdicts.iter().map(|v| v.line()).collect();
    assert_eq!(
        lines,
        [
            "ok   Deployment prod/api",
            "deny Pod dev/debug: spec.containers[0].image \"nginx\": registry \"docker.io\" is not allowed (registries.allow: registry.corp.example, *.corp.example, quay.io) and tag \"latest\" (implicit: the image names neither tag nor digest) is rejected (tags.reject: \"latest\"); spec.containers[1].image \"docker.io/library/busybox:1.36\": registry \"docker.io\" is not allowed (registries.allow: registry.corp.example, *.corp.example, quay.io)",
            "ok   StatefulSet ml/model-server",
            "deny Job ml/crypto-miner: spec.template.spec.containers[0].image \"quay.io/untrusted/miner:0.1\": image \"quay.io/untrusted/miner:0.1\" is rejected (images.reject: \"quay.io/untrusted/*\")",
            "deny CronJob batch/nightly-report: spec.jobTemplate.spec.template.spec.containers[0].image \"eu.corp.example/batch/report:2.0.0-rc1\": tag \"2.0.0-rc1\" is rejected (tags.reject: \"*-rc*\")",
        ]
    );
}
