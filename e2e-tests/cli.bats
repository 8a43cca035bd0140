#!/usr/bin/env bats
# The registry-guard command line, as a user runs it (needs `make policy.wasm runner`).

# `run --separate-stderr` needs bats 1.5 (Debian ships 1.8).
bats_require_minimum_version 1.5.0

setup() {
  cd "$BATS_TEST_DIRNAME/.."
  RG="${REGISTRY_GUARD_BIN:-$PWD/target/debug/registry-guard}"
  SETTINGS="$BATS_TEST_DIRNAME/fixtures/settings.yaml"
}

@test "check: example manifests give both verdicts and exit 1" {
  run "$RG" check --settings examples/settings.yaml examples/manifests
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == "ok   Deployment prod/api" ]]
  [[ "$output" == *'deny Pod dev/debug: spec.containers[0].image "nginx": registry "docker.io" is not allowed'* ]]
}

@test "check: all allowed exits 0" {
  run "$RG" check --settings examples/settings.yaml examples/manifests/api-deployment.yaml
  [ "$status" -eq 0 ]
  [ "$output" = $'ok   Deployment prod/api\n1 object: 1 ok, 0 denied, 0 mutated, 0 warnings' ]
}

@test "check: reads stdin, multi-document YAML and List kinds" {
  run bash -c "printf 'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {containers: [{name: c, image: quay.io/a:1}]}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec: {containers: [{name: c, image: nginx}]}\n' | '$RG' check --settings '$SETTINGS' -"
  echo "$output"
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "ok   Pod a" ]
  [[ "${lines[1]}" == 'deny Pod b: spec.containers[0].image "nginx"'* ]]
}

@test "check: --output json" {
  run "$RG" check --output json --settings examples/settings.yaml examples/manifests/debug-pod.yaml
  [ "$status" -eq 1 ]
  [[ "$output" == *'"allowed": false'* ]]
  [[ "$output" == *'"kind": "Pod"'* ]]
}

@test "check: an AdmissionReview is answered with an AdmissionResponse" {
  run "$RG" check --settings "$SETTINGS" "$BATS_TEST_DIRNAME/fixtures/deployment-create-review.json"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *'"uid": "1299d386-525b-4032-98ae-1949f69f9cfc"'* ]]
  [[ "$output" == *'"allowed": false'* ]]
  [[ "$output" == *'spec.template.spec.initContainers[0].image \"busybox\"'* ]]
}

@test "check: invalid settings exit 2 naming the setting" {
  run bash -c "echo '{\"registries\": {\"allowed\": [\"a.io\"]}}' > '$BATS_TEST_TMPDIR/s.json' && '$RG' check --settings '$BATS_TEST_TMPDIR/s.json' examples/manifests"
  echo "$output"
  [ "$status" -eq 2 ]
  [[ "$output" == *'invalid settings: unknown setting "registries.allowed"'* ]]
}

@test "check: bad input exits 2 with file and document" {
  printf 'kind: Pod\n---\nkind: [oops\n' > "$BATS_TEST_TMPDIR/bad.yaml"
  run "$RG" check "$BATS_TEST_TMPDIR/bad.yaml"
  [ "$status" -eq 2 ]
  [[ "$output" == *"bad.yaml: document 2: invalid YAML"* ]]
  printf 'metadata: {name: x}\n' > "$BATS_TEST_TMPDIR/nokind.yaml"
  run "$RG" check "$BATS_TEST_TMPDIR/nokind.yaml"
  [ "$status" -eq 2 ]
  [[ "$output" == *"nokind.yaml: document 1: no kind"* ]]
  run "$RG" check "$BATS_TEST_TMPDIR/missing.yaml"
  [ "$status" -eq 2 ]
  [[ "$output" == *"missing.yaml: cannot read"* ]]
}

