//! The discovery walk's unit tests (`discovery.rs`): every place an image
//! is found, in every kind, and every malformed shape, with its message.

use super::*;
use serde_json::json;

fn walk(object: &serde_json::Value) -> Vec<(String, Result<String, String>)> {
    walk_text(&object.to_string())
}

fn walk_text(text: &str) -> Vec<(String, Result<String, String>)> {
    let found = read_object(text.as_bytes()).unwrap();
    found.into_iter().map(|f| (f.field, f.image.map(|i| i.into_owned()))).collect()
}

fn ok(field: &str, image: &str) -> (String, Result<String, String>) {
    (field.to_string(), Ok(image.to_string()))
}

#[test]
fn finds_containers_init_and_ephemeral_at_any_depth() {
    // In document order (json! would sort the keys).
    let cronjob = r#"{"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
        "initContainers": [{"name": "i", "image": "init:1"}],
        "containers": [{"name": "a", "image": "app:1"}, {"name": "b", "image": "side:2"}],
        "ephemeralContainers": [{"name": "d", "image": "debug:3"}]
    }}}}}}"#;
    assert_eq!(
        walk_text(cronjob),
        [
            ok("spec.jobTemplate.spec.template.spec.initContainers[0].image", "init:1"),
            ok("spec.jobTemplate.spec.template.spec.containers[0].image", "app:1"),
            ok("spec.jobTemplate.spec.template.spec.containers[1].image", "side:2"),
            ok("spec.jobTemplate.spec.template.spec.ephemeralContainers[0].image", "debug:3"),
        ]
    );
}

#[test]
fn finds_image_volumes() {
    let pod = json!({"spec": {"volumes": [
        {"name": "cfg", "configMap": {"name": "x"}},
        {"name": "model", "image": {"reference": "quay.io/models/llm:1", "pullPolicy": "IfNotPresent"}}
    ]}});
    assert_eq!(walk(&pod), [ok("spec.volumes[1].image.reference", "quay.io/models/llm:1")]);
}

#[test]
fn missing_null_and_empty_images_are_skipped() {
    let pod =
        json!({"spec": {"containers": [{"name": "a"}, {"name": "b", "image": null}, {"name": "c", "image": ""}]}});
    assert_eq!(walk(&pod), []);
}

#[test]
fn the_objects_own_metadata_is_skipped_but_nested_metadata_is_walked() {
    let object = json!({
        "metadata": {"containers": [{"image": "never-pulled:1"}], "annotations": {"x": "y"}},
        "spec": {"metadata": {"containers": [{"image": "deep:1"}]}}
    });
    assert_eq!(walk(&object), [ok("spec.metadata.containers[0].image", "deep:1")]);
}

#[test]
fn objects_must_be_mappings_or_null() {
    assert!(read_object(b"null").is_ok());
    assert_eq!(read_object(b"[]").unwrap_err(), "request.object: expected a mapping or null, found a list");
}

#[test]
fn images_in_other_places_are_not_images() {
    // status, annotations and last-applied-configuration are not pulled.
    let pod = json!({
        "metadata": {"annotations": {"image": "evil:1", "kubectl.kubernetes.io/last-applied-configuration": "{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}"}},
        "status": {"containerStatuses": [{"image": "nginx:1", "imageID": "x"}]},
        "spec": {"image": "not-a-container-field"}
    });
    assert_eq!(walk(&pod), []);
}

#[test]
fn wrong_types_where_images_belong_are_reported() {
    let pod = r#"{"spec": {
        "containers": [{"image": 5}, "nginx", {"image": ["a"]}, {"image": {"ref": "x"}}],
        "initContainers": {"image": "nginx"},
        "ephemeralContainers": "nginx",
        "volumes": [{"image": "nginx"}, {"image": {"reference": true}}]
    }}"#;
    let found = walk_text(pod);
    let problems: Vec<(&str, &str)> =
        found.iter().map(|(f, r)| (f.as_str(), r.as_ref().unwrap_err().as_str())).collect();
    assert_eq!(
        problems,
        [
            ("spec.containers[0].image", "expected an image reference (a string), found the number 5"),
            ("spec.containers[1]", "expected a container (a mapping), found the string \"nginx\""),
            ("spec.containers[2].image", "expected an image reference (a string), found a list"),
            ("spec.containers[3].image", "expected an image reference (a string), found a mapping"),
            ("spec.initContainers", "expected a list of containers, found a mapping"),
            ("spec.ephemeralContainers", "expected a list of containers, found the string \"nginx\""),
            (
                "spec.volumes[0].image",
                "expected an image volume source (a mapping with a reference), found the string \"nginx\""
            ),
            ("spec.volumes[1].image.reference", "expected an image reference (a string), found the boolean true"),
        ]
    );
}

#[test]
fn images_below_a_malformed_value_are_still_found() {
    let object = json!({"containers": {"x": {"containers": [{"image": "deep:1"}]}}});
    let found = walk(&object);
    assert_eq!(found.len(), 2);
    assert_eq!(found[1], ok("containers.x.containers[0].image", "deep:1"));
}

