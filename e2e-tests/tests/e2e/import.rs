//! `registry-guard import`: policies written for Kyverno, Gatekeeper,
//! OpenShift and Kubewarden's trusted-repos, imported, accepted by the
//! built policy.wasm, and run against Pods (and ImageStreams, for OpenShift's
//! import rule) with the verdicts the original engine gives, written down per
//! case from its documented behaviour. Where registry-guard decides
//! otherwise, the case says why (the safe reading): nowhere else.

use registry_guard_e2e::{pod, policy_with_host, repo_root, request};
use registry_guard_runner::import::Imported;
use registry_guard_runner::manifests::read_inputs;
use serde_json::{Value, json};

const DIGEST: &str = "sha256:251ad31786bae2bdf8f9435a21b808b3ddba91ac4bf8d995c416368ed5881c7a";

/// An image, what the original engine answers, what registry-guard answers,
/// and why they differ (empty when they agree).
struct Case {
    image: String,
    original: bool,
    ours: bool,
    why: &'static str,
}

fn case(image: &str, original: bool, ours: bool, why: &'static str) -> Case {
    Case { image: image.to_string(), original, ours, why }
}

fn same(image: &str, allowed: bool) -> Case {
    case(image, allowed, allowed, "")
}

fn import(fixture: &str) -> (Value, Imported) {
    let path = repo_root().join("e2e-tests/fixtures/import").join(fixture);
    let documents = read_inputs(&[path.display().to_string()]).unwrap();
    let imported = Imported::read(&documents);
    // The YAML printed is what the JSON says.
    let printed: Value = serde_yaml::from_str(&imported.yaml()).unwrap();
    assert_eq!(printed, imported.settings(), "{fixture}: the printed YAML");
    (imported.settings(), imported)
}

fn run(fixture: &str, sigstore: Option<&str>, object_of: impl Fn(&str) -> Value, cases: &[Case]) {
    let (settings, imported) = import(fixture);
    assert!(imported.untranslatable.is_empty(), "{fixture}: {:?}", imported.untranslatable);
    let policy = policy_with_host(None, sigstore);
    let verdict = policy.validate_settings(&settings);
    assert!(verdict.valid, "{fixture}: {:?}", verdict.message);
    for case in cases {
        assert!(
            case.original == case.ours || !case.why.is_empty(),
            "{fixture}: {}: a difference needs a reason",
            case.image
        );
        let response = policy.validate(&request("CREATE", &object_of(&case.image)), &settings);
        assert_eq!(response.accepted, case.ours, "{fixture}: {}: {:?}", case.image, response.message);
    }
}

#[test]
fn kyverno_restrict_image_registries_from_the_eks_workshop() {
    let cases = [
        same("public.ecr.aws/eks-distro/kubernetes/pause:3.9", true),
        same("docker.io/library/nginx:1.27", false),
        same("nginx", false),
        case("PUBLIC.ECR.AWS/x/y:1", false, true, "the same registry: Kyverno compared the string as written"),
        case("public.ecr.aws:443/x/y:1", false, true, "the same registry on its default port"),
    ];
    run("kyverno-restrict-image-registries.yaml", None, |image| pod(&[image]), &cases);
    // Kyverno's pattern named containers only: an init container slipped by.
    let (settings, imported) = import("kyverno-restrict-image-registries.yaml");
    assert!(imported.notes.iter().any(|n| n.contains("checked only containers")), "{:?}", imported.notes);
    let mut object = pod(&["public.ecr.aws/x/app:1"]);
    object["spec"]["initContainers"] = json!([{"name": "init", "image": "docker.io/library/busybox:1.36"}]);
    let response = policy_with_host(None, None).validate(&request("CREATE", &object), &settings);
    assert!(!response.accepted, "Kyverno admitted it (the seed's gap); registry-guard refuses it");
}

#[test]
fn kyverno_disallow_latest_tag_from_the_library() {
    let cases = [
        same("nginx:1.27", true),
        same("nginx", false),
        same("nginx:latest", false),
        same(&format!("nginx@{DIGEST}"), true),
        case(
            "localhost:5000/app",
            true,
            false,
            "Kyverno's *:* matched the port's colon; the image has no tag, so :latest",
        ),
    ];
    run("kyverno-disallow-latest-tag.yaml", None, |image| pod(&[image]), &cases);
    let (_, imported) = import("kyverno-disallow-latest-tag.yaml");
    assert!(imported.notes.iter().any(|n| n.contains("mode: monitor")), "Audit is monitor: {:?}", imported.notes);
}

