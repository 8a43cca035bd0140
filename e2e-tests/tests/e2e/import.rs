//! `registry-guard import`: policies written for Kyverno, Gatekeeper,
//! OpenShift and Kubewarden's trusted-repos, imported, accepted by the
//! built policy.wasm, and run against Pods (and ImageStreams, for OpenShift's
//! import rule) with the verdicts the original engine gives, written down per
//! case from its documented behaviour. Where registry-guard decides
//! otherwise, the case says why (the safe reading): nowhere else.

use registry_guard_e2e::{pod, policy_with_host, repo_root, request};
use registry_guard_runner::import::{Imported, Options};
use registry_guard_runner::manifests::{parse_documents, read_inputs};
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
    import_with(fixture, &Options::default())
}

fn import_with(fixture: &str, options: &Options) -> (Value, Imported) {
    let path = repo_root().join("e2e-tests/fixtures/import").join(fixture);
    let documents = read_inputs(&[path.display().to_string()]).unwrap();
    let imported = Imported::read_with(&documents, options);
    // The YAML printed is what the JSON says.
    let printed: Value = serde_yaml::from_str(&imported.yaml()).unwrap();
    assert_eq!(printed, imported.settings(), "{fixture}: the printed YAML");
    (imported.settings(), imported)
}

fn run(fixture: &str, sigstore: Option<&str>, object_of: impl Fn(&str) -> Value, cases: &[Case]) {
    run_with(fixture, &Options::default(), sigstore, object_of, cases)
}