@test "check: a file that is not a policy exits 2" {
  printf 'not wasm' > "$BATS_TEST_TMPDIR/x.wasm"
  run "$RG" check --policy "$BATS_TEST_TMPDIR/x.wasm" examples/manifests
  echo "$output"
  [ "$status" -eq 2 ]
  [[ "$output" == *"not a WebAssembly module this host can run"* ]]
  run "$RG" check --policy "$BATS_TEST_TMPDIR/none.wasm" examples/manifests
  [ "$status" -eq 2 ]
  [[ "$output" == *"not found: build it with \`make policy.wasm\`"* ]]
}

@test "settings: valid 0, invalid 1" {
  run "$RG" settings examples/settings.yaml
  [ "$status" -eq 0 ]
  [ "$output" = "examples/settings.yaml: valid" ]
  printf 'tags:\n  reject: latest\n' > "$BATS_TEST_TMPDIR/s.yaml"
  run "$RG" settings "$BATS_TEST_TMPDIR/s.yaml"
  [ "$status" -eq 1 ]
  [[ "$output" == *'tags.reject: expected a list of strings, found the string "latest"'* ]]
}

@test "usage errors exit 2" {
  run "$RG"
  [ "$status" -eq 2 ]
  run "$RG" check
  [ "$status" -eq 2 ]
  run "$RG" frobnicate
  [ "$status" -eq 2 ]
  run "$RG" check --output yaml x
  [ "$status" -eq 2 ]
  run "$RG" help
  [ "$status" -eq 0 ]
}

@test "bench: runs and reports every target (timings are not asserted)" {
  BASELINE="${REGISTRY_GUARD_BASELINE:-$PWD/target/baseline-policy.wasm}"
  ACCEPT_ALL="${REGISTRY_GUARD_ACCEPT_ALL:-$PWD/target/accept-all-policy.wasm}"
  run "$RG" bench --baseline "$BASELINE" --accept-all "$ACCEPT_ALL" --iterations 50 --evaluations 200
  echo "$output"
  [ "$status" -le 1 ]
  [[ "$output" == *"fresh instance + validate, per request"* ]]
  [[ "$output" == *"Deployment 100+1 containers, 5 rules"* ]]
  [[ "$output" == *"compile + instantiate: ours"* ]]
  [[ "$output" == *"memory: 200 evaluations on one instance capped at"* ]]
  [ "$(grep -cE '^  (met|MISSED) ' <<< "$output")" -eq 8 ]
}

@test "check: mirrors and pinning print the verdict, warnings, host calls and patch" {
  run "$RG" check --settings examples/mutation/settings.yaml --digests examples/mutation/digests.yaml \
    --show-mutation --show-host-calls examples/mutation/manifests
  echo "$output"
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "ok   Deployment prod/web (mutated)" ]
  [[ "${lines[1]}" == '     warning: spec.template.spec.containers[2].image "quay.io/team/cache:7.2" was not pinned'* ]]
  [[ "$output" == *'     host: kubewarden/oci/v1/manifest_digest "registry.corp.example/dockerhub/library/nginx:1.25" → {"digest":"sha256:251ad317'* ]]
  [[ "$output" == *'     host: kubewarden/oci/v1/manifest_digest "quay.io/team/cache:7.2" → error: unauthorized: authentication required'* ]]
  [[ "$output" == *'     patch: {"op":"replace","path":"/spec/template/spec/initContainers/0/image","value":"registry.corp.example/dockerhub/library/busybox:1.36@sha256:ab512471'* ]]
  [[ "${lines[-2]}" == 'deny Pod dev/scratch: spec.containers[0].image "ubuntu" (mirrored to "registry.corp.example/dockerhub/library/ubuntu")'* ]]
  [ "${lines[-1]}" = "2 objects: 0 ok, 1 denied, 1 mutated, 1 warning" ]
}

@test "check: --output json carries the patch, the mutated object and the host calls" {
  run "$RG" check --output json --settings examples/mutation/settings.yaml --digests examples/mutation/digests.yaml \
    examples/mutation/manifests
  [ "$status" -eq 1 ]
  [[ "$output" == *'"patch": ['* ]]
  [[ "$output" == *'"mutatedObject": {'* ]]
  [[ "$output" == *'"capability": "kubewarden/oci/v1/manifest_digest"'* ]]
}