#[test]
fn escaped_strings_and_odd_keys() {
    let text =
        r#"{"spec": {"containers": [{"im\u0061ge": "ngin\u0078:1"}], "we.ird": {"containers": [{"image": "a"}]}}}"#;
    let found = read_object(text.as_bytes()).unwrap();
    let found: Vec<_> = found.iter().map(|f| (f.field.as_str(), f.image.as_deref().unwrap())).collect();
    assert_eq!(found, [("spec.containers[0].image", "nginx:1"), ("spec[\"we.ird\"].containers[0].image", "a")]);
}

#[test]
fn nesting_beyond_the_limit_is_an_error_not_a_crash() {
    let text = format!("{{\"a\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));
    let err = read_object(text.as_bytes()).unwrap_err();
    assert_eq!(err, "invalid JSON at byte 1005: nested deeper than 1000 levels");
}

#[test]
fn request_and_settings_in_either_order_with_other_fields() {
    let text = br#" { "extra": [1, {"a": "}"}], "settings": {"tags": {"reject": ["latest"]}} ,
        "request": {"uid": "x", "operation": "CREATE", "oldObject": {"spec": {"containers": [{"image": "old:1"}]}},
        "object": {"spec": {"containers": [{"image": "a:1"}]}}} } "#;
    {
        let payload = read(text).unwrap();
        let settings = Document::parse_settings(br#"{"tags": {"reject": ["latest"]}}"#).unwrap();
        assert_eq!(payload.settings, Some(Ok(settings)));
        assert_eq!(payload.operation.as_deref(), Some("CREATE"));
        let found = &payload.found[..];
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].field.as_str(), found[0].image.as_deref()), ("spec.containers[0].image", Ok("a:1")));
        // Where the token and the object stand, for rewriting in place.
        assert_eq!(&text[found[0].span.clone()], br#""a:1""#);
        assert_eq!(&text[payload.object.unwrap()], br#"{"spec": {"containers": [{"image": "a:1"}]}}"#);
    }
}

#[test]
fn a_request_with_two_objects_is_refused() {
    let text = br#"{"request": {"object": {}, "object": {"spec": {"containers": [{"image": "a"}]}}}}"#;
    assert_eq!(read(text).unwrap_err(), "the request has two object fields");
    assert_eq!(read(br#"{"request": {"object": null}}"#).unwrap().object, None);
}

#[test]
fn settings_are_read_whatever_their_shape() {
    assert_eq!(read(br#"{"settings": null}"#).unwrap().settings, Some(Ok(Document::Null)));
    assert_eq!(read(br#"{"settings": "a\"}"}"#).unwrap().settings, Some(Ok(Document::String("a\"}".into()))));
    assert_eq!(
        read(br#"{"settings": {"a": 1, "a": 2}, "request": {}}"#).unwrap().settings,
        Some(Err("the key \"a\" appears twice in one mapping".into()))
    );
}

#[test]
fn malformed_envelopes_are_errors() {
    for (text, error) in [
        (&b"garbage"[..], "invalid JSON at byte 0: expected a value"),
        (b"[]", "the payload must be a mapping with request and settings, found a list"),
        (b"{\"request\": {}, \"request\": {}}", "the payload has two request fields"),
        (b"{\"settings\": {}, \"settings\": {}}", "the payload has two settings fields"),
        (b"{\"settings\": {}", "invalid JSON at byte 15: unexpected end of input"),
        (b"{\"settings\": }", "invalid JSON at byte 13: expected a value"),
        (b"{} x", "invalid JSON at byte 3: trailing characters after the value"),
        (b"{\"request\": [1]}", "request: expected an AdmissionRequest (a mapping), found a list"),
        (b"{\"request\": null}", "request: expected an AdmissionRequest (a mapping), found null"),
        (b"{\"request\": {\"operation\": 5}}", "request.operation: expected a string, found the number 5"),
        (b"{\"request\": {\"operation\": \"A\", \"operation\": \"B\"}}", "the request has two operation fields"),
        (b"{\"request\": {\"object\": \"x\"}}", "request.object: expected a mapping or null, found the string \"x\""),
    ] {
        assert_eq!(read(text).err().as_deref(), Some(error), "{}", String::from_utf8_lossy(text));
    }
}

#[test]
fn escaped_envelope_keys_mean_what_they_spell() {
    let text = br#"{"req\u0075est": {"\u006fbject": {"spec": {"containers": [{"image": "a:1"}]}}}}"#;
    let payload = read(text).unwrap();
    assert!(payload.has_request);
    assert_eq!(payload.found.len(), 1);
}
/// Findings as (field, image or problem, unchecked) for an object.
fn found(text: &str) -> Vec<(String, Result<String, String>)> {
    walk_text(text)
}

fn unchecked(text: &str) -> Vec<(String, Option<&'static str>)> {
    read_object(text.as_bytes()).unwrap().into_iter().map(|f| (f.field, f.unchecked)).collect()
}

#[test]
fn tekton_steps_sidecars_templates_and_inline_specs() {
    // spec before apiVersion and kind: the kind is known only at the end.
    let pipeline_run = r#"{"spec": {"pipelineSpec": {"tasks": [{"name": "build", "taskSpec": {
            "stepTemplate": {"image": "gcr.io/base:1"},
            "steps": [{"name": "a", "image": "ghcr.io/a:1"}, {"name": "b", "ref": {"name": "git-clone"}}],
            "sidecars": [{"name": "s", "image": "mirror.gcr.io/docker:dind"}]}}],
        "finally": [{"name": "f", "taskSpec": {"steps": [{"image": "alpine"}]}}]}},
        "apiVersion": "tekton.dev/v1", "kind": "PipelineRun"}"#;
    assert_eq!(
        found(pipeline_run),
        [
            ok("spec.pipelineSpec.tasks[0].taskSpec.stepTemplate.image", "gcr.io/base:1"),
            ok("spec.pipelineSpec.tasks[0].taskSpec.steps[0].image", "ghcr.io/a:1"),
            ok("spec.pipelineSpec.tasks[0].taskSpec.sidecars[0].image", "mirror.gcr.io/docker:dind"),
            ok("spec.pipelineSpec.finally[0].taskSpec.steps[0].image", "alpine"),
        ]
    );
    let step_action = r#"{"apiVersion": "tekton.dev/v1beta1", "kind": "StepAction", "spec": {"image": "ubuntu"}}"#;
    assert_eq!(found(step_action), [ok("spec.image", "ubuntu")]);
}

#[test]
fn the_same_fields_in_other_kinds_are_not_images() {
    let fields = r#""spec": {"image": "a", "package": "b", "module": "registry://c", "steps": [{"image": "d"}],
        "sidecars": [{"image": "e"}], "container": {"image": "f"}, "stepTemplate": 5,
        "volumes": [{"containerDisk": {"image": "g"}}], "source": {"registry": {"url": "docker://h"}},
        "from": {"kind": "DockerImage", "name": "i"}, "tags": [{"name": "x", "from": {"name": "j"}}],
        "policies": {"p": {"module": "k"}}}"#;
    for kind in [
        r#""apiVersion": "example.com/v1", "kind": "Task""#,
        r#""apiVersion": "apps/v1", "kind": "Deployment""#,
        r#""kind": "Pipeline""#,
        "",
    ] {
        let object = format!("{{{fields}{}{kind}}}", if kind.is_empty() { "" } else { ", " });
        assert_eq!(found(&object), [], "{kind}");
    }
    // Container lists are images in every kind.
    let object =
        r#"{"apiVersion": "example.com/v1", "kind": "Task", "spec": {"steps": [{"containers": [{"image": "x"}]}]}}"#;
    assert_eq!(found(object), [ok("spec.steps[0].containers[0].image", "x")]);
}