fn run_with(
    fixture: &str,
    options: &Options,
    sigstore: Option<&str>,
    object_of: impl Fn(&str) -> Value,
    cases: &[Case],
) {
    let (settings, imported) = import_with(fixture, options);
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
    // The library's policy is Audit: Kyverno reports, never blocks. As a
    // policy it is a monitor-mode resource, whose verdicts (reported, not
    // enforced) are the ones above.
    let as_policy = Options { as_policy: Some("disallow-latest-tag".into()) };
    run_with("kyverno-disallow-latest-tag.yaml", &as_policy, None, |image| pod(&[image]), &cases);
    let (_, imported) = import_with("kyverno-disallow-latest-tag.yaml", &as_policy);
    let resource: Value = serde_yaml::from_str(&imported.policy_yaml("disallow-latest-tag")).unwrap();
    assert_eq!(resource["spec"]["mode"], "monitor", "Audit is monitor");
    assert_eq!(resource["spec"]["settings"], imported.settings());
    assert!(policy_with_host(None, None).validate_settings(&resource["spec"]["settings"]).valid);
    // As settings alone they would be enforced: not silently.
    let (_, imported) = import("kyverno-disallow-latest-tag.yaml");
    assert_eq!(imported.untranslatable.len(), 2, "{:?}", imported.untranslatable);
    assert!(imported.untranslatable[0].contains(
        "rule require-image-tag: failureAction Audit (Kyverno reports it, never blocks); these settings would enforce it"
    ));
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

/// Imports YAML written inline.
fn import_text(text: &str, options: &Options) -> Imported {
    Imported::read_with(&parse_documents("inline.yaml", text).unwrap(), options)
}

/// Gatekeeper's K8sAllowedRepos with an empty, missing or null `repos`
/// refuses every container (no prefix matches); so do the imported settings.
#[test]
fn gatekeeper_allowed_repos_without_repos_denies_every_image() {
    for repos in ["repos: []", "repos: null", "{}"] {
        let parameters = if repos == "{}" { "parameters: {}".to_string() } else { format!("parameters:\n    {repos}") };
        let text = format!(
            "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sAllowedRepos\nmetadata:\n  name: repo-is-nothing\nspec:\n  {parameters}\n"
        );
        let imported = import_text(&text, &Options::default());
        assert!(imported.untranslatable.is_empty(), "{repos}: {:?}", imported.untranslatable);
        let settings = imported.settings();
        assert_eq!(settings, json!({"registries": {"allow": []}}), "{repos}");
        assert!(imported.yaml().contains(
            "# NOTE: inline.yaml#1 K8sAllowedRepos repo-is-nothing allows no image: these settings allow no image"
        ));
        let policy = policy_with_host(None, None);
        for image in ["nginx:1", "gcr.io/x/y:1", &format!("quay.io/a/b@{DIGEST}")] {
            let response = policy.validate(&request("CREATE", &pod(&[image])), &settings);
            assert!(!response.accepted, "{repos}: {image}");
        }
    }
}

/// Rules the source only reports (Gatekeeper dryrun and warn, Kyverno
/// Audit, its default, and background-only) are never enforced silently:
/// listed as not translated, or a monitor-mode resource with --as-policy.
#[test]
fn switched_off_rules_are_monitor_mode_or_listed() {
    let gatekeeper = |action: &str| {
        format!(
            "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sAllowedRepos\nmetadata:\n  name: r\nspec:\n  enforcementAction: {action}\n  parameters:\n    repos: [\"gcr.io/\"]\n"
        )
    };
    let kyverno = |spec: &str| {
        format!(
            "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: k\nspec:\n{spec}  rules:\n    - name: r\n      validate:\n        pattern:\n          spec:\n            containers:\n              - image: \"gcr.io/*\"\n"
        )
    };
    let cases = [
        (gatekeeper("dryrun"), "enforcementAction: dryrun (Gatekeeper only records the violation for audit)"),
        (gatekeeper("warn"), "enforcementAction: warn (Gatekeeper admits the object with a warning)"),
        (kyverno(""), "no failureAction: Kyverno's default, Audit, reports it, never blocks"),
        (kyverno("  validationFailureAction: Audit\n"), "failureAction Audit (Kyverno reports it, never blocks)"),
        (
            kyverno("  validationFailureAction: Enforce\n  admission: false\n"),
            "spec.admission: false (Kyverno applies it in background scans only, never at admission)",
        ),
    ];
    for (text, why) in cases {
        let imported = import_text(&text, &Options::default());
        assert_eq!(imported.untranslatable.len(), 1, "{text}: {:?}", imported.untranslatable);
        assert!(imported.untranslatable[0].contains(why), "{:?}", imported.untranslatable);
        assert!(imported.untranslatable[0].contains("these settings would enforce it"));
        let imported = import_text(&text, &Options { as_policy: Some("p".into()) });
        assert!(imported.untranslatable.is_empty(), "{text}: {:?}", imported.untranslatable);
        let resource: Value = serde_yaml::from_str(&imported.policy_yaml("p")).unwrap();
        assert_eq!(resource["spec"]["mode"], "monitor", "{text}");
        assert_eq!(resource["spec"]["settings"]["registries"]["allow"], json!(["gcr.io"]));
    }
    // An enforced rule beside a reported one: one policy has one mode.
    let both = format!("{}---\n{}", gatekeeper("deny"), gatekeeper("warn").replace("gcr.io/", "quay.io/"));
    let imported = import_text(&both, &Options { as_policy: Some("p".into()) });
    assert_eq!(imported.untranslatable.len(), 1, "{:?}", imported.untranslatable);
    assert!(imported.untranslatable[0].contains("other rules are enforced and one policy has one mode"));
    let resource: Value = serde_yaml::from_str(&imported.policy_yaml("p")).unwrap();
    assert_eq!(resource["spec"]["mode"], "protect");
}

/// Two sources that each allow a list: in the cluster an image must pass
/// both, so the lists are never joined (which would allow more).
#[test]
fn allow_lists_of_several_sources_are_never_joined() {
    let allowed = |name: &str, repos: &str| {
        format!(
            "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sAllowedRepos\nmetadata:\n  name: {name}\nspec:\n  parameters:\n    repos: {repos}\n"
        )
    };
    let text = format!("{}---\n{}", allowed("a", "[gcr.io/, quay.io/]"), allowed("b", "[quay.io/, \"gcr.io/team/\"]"));
    let imported = import_text(&text, &Options::default());
    assert!(imported.untranslatable.is_empty(), "{:?}", imported.untranslatable);
    let settings = imported.settings();
    assert_eq!(settings["registries"]["allow"], json!(["gcr.io", "quay.io"]));
    assert_eq!(settings["images"]["allow"], json!(["quay.io/*", "gcr.io/team/*"]));
    let policy = policy_with_host(None, None);
    for (image, allowed) in [("quay.io/x/y:1", true), ("gcr.io/team/app:1", true), ("gcr.io/other/app:1", false)] {
        let response = policy.validate(&request("CREATE", &pod(&[image])), &settings);
        assert_eq!(response.accepted, allowed, "{image}: both constraints apply in Gatekeeper");
    }
    // A third list has nowhere to go: listed, never joined.
    let text = format!("{text}---\n{}", allowed("c", "[quay.io/]"));
    let imported = import_text(&text, &Options::default());
    assert_eq!(imported.untranslatable.len(), 1, "{:?}", imported.untranslatable);
    assert!(
        imported.untranslatable[0]
            .starts_with("inline.yaml#3 K8sAllowedRepos c: an image must pass this allow rule and the others")
    );
}

/// The OpenShift docs' example lists a repository with a tag: that image
/// only (it used to end in an internal error).
#[test]
fn openshift_docs_example_with_a_tagged_repository() {
    let cases = [
        same("reg1.io/myrepo/myapp:latest", true),
        same("reg1.io/myrepo/myapp", true),
        same("reg1.io/myrepo/myapp:1.0", false),
        same("reg1.io/myrepo/other:latest", false),
        same(&format!("reg1.io/myrepo/myapp:latest@{DIGEST}"), false),
        same("quay.io/x/y:1", true),
        same("example.com/app:1", true),
        same("docker.io/library/nginx:1", false),
    ];
    run("openshift-docs-allowed-registries.yaml", None, |image| pod(&[image]), &cases);
}

/// blockedRegistries: a host, a wildcard host, a repository (and every one
/// below it, as policy.json scopes read it), a repository at a digest.
#[test]
fn openshift_blocked_repositories() {
    let cases = [
        same("untrusted.com/app:1", false),
        same("a.untrusted.example/app:1", false),
        same("reg1.io/myrepo:1", false),
        same("reg1.io/myrepo/app:1", false),
        same("reg1.io/myrepo-other/app:1", true),
        same(&format!("quay.io/vendor/agent@{DIGEST}"), false),
        same("quay.io/vendor/agent:2", true),
        same("quay.io/x/y:1", true),
    ];
    run("openshift-blocked-repositories.yaml", None, |image| pod(&[image]), &cases);
}

/// `kubectl get clusteradmissionpolicies -o yaml` (a List): trusted-repos'
/// settings, and with --as-policy its rules and namespaceSelector.
#[test]
fn kubewarden_cluster_admission_policies_as_a_list() {
    let cases = [
        same("registry.corp.example/team/app:1", true),
        same("quay.io/x/y:1", true),
        same("quay.io/x/y:latest", false),
        same("docker.io/library/nginx:1", false),
    ];
    let options = Options { as_policy: Some("trusted".into()) };
    run_with("kubewarden-cluster-admission-policies.yaml", &options, None, |image| pod(&[image]), &cases);
    let (_, imported) = import_with("kubewarden-cluster-admission-policies.yaml", &options);
    let resource: Value = serde_yaml::from_str(&imported.policy_yaml("trusted")).unwrap();
    assert_eq!(resource["spec"]["mode"], "protect");
    assert_eq!(resource["spec"]["rules"][1]["resources"], json!(["deployments"]));
    assert_eq!(resource["spec"]["namespaceSelector"]["matchExpressions"][0]["values"], json!(["kube-system"]));
    assert_eq!(resource["spec"]["settings"], imported.settings());
}

/// A policy group of trusted-repos and verify-image-signatures joined by
/// &&, in monitor mode: both sets of rules, mode monitor, its selector.
#[test]
fn kubewarden_policy_group() {
    let cases = [
        same("ghcr.io/acme/api:1.4", true),
        same("ghcr.io/acme/web:3", false),
        same("ghcr.io/other/tool:1", true),
        same("quay.io/x/y:1", false),
    ];
    let options = Options { as_policy: Some("shop".into()) };
    run_with(
        "kubewarden-policy-group.yaml",
        &options,
        Some("examples/signatures/sigstore.yaml"),
        |image| pod(&[image]),
        &cases,
    );
    let (_, imported) = import_with("kubewarden-policy-group.yaml", &options);
    let resource: Value = serde_yaml::from_str(&imported.policy_yaml("shop")).unwrap();
    assert_eq!(resource["spec"]["mode"], "monitor");
    assert_eq!(resource["spec"]["backgroundAudit"], false);
    assert_eq!(resource["spec"]["objectSelector"]["matchLabels"]["app.kubernetes.io/part-of"], "shop");
    assert_eq!(resource["spec"]["mutating"], false);
}

/// Kubewarden resources whose module is not an image policy, or a group
/// whose expression is not a conjunction, are listed.
#[test]
fn kubewarden_resources_that_are_not_image_policies_are_listed() {
    let text = "apiVersion: policies.kubewarden.io/v1\nkind: AdmissionPolicy\nmetadata:\n  name: caps\n  namespace: team\nspec:\n  module: registry://ghcr.io/kubewarden/policies/capabilities-psp:v0.1.0\n  settings: {}\n---\napiVersion: policies.kubewarden.io/v1\nkind: ClusterAdmissionPolicyGroup\nmetadata:\n  name: either\nspec:\n  expression: \"a() || b()\"\n  policies:\n    a: {module: \"ghcr.io/kubewarden/policies/trusted-repos:v1\", settings: {}}\n    b: {module: \"ghcr.io/kubewarden/policies/trusted-repos:v1\", settings: {}}\n";
    let imported = import_text(text, &Options::default());
    assert_eq!(imported.untranslatable.len(), 2, "{:?}", imported.untranslatable);
    assert!(imported.untranslatable[0].contains(
        "module \"registry://ghcr.io/kubewarden/policies/capabilities-psp:v0.1.0\" is not trusted-repos or verify-image-signatures"
    ));
    assert!(imported.untranslatable[1].contains("expression \"a() || b()\" is not every member joined by &&"));
}

/// Sigstore policy-controller: globs, a key, a keyless subject regular
/// expression that is a URL prefix; an image no policy matches is refused
/// (its default no-match-policy: deny).
#[test]
fn policy_controller_cluster_image_policies() {
    let cases = [
        same("ghcr.io/acme/api:1.4", true),
        same("ghcr.io/acme/web:3", false),
        same("ghcr.io/acme/legacy:0.9", false),
        same("ghcr.io/acme/ci-runner:2", true),
        same("quay.io/x/y:1", false),
    ];
    run(
        "policy-controller-cluster-image-policies.yaml",
        Some("examples/signatures/sigstore.yaml"),
        |image| pod(&[image]),
        &cases,
    );
    let (settings, _) = import("policy-controller-cluster-image-policies.yaml");
    assert_eq!(
        settings["signatures"][1]["keylessPrefix"],
        json!([{"issuer": "https://token.actions.githubusercontent.com", "urlPrefix": "https://github.com/acme/"}])
    );
}

#[test]
fn policy_controller_untranslatable_parts_are_listed_with_the_reason() {
    let (settings, imported) = import("policy-controller-untranslatable.yaml");
    let listed = imported.untranslatable.join("\n");
    for reason in [
        "policy (cue) evaluates CUE or Rego over what was verified: registry-guard has no equivalent",
        "authorities[0]: attestations cannot be checked",
        "authorities[0]: a key in a Secret or a KMS (secretRef, kms) is not in the document",
        "authorities[1]: subject \".*@corp\\\\.example$\": only a literal or ^<https URL prefix>.* can be written (keylessPrefix)",
        "mode: warn (policy-controller admits with a warning); these settings would enforce it",
    ] {
        assert!(listed.contains(reason), "{reason}\n{listed}");
    }
    assert!(policy_with_host(None, None).validate_settings(&settings).valid);
}

/// A namespaced AdmissionPolicy applies in its namespace: as a
/// ClusterAdmissionPolicy, a namespaceSelector on that namespace's name.
#[test]
fn kubewarden_admission_policy_keeps_its_namespace() {
    let text = "apiVersion: policies.kubewarden.io/v1\nkind: AdmissionPolicy\nmetadata:\n  name: trusted\n  namespace: team-a\nspec:\n  module: registry://ghcr.io/kubewarden/policies/trusted-repos:v0.2.0\n  rules:\n    - {apiGroups: [\"\"], apiVersions: [v1], resources: [pods], operations: [CREATE]}\n  settings:\n    images:\n      allow: [\"quay.io/team-a/*\"]\n";
    let imported = import_text(text, &Options { as_policy: Some("team-a".into()) });
    assert!(imported.untranslatable.is_empty(), "{:?}", imported.untranslatable);
    let resource: Value = serde_yaml::from_str(&imported.policy_yaml("team-a")).unwrap();
    assert_eq!(
        resource["spec"]["namespaceSelector"],
        json!({"matchLabels": {"kubernetes.io/metadata.name": "team-a"}})
    );
    assert_eq!(resource["spec"]["settings"], json!({"images": {"allow": ["quay.io/team-a/*"]}}));
    // Without --as-policy, the settings alone, and a note on where it applied.
    let imported = import_text(text, &Options::default());
    assert!(
        imported.notes.iter().any(|n| n.contains("are carried by `import --as-policy NAME`")),
        "{:?}",
        imported.notes
    );
}