@test "check: without --digests every lookup fails, saying so" {
  run "$RG" check --settings e2e-tests/fixtures/pin-settings.yaml --show-host-calls examples/manifests/api-deployment.yaml
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *'no --digests file was given to the runner'* ]]
}

@test "check: a bad --digests file exits 2 naming the entry" {
  printf 'nginx: [1]\n' > "$BATS_TEST_TMPDIR/d.yaml"
  run "$RG" check --settings e2e-tests/fixtures/pin-settings.yaml --digests "$BATS_TEST_TMPDIR/d.yaml" examples/manifests
  [ "$status" -eq 2 ]
  [[ "$output" == *'d.yaml: "nginx": expected a digest or {error: message}'* ]]
}

@test "check: --record-host-calls writes the kwctl session kwctl.bats replays" {
  run "$RG" check --settings e2e-tests/fixtures/pin-settings.yaml --digests e2e-tests/fixtures/digests.yaml \
    --record-host-calls "$BATS_TEST_TMPDIR/session.yml" e2e-tests/fixtures/pod-pin-review.json
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"patchType": "JSONPatch"'* ]]
  diff "$BATS_TEST_TMPDIR/session.yml" e2e-tests/fixtures/pin-session.yml
}

@test "check: --reports answers cluster lists, recorded as the kwctl session kwctl.bats replays" {
  run "$RG" check --settings e2e-tests/fixtures/vulnerabilities-settings.yaml \
    --digests examples/vulnerabilities/digests.yaml --reports examples/vulnerabilities/trivy-reports.yaml \
    --reports examples/vulnerabilities/sbomscanner-reports.yaml \
    --record-host-calls "$BATS_TEST_TMPDIR/session.yml" e2e-tests/fixtures/vulnerabilities-review.json
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *'CVE-2024-3094 critical (fixed in 5.6.1+really5.4.5-1)'* ]]
  diff "$BATS_TEST_TMPDIR/session.yml" e2e-tests/fixtures/vulnerabilities-session.yml
}

@test "check --help and -h print the usage" {
  for flag in --help -h; do
    run "$RG" check "$flag"
    [ "$status" -eq 0 ]
    [[ "$output" == *'registry-guard check [--policy PATH]'* ]]
    [[ "$output" == *'--now TIME'* ]]
  done
}

@test "check: --sigstore answers signature verifications, shown and recorded for kwctl" {
  for case in signatures signatures-unsigned; do
    run "$RG" check --settings examples/signatures/settings.yaml --sigstore examples/signatures/sigstore.yaml \
      --record-host-calls "$BATS_TEST_TMPDIR/$case.yml" "e2e-tests/fixtures/$case-review.json"
    echo "$output"
    diff "$BATS_TEST_TMPDIR/$case.yml" "e2e-tests/fixtures/$case-session.yml"
  done
  run "$RG" check --settings examples/signatures/settings.yaml --sigstore examples/signatures/sigstore.yaml \
    --show-host-calls examples/signatures/manifests
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *'host: kubewarden/oci/v2/verify SigstoreKeylessPrefixVerify "ghcr.io/acme/ci-runner:2" → {"digest":"sha256:9a8b'* ]]
  [[ "$output" == *'deny Pod prod/web: spec.containers[0].image "GHCR.IO/acme/web:3": the signatures of "ghcr.io/acme/web:3" were not verified by signatures[0]'* ]]
}

@test "check: a bad --sigstore file exits 2 naming the entry" {
  printf 'ghcr.io/a:1: {digest: x, error: y}\n' > "$BATS_TEST_TMPDIR/s.yaml"
  run "$RG" check --settings examples/signatures/settings.yaml --sigstore "$BATS_TEST_TMPDIR/s.yaml" examples/manifests
  [ "$status" -eq 2 ]
  [[ "$output" == *'s.yaml: "ghcr.io/a:1": give a digest (and signatures), or an error alone'* ]]
}