#[test]
fn argo_templates() {
    let workflow = r#"{"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow", "spec": {"workflowSpec": {
        "templates": [
            {"name": "main", "steps": [[{"name": "a", "template": "c"}]]},
            {"name": "c", "container": {"image": "docker/whalesay", "command": ["cowsay"]},
             "initContainers": [{"name": "i", "image": "alpine:3"}], "sidecars": [{"name": "s", "image": "nginx"}]},
            {"name": "s", "script": {"image": "python:alpine3.6", "source": "print(1)"}},
            {"name": "set", "containerSet": {"containers": [{"name": "a", "image": "argoproj/argosay:v2"}]}},
            {"name": "p", "container": {"image": "{{inputs.parameters.image}}"}}
        ]}}}"#;
    assert_eq!(
        found(workflow),
        [
            ok("spec.workflowSpec.templates[1].container.image", "docker/whalesay"),
            ok("spec.workflowSpec.templates[1].initContainers[0].image", "alpine:3"),
            ok("spec.workflowSpec.templates[1].sidecars[0].image", "nginx"),
            ok("spec.workflowSpec.templates[2].script.image", "python:alpine3.6"),
            ok("spec.workflowSpec.templates[3].containerSet.containers[0].image", "argoproj/argosay:v2"),
            ok("spec.workflowSpec.templates[4].container.image", "{{inputs.parameters.image}}"),
        ]
    );
    let flags = unchecked(workflow);
    assert_eq!(flags[4].1, None);
    assert_eq!(flags[5].1, Some("an Argo Workflows template expression"));
}

#[test]
fn parameters_are_unchecked_only_in_their_engines_kinds() {
    let task = r#"{"apiVersion": "tekton.dev/v1", "kind": "Task", "spec": {"steps": [
        {"image": "$(params.builder-image)"}, {"image": "{{x}}"}, {"image": "ghcr.io/$(params.name):1"}]}}"#;
    assert_eq!(unchecked(task).into_iter().map(|(_, u)| u.is_some()).collect::<Vec<_>>(), [true, false, true]);
    // A Pod's image is pulled as written: not a parameter, a bad reference.
    let pod = r#"{"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"image": "$(params.image)"}]}}"#;
    assert_eq!(unchecked(pod)[0].1, None);
}

