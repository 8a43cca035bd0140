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

/// examples/everywhere: images outside container lists, and a custom
/// resource's through imageFields; parameters are warned about.
#[test]
fn everywhere_example_gets_the_documented_verdicts() {
    let root = repo_root();
    let settings = read_settings(root.join("examples/everywhere/settings.yaml").to_str().unwrap()).unwrap();
    let documents = read_inputs(&[root.join("examples/everywhere/manifests").display().to_string()]).unwrap();
    let verdicts = check(&policy(), &settings, documents).unwrap();
    let lines: Vec<String> = verdicts
        .iter()
        .flat_map(|v| std::iter::once(v.line()).chain(v.warnings.iter().map(|w| format!("     warning: {w}"))))
        .collect();
    assert_eq!(
        lines,
        [
            "ok   Workflow batch/nightly-report",
            "     warning: spec.templates[2].container.image \"{{workflow.parameters.image}}\" is an Argo Workflows template expression, not an image: it is not checked here; registry-guard checks the image when the Pod that runs it is created",
            "deny BatchRunner batch/etl: spec.runners[1].image \"ghcr.io/someone/loader:latest\": registry \"ghcr.io\" is not allowed (registries.allow: public.ecr.aws, *.corp.example) and tag \"latest\" is rejected (tags.reject: \"latest\")",
            "deny VirtualMachine vms/fedora: spec.template.spec.volumes[1].containerDisk.image \"quay.io/kubevirt/virtio-container-disk:v1.3.0\": registry \"quay.io\" is not allowed (registries.allow: public.ecr.aws, *.corp.example)",
            "ok   ImageStream apps/ubi",
            "deny BuildConfig apps/api: spec.strategy.dockerStrategy.from.name \"docker.io/library/golang:1.22\": registry \"docker.io\" is not allowed (registries.allow: public.ecr.aws, *.corp.example)",
            "deny Provider provider-aws-s3: spec.package \"xpkg.upbound.io/upbound/provider-aws-s3:v1.14.0\": registry \"xpkg.upbound.io\" is not allowed (registries.allow: public.ecr.aws, *.corp.example)",
            "ok   ClusterAdmissionPolicy privileged-pods",
            "deny PipelineRun ci/build-app: spec.pipelineSpec.tasks[0].taskSpec.sidecars[0].image \"docker:24-dind\": registry \"docker.io\" is not allowed (registries.allow: public.ecr.aws, *.corp.example)",
            "     warning: spec.pipelineSpec.tasks[0].taskSpec.steps[1].image \"$(params.builder)\" is a Tekton parameter or result reference, not an image: it is not checked here; registry-guard checks the image when the Pod that runs it is created",
        ]
    );
}

