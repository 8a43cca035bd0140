#!/usr/bin/env bats
# The registry-guard command line, as a user runs it (needs `make policy.wasm runner`).

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
  [ "$output" = "ok   Deployment prod/api" ]
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
  BASELINE="${REGISTRY_GUARD_BASELINE:-$PWD/target/wasm32-wasip1/release/registry_guard_baseline.wasm}"
  run "$RG" bench --baseline "$BASELINE" --iterations 50 --evaluations 200
  echo "$output"
  [ "$status" -le 1 ]
  [[ "$output" == *"Deployment 100+1 containers, 5 rules"* ]]
  [[ "$output" == *"compile + instantiate: ours"* ]]
  [[ "$output" == *"memory: 200 evaluations on one instance capped at"* ]]
  [ "$(grep -cE '^  (met|MISSED) ' <<< "$output")" -eq 6 ]
}