#[test]
fn kubevirt_disks_kernels_and_cdi_urls() {
    let vm = r#"{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "spec": {
        "dataVolumeTemplates": [{"spec": {"source": {"registry": {"url": "docker://quay.io/containerdisks/fedora:40"}}}}],
        "template": {"spec": {"domain": {"firmware": {"kernelBoot": {"container": {"image": "quay.io/kernel:1"}}}},
            "volumes": [{"name": "root", "containerDisk": {"image": "quay.io/kubevirt/cirros-container-disk-demo"}},
                        {"name": "ci", "cloudInitNoCloud": {"userData": "x"}}]}}}}"#;
    let findings = read_object(vm.as_bytes()).unwrap();
    let shown: Vec<_> = findings.iter().map(|f| (f.field.as_str(), f.image.as_deref().unwrap(), f.scheme)).collect();
    assert_eq!(
        shown,
        [
            ("spec.dataVolumeTemplates[0].spec.source.registry.url", "quay.io/containerdisks/fedora:40", "docker://"),
            ("spec.template.spec.domain.firmware.kernelBoot.container.image", "quay.io/kernel:1", ""),
            ("spec.template.spec.volumes[0].containerDisk.image", "quay.io/kubevirt/cirros-container-disk-demo", ""),
        ]
    );
    // The token spans the whole value, scheme included.
    assert_eq!(&vm.as_bytes()[findings[0].span.clone()], br#""docker://quay.io/containerdisks/fedora:40""#);
    let dv = r#"{"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "spec": {"source": {"registry": {"url": "oci-archive:///x.tar"}}}}"#;
    assert_eq!(
        found(dv),
        [(
            "spec.source.registry.url".to_string(),
            Err("expected a docker:// URL (CDI imports registry images from docker:// URLs), found \"oci-archive:///x.tar\"".to_string())
        )]
    );
}

#[test]
fn openshift_references_by_kind_and_tags_by_name() {
    let stream = r#"{"apiVersion": "image.openshift.io/v1", "kind": "ImageStream", "spec": {"tags": [
        {"name": "latest", "from": {"kind": "DockerImage", "name": "quay.io/app:latest"}},
        {"from": {"name": "registry.redhat.io/ubi9:9.4", "kind": "DockerImage"}, "name": "9.4"},
        {"name": "internal", "from": {"kind": "ImageStreamTag", "name": "app:latest"}},
        {"name": "odd", "from": {"name": "x"}},
        {"name": "twice", "from": {"kind": "DockerImage", "name": "evil.io/x:1", "kind": "ImageStreamTag"}}]}}"#;
    assert_eq!(
        found(stream),
        [
            ok("spec.tags[latest].from.name", "quay.io/app:latest"),
            ok("spec.tags[9.4].from.name", "registry.redhat.io/ubi9:9.4"),
            (
                "spec.tags[odd].from.kind".to_string(),
                Err("expected DockerImage, ImageStreamTag or ImageStreamImage, found none; registry-guard cannot tell what is pulled".to_string())
            ),
            (
                "spec.tags[twice].from.kind".to_string(),
                Err("expected DockerImage, ImageStreamTag or ImageStreamImage, found \"two kind fields\"; registry-guard cannot tell what is pulled".to_string())
            ),
        ]
    );
    let build = r#"{"apiVersion": "build.openshift.io/v1", "kind": "BuildConfig", "spec": {
        "source": {"images": [{"from": {"kind": "DockerImage", "name": "quay.io/tools:1"}}]},
        "strategy": {"sourceStrategy": {"from": {"kind": "ImageStreamTag", "name": "python:3.11", "namespace": "openshift"}},
                     "dockerStrategy": {"from": {"kind": "DockerImage", "name": "docker.io/golang:1.22"}}},
        "output": {"to": {"kind": "DockerImage", "name": "quay.io/pushed:1"}}}}"#;
    assert_eq!(
        found(build),
        [
            ok("spec.source.images[0].from.name", "quay.io/tools:1"),
            ok("spec.strategy.dockerStrategy.from.name", "docker.io/golang:1.22"),
        ]
    );
}