/// examples/image-config: labels, age and user from each image's config,
/// answered from examples/image-config/image-configs.yaml (ages relative to
/// now, so the dates in messages move; the rest is pinned).
#[test]
fn image_config_example_gets_the_documented_verdicts() {
    let root = repo_root();
    let settings = read_settings(root.join("examples/image-config/settings.yaml").to_str().unwrap()).unwrap();
    let documents = read_inputs(&[root.join("examples/image-config/manifests").display().to_string()]).unwrap();
    let policy = registry_guard_e2e::policy_with_files(None, None, Some("examples/image-config/image-configs.yaml"));
    let verdicts = check(&policy, &settings, documents).unwrap();
    let lines: Vec<String> = verdicts.iter().map(|v| v.line()).collect();
    assert_eq!(lines[0], "ok   Deployment prod/api");
    assert_eq!(
        lines[1],
        "deny Pod dev/fork: spec.containers[0].image \"registry.corp.example/team/fork:2\": label \"org.opencontainers.image.source\" is \"https://github.com/someone-else/fork\", which does not match \"https://github.com/acme/*\" (imageConfig.labels.require)"
    );
    assert_eq!(
        lines[2],
        "deny Pod dev/private: spec.containers[0].image \"registry.corp.example/team/private:1\": its image config could not be read (imageConfig.onLookupFailure: reject): \"registry.corp.example/team/private:1\": unauthorized: authentication required"
    );
    let legacy = &lines[3];
    assert!(
        legacy.starts_with("deny CronJob batch/legacy-report: spec.jobTemplate.spec.template.spec.containers[0].image \"registry.corp.example/team/legacy:0.9\": label \"com.example.deprecated\" is \"true\", which matches \"true\" (imageConfig.labels.reject) and built 20"),
        "{legacy}"
    );
    assert!(
        legacy.ends_with(", 400 days ago, older than 90d (imageConfig.maxAge) and it runs as user \"root\", which is root (imageConfig.user.nonRoot)"),
        "{legacy}"
    );
    // Every platform of the multi-platform image is read; arm64 runs as root.
    assert_eq!(
        lines[4],
        "deny DaemonSet ops/node-agent: spec.template.spec.containers[0].image \"registry.corp.example/team/multi:3\": linux/arm64/v8: it runs as user \"root\", which is root (imageConfig.user.nonRoot)"
    );
    // nginx is outside imageConfig.images: only the corp images were asked
    // about: each manifest, then its config (an index's, platform by platform).
    let asked: Vec<String> = verdicts
        .iter()
        .flat_map(|v| {
            v.host_calls.iter().map(|c| format!("{} {}", c.capability.rsplit('/').next().unwrap(), c.request))
        })
        .collect();
    let multi = |platform: usize| {
        let calls = &verdicts[4].host_calls;
        format!("oci_manifest_config {}", calls[platform].request)
    };
    assert_eq!(
        asked,
        [
            "oci_manifest registry.corp.example/team/api:1.4.2".to_string(),
            "oci_manifest_config registry.corp.example/team/api:1.4.2".to_string(),
            "oci_manifest registry.corp.example/team/fork:2".to_string(),
            "oci_manifest_config registry.corp.example/team/fork:2".to_string(),
            "oci_manifest registry.corp.example/team/private:1".to_string(),
            "oci_manifest registry.corp.example/team/legacy:0.9".to_string(),
            "oci_manifest_config registry.corp.example/team/legacy:0.9".to_string(),
            "oci_manifest registry.corp.example/team/multi:3".to_string(),
            multi(1),
            multi(2),
        ]
    );
    assert!(multi(1).contains("registry.corp.example/team/multi@sha256:"), "{}", multi(1));
}

/// examples/ci: the GitHub Actions and GitLab CI jobs the README shows are
/// YAML of the right shape, and run `registry-guard check` with options the
/// runner accepts.
#[test]
fn ci_examples_are_jobs_that_run_the_check() {
    let root = repo_root();
    let github: serde_json::Value =
        serde_yaml::from_str(&std::fs::read_to_string(root.join("examples/ci/github-actions.yml")).unwrap()).unwrap();
    let steps = github["jobs"]["check"]["steps"].as_array().expect("jobs.check.steps");
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    let check = runs.iter().find(|r| r.contains("registry-guard check")).expect("a step runs the check");
    assert!(check.contains("--format github") && check.contains("--settings"), "{check}");
    assert!(github["on"]["pull_request"].is_object());

    let gitlab: serde_json::Value =
        serde_yaml::from_str(&std::fs::read_to_string(root.join("examples/ci/gitlab-ci.yml")).unwrap()).unwrap();
    let job = &gitlab["registry-guard"];
    let script = job["script"][0].as_str().expect("a script line");
    assert!(script.contains("| ./registry-guard check") && script.contains("--format junit -"), "{script}");
    assert_eq!(job["artifacts"]["reports"]["junit"], "registry-guard.xml");

    // Every option they pass is one the runner knows (its usage lists them).
    let usage = std::process::Command::new(registry_guard_e2e::runner_bin()).arg("help").output().unwrap();
    let usage = String::from_utf8_lossy(&usage.stdout);
    for line in [*check, script] {
        let (_, ours) = line.split_once("registry-guard check").unwrap();
        for option in ours.split_whitespace().filter(|w| w.starts_with("--")) {
            assert!(usage.contains(option), "{option} is not a registry-guard option");
        }
    }
}
