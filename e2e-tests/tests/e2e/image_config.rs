//! `imageConfig` through the built policy.wasm, with image configs answered
//! by the runner's fake registry (`--image-configs`): every rule passing and
//! failing, lookups failing under both `onLookupFailure` settings, images
//! outside `images`, and pinning (the config read is the pinned digest's).

use registry_guard_e2e::{pod, policy_with_files, repo_root, request};
use serde_json::{Value, json};

/// Validates a Pod running `image` under `settings`, configs from `configs`
/// (YAML, written to a scratch file), digests from e2e-tests/fixtures.
fn run(settings: Value, image: &str, configs: &str) -> registry_guard_runner::host::ValidationResponse {
    let dir = std::env::temp_dir().join(format!("rg-image-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file = dir.join(format!("configs-{n}.yaml"));
    std::fs::write(&file, configs).unwrap();
    // An absolute path: joined to the repository root, it stays itself.
    let policy = policy_with_files(Some("e2e-tests/fixtures/digests.yaml"), None, Some(file.to_str().unwrap()));
    let verdict = policy.validate_settings(&settings);
    assert!(verdict.valid, "{:?}", verdict.message);
    policy.validate(&request("CREATE", &pod(&[image])), &settings)
}

fn message(response: &registry_guard_runner::host::ValidationResponse) -> &str {
    response.message.as_deref().unwrap_or_default()
}

const LABELS: &str = r#"{"imageConfig": {"labels": {"require": {"org.opencontainers.image.source": "https://github.com/acme/*"}, "reject": {"com.example.deprecated": "true"}}}}"#;

#[test]
fn labels_present_absent_wrong_and_rejected() {
    let settings: Value = serde_json::from_str(LABELS).unwrap();
    let image = "ghcr.io/acme/app:1";
    let ok = "ghcr.io/acme/app:1:\n  labels: {org.opencontainers.image.source: https://github.com/acme/app}\n";
    assert!(run(settings.clone(), image, ok).accepted);
    let absent = "ghcr.io/acme/app:1:\n  labels: {}\n";
    assert_eq!(
        message(&run(settings.clone(), image, absent)),
        "spec.containers[0].image \"ghcr.io/acme/app:1\": label \"org.opencontainers.image.source\" is missing; it must match \"https://github.com/acme/*\" (imageConfig.labels.require)"
    );
    let wrong = "ghcr.io/acme/app:1:\n  labels: {org.opencontainers.image.source: https://github.com/evil/x, com.example.deprecated: \"true\"}\n";
    assert_eq!(
        message(&run(settings, image, wrong)),
        "spec.containers[0].image \"ghcr.io/acme/app:1\": label \"org.opencontainers.image.source\" is \"https://github.com/evil/x\", which does not match \"https://github.com/acme/*\" (imageConfig.labels.require) and label \"com.example.deprecated\" is \"true\", which matches \"true\" (imageConfig.labels.reject)"
    );
}

#[test]
fn age_old_inside_the_limit_and_unknown() {
    let settings = json!({"imageConfig": {"maxAge": "90d"}});
    let old = run(settings.clone(), "nginx:1", "nginx:1:\n  created: 2025-01-03T10:00:00Z\n");
    assert!(
        message(&old).starts_with("spec.containers[0].image \"nginx:1\": built 2025-01-03T10:00:00Z, "),
        "{}",
        message(&old)
    );
    assert!(message(&old).ends_with(" days ago, older than 90d (imageConfig.maxAge)"));
    // A minute inside the limit (exactly at it is tested against a fixed
    // clock in src/rules/image_config.rs; here the clock moves).
    assert!(run(settings.clone(), "nginx:1", "nginx:1:\n  age: 129599m\n").accepted);
    assert!(!run(settings.clone(), "nginx:1", "nginx:1:\n  age: 91d\n").accepted);
    assert_eq!(
        message(&run(settings.clone(), "nginx:1", "nginx:1:\n  user: \"1\"\n")),
        "spec.containers[0].image \"nginx:1\": its config has no creation time, so its age cannot be checked (imageConfig.maxAge: 90d)"
    );
    let future = run(settings, "nginx:1", "nginx:1:\n  created: 2999-01-01T00:00:00Z\n");
    assert!(
        message(&future).contains("later than now by this host's clock: the image or the clock is wrong"),
        "{}",
        message(&future)
    );
}

#[test]
fn root_and_non_root_users() {
    let settings = json!({"imageConfig": {"user": {"nonRoot": true}}});
    for (user, allowed) in
        [("\"65532\"", true), ("app", true), ("\"0\"", false), ("root", false), ("\"0:0\"", false), ("\"\"", false)]
    {
        let response = run(settings.clone(), "nginx:1", &format!("nginx:1:\n  user: {user}\n"));
        assert_eq!(response.accepted, allowed, "{user}: {:?}", response.message);
    }
    assert_eq!(
        message(&run(settings, "nginx:1", "nginx:1:\n  age: 1d\n")),
        "spec.containers[0].image \"nginx:1\": it sets no user, so it runs as root (imageConfig.user.nonRoot)"
    );
}

#[test]
fn lookup_failures_refuse_or_warn() {
    let configs = "quay.io/private/app:1:\n  error: 'unauthorized: authentication required'\n";
    let response = run(json!({"imageConfig": {"maxAge": "30d"}}), "quay.io/private/app:1", configs);
    assert_eq!(
        message(&response),
        "spec.containers[0].image \"quay.io/private/app:1\": its image config could not be read (imageConfig.onLookupFailure: reject): \"quay.io/private/app:1\": unauthorized: authentication required"
    );
    let response =
        run(json!({"imageConfig": {"maxAge": "30d", "onLookupFailure": "allow"}}), "quay.io/private/app:1", configs);
    assert!(response.accepted);
    assert_eq!(
        response.warnings.unwrap(),
        [
            "spec.containers[0].image \"quay.io/private/app:1\": its image config was not checked (imageConfig.onLookupFailure: allow): \"quay.io/private/app:1\": unauthorized: authentication required"
        ]
    );
}

#[test]
fn images_outside_the_section_pass_without_a_lookup() {
    let settings = json!({"imageConfig": {"images": ["registry.corp.example/*"], "maxAge": "1d"}});
    // Not in the file: a lookup would fail and refuse it.
    let response = run(settings, "nginx:1", "registry.corp.example/x:1:\n  age: 1h\n");
    assert!(response.accepted, "{:?}", response.message);
}

#[test]
fn a_pinned_image_is_read_at_its_digest() {
    // e2e-tests/fixtures/digests.yaml pins docker.io/library/nginx:1.25.
    let digests: Value =
        serde_yaml::from_str(&std::fs::read_to_string(repo_root().join("e2e-tests/fixtures/digests.yaml")).unwrap())
            .unwrap();
    let pinned = digests["nginx:1.25"].as_str().expect("nginx:1.25 in digests.yaml").to_string();
    let settings = json!({"digests": {"pin": "required"}, "imageConfig": {"user": {"nonRoot": true}}});
    // The config under the tag says root; at the pinned digest, non-root:
    // the digest's is the one read.
    let configs = format!("docker.io/library/nginx@{pinned}:\n  user: \"101\"\nnginx:1.24:\n  user: root\n");
    let response = run(settings.clone(), "nginx:1.25", &configs);
    assert!(response.accepted, "{:?}", response.message);
    assert_eq!(response.mutated_object.unwrap()["spec"]["containers"][0]["image"], format!("nginx:1.25@{pinned}"));
    let configs = format!("docker.io/library/nginx@{pinned}:\n  user: root\n");
    assert_eq!(
        message(&run(settings, "nginx:1.25", &configs)),
        format!(
            "spec.containers[0].image \"nginx:1.25\" (pulled as \"docker.io/library/nginx:1.25@{pinned}\"): it runs as user \"root\", which is root (imageConfig.user.nonRoot)"
        )
    );
}