#[test]
fn crossplane_packages_must_name_their_registry() {
    let provider = |package: &str| {
        format!(r#"{{"apiVersion": "pkg.crossplane.io/v1", "kind": "Provider", "spec": {{"package": "{package}"}}}}"#)
    };
    assert_eq!(
        found(&provider("xpkg.upbound.io/crossplane-contrib/provider-aws:v0.39.0")),
        [ok("spec.package", "xpkg.upbound.io/crossplane-contrib/provider-aws:v0.39.0")]
    );
    let problem = found(&provider("crossplane-contrib/provider-aws:v0.39.0"));
    assert!(
        problem[0]
            .1
            .as_ref()
            .unwrap_err()
            .contains("names no registry: Crossplane resolves it against its --registry flag"),
        "{problem:?}"
    );
}

#[test]
fn kubewarden_modules_and_policy_servers() {
    let policy = |kind: &str, spec: &str| {
        format!(r#"{{"apiVersion": "policies.kubewarden.io/v1", "kind": "{kind}", "spec": {spec}}}"#)
    };
    let findings = read_object(
        policy(
            "ClusterAdmissionPolicy",
            r#"{"module": "registry://ghcr.io/kubewarden/policies/pod-privileged:v0.2.5"}"#,
        )
        .as_bytes(),
    )
    .unwrap()
    .into_iter()
    .map(|f| (f.field, f.image.unwrap().into_owned(), f.scheme))
    .collect::<Vec<_>>();
    assert_eq!(
        findings,
        [("spec.module".to_string(), "ghcr.io/kubewarden/policies/pod-privileged:v0.2.5".to_string(), "registry://")]
    );
    assert_eq!(found(&policy("AdmissionPolicy", r#"{"module": "https://example.com/p.wasm"}"#)), []);
    assert_eq!(found(&policy("AdmissionPolicy", r#"{"module": "file:///p.wasm"}"#)), []);
    assert_eq!(found(&policy("AdmissionPolicy", r#"{"module": "ghcr.io/p:v1"}"#)), [ok("spec.module", "ghcr.io/p:v1")]);
    assert!(found(&policy("AdmissionPolicy", r#"{"module": "s3://bucket/p.wasm"}"#))[0].1.is_err());
    let group = policy(
        "ClusterAdmissionPolicyGroup",
        r#"{"policies": {"signed": {"module": "registry://ghcr.io/kubewarden/policies/verify-image-signatures:v0.3.0"}, "containers": {"module": "registry://ghcr.io/x:1"}}}"#,
    );
    assert_eq!(
        found(&group),
        [
            ok("spec.policies.signed.module", "ghcr.io/kubewarden/policies/verify-image-signatures:v0.3.0"),
            ok("spec.policies.containers.module", "ghcr.io/x:1")
        ]
    );
    assert_eq!(
        found(&policy("PolicyServer", r#"{"image": "ghcr.io/kubewarden/policy-server:v1.31.0"}"#)),
        [ok("spec.image", "ghcr.io/kubewarden/policy-server:v1.31.0")]
    );
}

#[test]
fn a_policy_group_member_that_is_not_a_mapping_is_rejected_naming_it() {
    // The fuzzer's find (issue 28): a member named `initContainers`
    // holding a container list; its image is checked as well.
    let group = |kind: &str, policies: &str| {
        format!(
            r#"{{"apiVersion": "policies.kubewarden.io/v1", "kind": "{kind}", "spec": {{"policies": {policies}}}}}"#
        )
    };
    let member = "expected a policy of the group (a mapping with a module), found";
    assert_eq!(
        found(&group(
            "AdmissionPolicyGroup",
            r#"{"a": {"module": "registry://ghcr.io/a:1"}, "initContainers": [{"image": "evil.io/x:1"}]}"#
        )),
        [
            ok("spec.policies.a.module", "ghcr.io/a:1"),
            ("spec.policies.initContainers".to_string(), Err(format!("{member} a list"))),
            ok("spec.policies.initContainers[0].image", "evil.io/x:1"),
        ]
    );
    assert_eq!(
        found(&group("ClusterAdmissionPolicyGroup", r#"{"a": "registry://evil.io/p:1", "b": 5, "c": null}"#)),
        [
            ("spec.policies.a".to_string(), Err(format!("{member} the string \"registry://evil.io/p:1\""))),
            ("spec.policies.b".to_string(), Err(format!("{member} the number 5"))),
        ]
    );
    assert_eq!(
        found(&group("AdmissionPolicyGroup", r#"[{"module": "registry://evil.io/p:1"}]"#)),
        [("spec.policies".to_string(), Err("expected policies by name (a mapping), found a list".to_string()))]
    );
    // In other kinds the names mean what they mean anywhere: a container
    // list is one, and a `containers` mapping is a malformed list.
    assert_eq!(
        found(&group(
            "Other",
            r#"{"initContainers": [{"image": "evil.io/x:1"}], "a": "b", "containers": {"module": "x"}}"#
        )),
        [
            ok("spec.policies.initContainers[0].image", "evil.io/x:1"),
            ("spec.policies.containers".to_string(), Err("expected a list of containers, found a mapping".to_string())),
        ]
    );
}

#[test]
fn image_stream_tags_of_the_wrong_shape_are_rejected_naming_them() {
    let stream = |tags: &str| {
        format!(r#"{{"apiVersion": "image.openshift.io/v1", "kind": "ImageStream", "spec": {{"tags": {tags}}}}}"#)
    };
    assert_eq!(
        found(&stream(r#"{"latest": {"from": {"kind": "DockerImage", "name": "quay.io/a:1"}}}"#)),
        [
            ("spec.tags".to_string(), Err("expected a list of tags, found a mapping".to_string())),
            ok("spec.tags.latest.from.name", "quay.io/a:1"),
        ]
    );
    assert_eq!(
        found(&stream(r#"["quay.io/a:1", [{"from": {"kind": "DockerImage", "name": "quay.io/b:1"}}]]"#)),
        [
            (
                "spec.tags[0]".to_string(),
                Err("expected a tag (a mapping with a name and from), found the string \"quay.io/a:1\"".to_string())
            ),
            (
                "spec.tags[1]".to_string(),
                Err("expected a tag (a mapping with a name and from), found a list".to_string())
            ),
            ok("spec.tags[1][0].from.name", "quay.io/b:1"),
        ]
    );
}

fn warned(text: &str) -> Vec<(String, Result<String, String>, Option<&'static str>)> {
    read_object(text.as_bytes())
        .unwrap()
        .into_iter()
        .map(|f| (f.field, f.image.map(|i| i.into_owned()), f.unchecked))
        .collect()
}

const TRIGGER: Option<&str> = Some(openshift::FILLED_BY_TRIGGER);

#[test]
fn blank_images_are_nothing_to_pull_unless_a_trigger_fills_them() {
    let pod = json!({"spec": {"containers": [{"name": "a", "image": " "}, {"name": "b", "image": "\t"}]}});
    assert_eq!(walk(&pod), []);
    // The annotation names the field by index or the container by name;
    // the third container's blank is filled by nothing.
    let deployment = r#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "annotations": {
        "image.openshift.io/triggers": "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"app:latest\"},\"fieldPath\":\"spec.template.spec.containers[0].image\"},{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"db:8\",\"namespace\":\"openshift\"},\"fieldPath\":\"spec.template.spec.containers[?(@.name==\\\"db\\\")].image\"}]"}},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": " "}, {"image": "", "name": "db"},
            {"name": "other", "image": " "}, {"name": "side", "image": "quay.io/side:1"}]}}}}"#;
    assert_eq!(
        warned(deployment),
        [
            ("spec.template.spec.containers[3].image".into(), Ok("quay.io/side:1".into()), None),
            ("spec.template.spec.containers[0].image".into(), Ok("app:latest".into()), TRIGGER),
            ("spec.template.spec.containers[1].image".into(), Ok("openshift/db:8".into()), TRIGGER),
        ]
    );
    // Not read in kinds OpenShift does not honour it on.
    let pod =
        deployment.replace(r#""apiVersion": "apps/v1", "kind": "Deployment""#, r#""apiVersion": "v1", "kind": "Pod""#);
    assert_eq!(warned(&pod), [("spec.template.spec.containers[3].image".into(), Ok("quay.io/side:1".into()), None)]);
}

#[test]
fn a_trigger_annotation_that_cannot_be_read_is_rejected_naming_it() {
    let job = r#"{"apiVersion": "batch/v1", "kind": "Job", "metadata": {"annotations": {"image.openshift.io/triggers": "[{"}},
        "spec": {"template": {"spec": {"containers": [{"name": "a", "image": " "}]}}}}"#;
    let found = walk_text(job);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, "metadata.annotations[\"image.openshift.io/triggers\"]");
    assert!(found[0].1.as_ref().unwrap_err().starts_with("expected a JSON list of image-change triggers"));
}

#[test]
fn deployment_config_triggers_fill_their_containers() {
    let dc = r#"{"kind": "DeploymentConfig", "spec": {"template": {"spec": {"containers": [
            {"name": "jenkins", "image": " "}, {"name": "agent", "image": ""}, {"name": "amq", "image": "jboss-amq-63"}]}},
        "triggers": [{"type": "ConfigChange"}, {"type": "ImageChange", "imageChangeParams": {"automatic": true,
            "containerNames": ["jenkins", "amq"], "from": {"kind": "ImageStreamTag", "name": "jenkins:2", "namespace": "openshift"}}}]},
        "apiVersion": "apps.openshift.io/v1"}"#;
    // A concrete image in a trigger's container is checked: it is what
    // runs until (and unless) the trigger fires.
    assert_eq!(
        warned(dc),
        [
            ("spec.template.spec.containers[2].image".into(), Ok("jboss-amq-63".into()), None),
            ("spec.template.spec.containers[0].image".into(), Ok("openshift/jenkins:2".into()), TRIGGER),
        ]
    );
}

#[test]
fn template_objects_are_walked_as_their_own_kinds_with_parameters_unchecked() {
    // `objects` before `kind`: the Template is known only at the end.
    let template = r#"{"objects": [
            {"apiVersion": "tekton.dev/v1", "kind": "Task", "spec": {"steps": [{"image": "$(params.builder)"}, {"image": "ghcr.io/a:1"}]}},
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"annotations": {"image.openshift.io/triggers":
                "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"${NAME}:latest\"},\"fieldPath\":\"spec.template.spec.containers[0].image\"}]"}},
             "spec": {"template": {"spec": {"containers": [{"name": "${NAME}", "image": " "}, {"name": "b", "image": "${IMAGE}"}]}}}},
            {"apiVersion": "v1", "kind": "Pod", "spec": {"steps": [{"image": "not-a-step"}], "containers": [{"image": "quay.io/${{ORG}}/x:1"}]}},
            "garbage"],
        "parameters": [{"name": "IMAGE", "value": "evil.io/x:1"}],
        "apiVersion": "template.openshift.io/v1", "kind": "Template"}"#;
    assert_eq!(
        warned(template),
        [
            (
                "objects[0].spec.steps[0].image".into(),
                Ok("$(params.builder)".into()),
                Some("a Tekton parameter or result reference")
            ),
            ("objects[0].spec.steps[1].image".into(), Ok("ghcr.io/a:1".into()), None),
            (
                "objects[1].spec.template.spec.containers[1].image".into(),
                Ok("${IMAGE}".into()),
                Some("an OpenShift template parameter")
            ),
            ("objects[1].spec.template.spec.containers[0].image".into(), Ok("${NAME}:latest".into()), TRIGGER),
            (
                "objects[2].spec.containers[0].image".into(),
                Ok("quay.io/${{ORG}}/x:1".into()),
                Some("an OpenShift template parameter")
            ),
            ("objects[3]".into(), Err("expected an object (a mapping), found a string".into()), None),
        ]
    );
    // The legacy `apiVersion: v1` Template too; `objects` not a list is
    // rejected, what it holds still walked.
    let legacy = r#"{"apiVersion": "v1", "kind": "Template", "objects": {"a": {"containers": [{"image": "x:1"}]}}}"#;
    assert_eq!(
        warned(legacy),
        [
            ("objects.a.containers[0].image".into(), Ok("x:1".into()), None),
            ("objects".into(), Err("expected a list of objects, found a mapping".into()), None),
        ]
    );
    // In any other kind `objects` is any value, and `${` is pulled as written.
    let other = r#"{"apiVersion": "example.com/v1", "kind": "Thing", "objects": [{"kind": "Task", "apiVersion": "tekton.dev/v1",
        "steps": [{"image": "a"}], "containers": [{"image": "${X}"}]}]}"#;
    assert_eq!(warned(other), [("objects[0].containers[0].image".into(), Ok("${X}".into()), None)]);
}

#[test]
fn templates_in_templates_are_read_to_a_limit() {
    let mut object = r#"{"kind": "DeploymentConfig", "apiVersion": "v1", "spec": {"template": {"spec": {"containers": [{"name": "a", "image": " "}]}},
        "triggers": [{"imageChangeParams": {"containerNames": ["a"], "from": {"kind": "ImageStreamTag", "name": "a:1"}}}]}}"#
        .to_string();
    for _ in 0..TEMPLATES_NESTED {
        object = format!(r#"{{"kind": "Template", "apiVersion": "v1", "objects": [{object}]}}"#);
    }
    let inner = format!("{}spec.template.spec.containers[0].image", "objects[0].".repeat(TEMPLATES_NESTED));
    assert_eq!(warned(&object), [(inner, Ok("a:1".into()), TRIGGER)]);
    let deeper = format!(r#"{{"kind": "Template", "apiVersion": "v1", "objects": [{object}]}}"#);
    let found = warned(&deeper);
    assert!(found.iter().any(|(_, r, _)| r.as_ref().is_err_and(|e| e.contains("is not read as one"))), "{found:?}");
}

#[test]
fn an_argo_azure_artifacts_container_is_a_blob_container_not_a_kubernetes_one() {
    // argo-workflows examples/input-artifact-azure.yaml, output-artifact-azure.yaml, archive-location.
    let workflow = r#"{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {
        "artifactRepositoryRef": {"configMap": "my-repo", "key": "azure"},
        "templates": [{"name": "a",
            "inputs": {"artifacts": [{"name": "in", "path": "/in", "azure": {"endpoint": "https://x.blob.core.windows.net",
                "container": "my-container", "blob": "path/in/container", "accountKeySecret": {"name": "s", "key": "k"}}}]},
            "outputs": {"artifacts": [{"name": "out", "path": "/tmp", "from": "{{steps.a.outputs.artifacts.x}}",
                "azure": {"container": "my-container", "blob": "b"}}]},
            "archiveLocation": {"azure": {"container": "archive"}},
            "container": {"image": "debian:latest"}}]}}"#;
    assert_eq!(found(workflow), [ok("spec.templates[0].container.image", "debian:latest")]);
    // What stands below a blob container is still walked.
    let odd = r#"{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {"templates": [
        {"outputs": {"artifacts": [{"azure": {"container": {"containers": [{"image": "evil.io/x:1"}]}}}]}}]}}"#;
    assert_eq!(
        found(odd),
        [ok("spec.templates[0].outputs.artifacts[0].azure.container.containers[0].image", "evil.io/x:1")]
    );
    // Elsewhere in Argo a string `container` is still refused.
    let wrong = r#"{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {"templates": [{"container": "debian"}]}}"#;
    assert_eq!(
        found(wrong),
        [(
            "spec.templates[0].container".to_string(),
            Err("expected a container (a mapping), found the string \"debian\"".to_string())
        )]
    );
}