#[test]
fn kyverno_verify_image_from_the_library() {
    let cases = [
        same("ghcr.io/acme/api:1.4", true),
        same("ghcr.io/acme/web:3", false),
        same("ghcr.io/acme/legacy:0.9", false),
        same("quay.io/coreos/etcd:v3.5.9", true),
    ];
    run("kyverno-verify-image.yaml", Some("examples/signatures/sigstore.yaml"), |image| pod(&[image]), &cases);
}

#[test]
fn gatekeeper_allowed_repos_and_disallowed_tags() {
    let cases = [
        same("openpolicyagent/opa:0.9.2", true),
        same("gcr.io/google-containers/pause:3.9", true),
        case(
            "gcr.io.evil.com/x:1",
            true,
            false,
            "Gatekeeper's repos are string prefixes: gcr.io also admitted gcr.io.evil.com",
        ),
        same("nginx:1.27", false),
        same("openpolicyagent/opa:latest", false),
        same("openpolicyagent/opa-exp:latest", true),
        same("openpolicyagent/opa-exp2:latest", true),
    ];
    run("gatekeeper-constraints.yaml", None, |image| pod(&[image]), &cases);
    let cases = [same("nginx:1", false), same(&format!("nginx@{DIGEST}"), true), same("quay.io/vendor/agent:2", true)];
    run("gatekeeper-image-digests.yaml", None, |image| pod(&[image]), &cases);
}

#[test]
fn openshift_registry_sources_for_pods() {
    let cases = [
        same("quay.io/x/y:1", true),
        same("registry.redhat.io/ubi9/ubi:9.4", true),
        same("docker.io/library/nginx:1", false),
        same("image-registry.openshift-image-registry.svc:5000/ns/app:1", true),
    ];
    run("openshift-registry-sources.yaml", None, |image| pod(&[image]), &cases);
}

#[test]
fn openshift_allowed_registries_for_import_on_image_streams() {
    let stream = |image: &str| {
        json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream", "metadata": {"name": "s", "namespace": "apps"},
               "spec": {"tags": [{"name": "1", "from": {"kind": "DockerImage", "name": image}}]}})
    };
    let cases = [
        same("registry.access.redhat.com/ubi9/ubi:9.4", true),
        same("quay.io/x/y:1", true),
        // insecure: port 80, unless a port is given.
        same("registry.internal.example:80/app:1", true),
        same("registry.internal.example/app:1", false),
        same("mirror.internal.example:5000/app:1", true),
        same("docker.io/library/nginx:1", false),
    ];
    run("openshift-master-config.yaml", None, stream, &cases);
}

#[test]
fn trusted_repos_settings_are_read_as_they_are() {
    let cases = [
        same("registry.corp.example/a:1", true),
        same("quay.io/bitnami/redis:7", false),
        same("quay.io/x/y:latest", false),
        same("docker.io/library/nginx:1", false),
    ];
    run("trusted-repos-settings.yaml", None, |image| pod(&[image]), &cases);
}

#[test]
fn untranslatable_rules_are_listed_with_their_reason() {
    let (settings, imported) = import("kyverno-untranslatable.yaml");
    assert_eq!(imported.untranslatable.len(), 3, "{:?}", imported.untranslatable);
    assert!(imported.untranslatable[0].contains("preconditions (JMESPath over the request) cannot be translated"));
    assert!(imported.untranslatable[1].contains("validate.deny cannot be translated"));
    assert!(
        imported.untranslatable[2]
            .contains("a Kyverno PolicyException exempts objects (by kind, name, namespace), not images")
    );
    // What was translated is still valid settings: the alternatives of one
    // pattern, a registry and a repository, became image patterns.
    assert_eq!(settings["images"]["allow"], json!(["registry.corp.example/*", "quay.io/acme/*"]));
    assert!(policy_with_host(None, None).validate_settings(&settings).valid);
}