@test "check: whole upstream example folders deny every image outside the allowed registries" {
  settings="$BATS_TEST_TMPDIR/ecr.yaml"
  printf 'registries:\n  allow: [public.ecr.aws]\n' > "$settings"
  run "$RG" check --settings "$settings" "$BATS_TEST_DIRNAME/fixtures/upstream"
  [ "$status" -eq 1 ]
  # Every image of expected.tsv outside public.ecr.aws is named in a denial.
  missing=0
  while IFS=$'\t' read -r file doc field value kind; do
    [ "$kind" = image ] || continue
    case "$value" in public.ecr.aws/*) continue ;; esac
    grep -qF -- "$field \"" <<< "$output" || { echo "not denied: $file#$doc $field $value"; missing=$((missing + 1)); }
  done < <(cat "$BATS_TEST_DIRNAME"/fixtures/upstream/*/expected.tsv)
  [ "$missing" -eq 0 ]
  [[ "$output" == *'deny PipelineRun '* ]]
  [[ "$output" == *'deny ImageStream '*'spec.tags['* ]]
  [[ "$output" == *'warning: '*'is a Tekton parameter or result reference'* ]]
  [[ "$output" == *'ok   ClusterAdmissionPolicy psp-policy-from-https'* ]]
}

@test "check: a summary closes the output, on stderr; --quiet prints only denials, mutations and warnings" {
  run "$RG" check --quiet --settings examples/settings.yaml examples/manifests
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 4 ]
  [[ "${lines[0]}" == "deny Pod dev/debug: "* ]]
  [[ "$output" != *"ok   Deployment prod/api"* ]]
  [ "${lines[-1]}" = "5 objects: 2 ok, 3 denied, 0 mutated, 0 warnings" ]
  # stdout alone has no summary.
  stdout=$("$RG" check --quiet --settings examples/settings.yaml examples/manifests 2>/dev/null || true)
  [[ "$stdout" != *"objects:"* ]]
}

@test "check: --format github puts each denial on the line of its image, in every document of a file" {
  printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n    - name: ok\n      image: quay.io/a:1\n---\n# Source: chart/templates/b.yaml\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n  initContainers:\n    - name: init\n      image: busybox:1.36\n  containers:\n    - name: c\n      image: nginx\n' > "$BATS_TEST_TMPDIR/two.yaml"
  run "$RG" check --format github --settings "$SETTINGS" "$BATS_TEST_TMPDIR/two.yaml"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"::error file=$BATS_TEST_TMPDIR/two.yaml,line=16,title=registry-guard denied Pod b::spec.initContainers[0].image \"busybox:1.36\": "* ]]
  [[ "$output" == *"::error file=$BATS_TEST_TMPDIR/two.yaml,line=19,title=registry-guard denied Pod b::spec.containers[0].image \"nginx\": "* ]]
  [ "$(grep -c '^::error' <<< "$output")" -eq 2 ]
}

@test "check: --format junit is one test case per object, a failure per denial" {
  run --separate-stderr "$RG" check --format junit --settings examples/settings.yaml examples/manifests
  [ "$status" -eq 1 ]
  printf '%s' "$output" > "$BATS_TEST_TMPDIR/junit.xml"
  run python3 -c 'import sys, xml.etree.ElementTree as ET; s = ET.parse(sys.argv[1]).getroot().find("testsuite"); print(s.get("tests"), s.get("failures"), len(s.findall("testcase")), len(s.findall("testcase/failure")))' "$BATS_TEST_TMPDIR/junit.xml"
  [ "$output" = "5 3 5 3" ]
}

@test "check: helm template output piped to stdin (-)" {
  run bash -c "cat examples/manifests/*.yaml | sed 's/^apiVersion: apps\/v1$/---\napiVersion: apps\/v1/' | '$RG' check --quiet --settings examples/settings.yaml -"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == *" objects: "*" denied, "* ]]
}