#[test]
fn kubevirt_hook_sidecars_in_annotations_are_images() {
    // kubevirt examples/vmi-with-sidecar-hook.yaml; a VM's template too.
    let vmi = r#"{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "metadata": {"annotations": {
        "hooks.kubevirt.io/hookSidecars": "[{\"args\": [\"--version\", \"v1alpha2\"], \"image\": \"registry:5000/kubevirt/example-hook-sidecar:devel\"}]",
        "smbios.vm.kubevirt.io/baseBoardManufacturer": "Radical Edward"}},
        "spec": {"domain": {"devices": {}}}}"#;
    assert_eq!(
        found(vmi),
        [ok(
            "metadata.annotations[\"hooks.kubevirt.io/hookSidecars\"][0].image",
            "registry:5000/kubevirt/example-hook-sidecar:devel"
        )]
    );
    let vm = r#"{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "spec": {"template": {"metadata": {"annotations": {
        "hooks.kubevirt.io/hookSidecars": "[{\"image\": \"quay.io/hook:1\"}, {\"image\": 5}]"}}}}}"#;
    assert_eq!(
        found(vm),
        [
            ok("spec.template.metadata.annotations[\"hooks.kubevirt.io/hookSidecars\"][0].image", "quay.io/hook:1"),
            (
                "spec.template.metadata.annotations[\"hooks.kubevirt.io/hookSidecars\"][1].image".to_string(),
                Err("expected an image reference (a string), found the number 5".to_string())
            ),
        ]
    );
    // Malformed JSON is refused, naming the annotation; in other kinds
    // the annotation is nobody's.
    let bad = vmi.replace(r#"[{\"args\""#, r#"[{args"#);
    let problem = found(&bad);
    assert_eq!(problem[0].0, "metadata.annotations[\"hooks.kubevirt.io/hookSidecars\"]");
    assert!(problem[0].1.as_ref().unwrap_err().starts_with("expected a JSON list of hook sidecars"), "{problem:?}");
    assert_eq!(found(&vmi.replace("kubevirt.io/v1", "example.com/v1")), []);
}

#[test]
fn argo_resource_manifests_in_json_are_read_and_in_yaml_are_a_warning() {
    let workflow = |manifest: &str| {
        format!(
            r#"{{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {{"templates": [{{"name": "r",
                "resource": {{"action": "create", "manifest": {}}}}}]}}}}"#,
            serde_json::to_string(manifest).unwrap()
        )
    };
    let json = r#"{"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": {"spec": {"containers": [
        {"name": "a", "image": "python:alpine3.23"}, {"name": "b", "image": "{{inputs.parameters.image}}"}]}}}}"#;
    assert_eq!(
        warned(&workflow(json)),
        [
            (
                "spec.templates[0].resource.manifest.spec.template.spec.containers[0].image".into(),
                Ok("python:alpine3.23".into()),
                None
            ),
            (
                "spec.templates[0].resource.manifest.spec.template.spec.containers[1].image".into(),
                Ok("{{inputs.parameters.image}}".into()),
                Some("an Argo Workflows template expression")
            ),
        ]
    );
    // argo-workflows examples/k8s-jobs.yaml: YAML.
    let yaml = "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers:\n      - name: rand\n        image: python:alpine3.23\n";
    assert_eq!(
        warned(&workflow(yaml)),
        [(
            "spec.templates[0].resource.manifest".into(),
            Ok(yaml.into()),
            Some("an Argo resource manifest the policy does not read (YAML, or not an object)")
        )]
    );
    // A manifest that names no image (a patch of an annotation) is nothing.
    assert_eq!(warned(&workflow("- op: add\n  path: /metadata/annotations/foo\n  value: bar\n")), []);
    // Not a string: refused.
    let object = r#"{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {"templates": [{"resource": {"manifest": {"kind": "Job"}}}]}}"#;
    assert_eq!(
        found(object),
        [(
            "spec.templates[0].resource.manifest".to_string(),
            Err("expected a manifest (a string of YAML or JSON), found a mapping".to_string())
        )]
    );
}

#[test]
fn argo_pod_spec_patches_that_set_images_are_unchecked() {
    let workflow = r#"{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {
        "podSpecPatch": "{\"containers\":[{\"name\":\"main\",\"image\":\"evil:1\"}]}",
        "templates": [{"name": "a", "podSpecPatch": "{\"containers\":[{\"name\":\"main\",\"resources\":{}}]}"}]}}"#;
    assert_eq!(
        unchecked(workflow),
        [("spec.podSpecPatch".to_string(), Some("an Argo podSpecPatch that sets an image"))]
    );
}

#[test]
fn an_object_names_one_kind() {
    assert_eq!(read_object(br#"{"kind": "Pod", "kind": "Task"}"#).unwrap_err(), "the object has two kind fields");
    assert_eq!(
        read_object(br#"{"kind": 5}"#).unwrap_err(),
        "request.object.kind: expected a string, found the number 5"
    );
}