@test "import: prints settings that registry-guard settings accepts, each rule commented with its source" {
  run --separate-stderr "$RG" import "$BATS_TEST_DIRNAME/fixtures/import/kyverno-restrict-image-registries.yaml" \
    "$BATS_TEST_DIRNAME/fixtures/import/gatekeeper-constraints.yaml"
  [ "$status" -eq 0 ]
  printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/imported.yaml"
  [[ "$output" == *'# NOTE: '*'validationFailureAction Enforce → deploy the ClusterAdmissionPolicy with mode: protect'* ]]
  [[ "$output" == *"Gatekeeper's prefix also admitted gcr.io.evil.com/x: not here"* ]]
  run "$RG" settings "$BATS_TEST_TMPDIR/imported.yaml"
  [ "$status" -eq 0 ]
  [[ "$output" == *": valid" ]]
}

@test "import: a Gatekeeper K8sAllowedRepos with repos: [] denies every image, as in Gatekeeper" {
  printf '%s\n' 'apiVersion: constraints.gatekeeper.sh/v1beta1' 'kind: K8sAllowedRepos' 'metadata:' '  name: repo-is-nothing' \
    'spec:' '  parameters:' '    repos: []' > "$BATS_TEST_TMPDIR/gk.yaml"
  run --separate-stderr "$RG" import "$BATS_TEST_TMPDIR/gk.yaml"
  [ "$status" -eq 0 ]
  [[ "$output" == *'K8sAllowedRepos repo-is-nothing allows no image: these settings allow no image'* ]]
  printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/imported.yaml"
  run "$RG" check --settings "$BATS_TEST_TMPDIR/imported.yaml" examples/manifests/api-deployment.yaml
  [ "$status" -eq 1 ]
  [[ "$output" == *'deny Deployment prod/api: spec.template.spec.containers[0].image "registry.corp.example/team/api:1.4.2": registry "registry.corp.example" is not allowed (registries.allow: empty, so nothing is allowed)'* ]]
}

@test "import: an Audit Kyverno policy is listed (exit 1) as settings, a monitor-mode resource with --as-policy" {
  run --separate-stderr "$RG" import "$BATS_TEST_DIRNAME/fixtures/import/kyverno-disallow-latest-tag.yaml"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *'failureAction Audit (Kyverno reports it, never blocks); these settings would enforce it'* ]]
  run --separate-stderr "$RG" import --as-policy disallow-latest-tag "$BATS_TEST_DIRNAME/fixtures/import/kyverno-disallow-latest-tag.yaml"
  [ "$status" -eq 0 ]
  [[ "$output" == *$'kind: ClusterAdmissionPolicy\nmetadata:\n  name: "disallow-latest-tag"\nspec:'* ]]
  [[ "$output" == *$'\n  mode: monitor\n'* ]]
}

@test "import: kubectl get clusteradmissionpolicies -o yaml | registry-guard import --as-policy NAME -" {
  run --separate-stderr bash -c "cat '$BATS_TEST_DIRNAME/fixtures/import/kubewarden-cluster-admission-policies.yaml' | '$RG' import --as-policy trusted -"
  [ "$status" -eq 0 ]
  [[ "$output" == *'#   -#1.items[0] ClusterAdmissionPolicy trusted-repos'* ]]
  [[ "$output" == *'  namespaceSelector: {"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["kube-system"]}]}'* ]]
  [[ "$output" == *$'  settings:\n    registries:\n      allow:\n'* ]]
}

@test "import: the OpenShift docs' example with a tagged repository is that image only, exit 0" {
  run --separate-stderr "$RG" import "$BATS_TEST_DIRNAME/fixtures/import/openshift-docs-allowed-registries.yaml"
  [ "$status" -eq 0 ]
  [[ "$output" == *'- "reg1.io/myrepo/myapp:latest"'* ]]
  [[ "$output" != *'please report'* && "$stderr" != *'please report'* ]]
}

@test "import: what cannot be translated is listed on stderr, exit 1 unless --partial" {
  run --separate-stderr "$RG" import "$BATS_TEST_DIRNAME/fixtures/import/kyverno-untranslatable.yaml"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"not translated:"*"preconditions (JMESPath over the request) cannot be translated"* ]]
  [[ "$output" == *'- "quay.io/acme/*"'* ]]
  run --separate-stderr "$RG" import --partial "$BATS_TEST_DIRNAME/fixtures/import/kyverno-untranslatable.yaml"
  [ "$status" -eq 0 ]
}
