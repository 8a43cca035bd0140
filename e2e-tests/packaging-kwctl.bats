#!/usr/bin/env bats
# Packaging through kwctl: `make annotated-policy.wasm` and what
# `kwctl inspect` shows of it. Skipped where kwctl is missing. The rules of
# `kwctl scaffold manifest` against the README are compared in
# e2e-tests/tests/e2e/kwctl_packaging.rs.

load helpers

setup() {
  require_tool kwctl
  cd "$BATS_TEST_DIRNAME/.."
}

# kwctl with a scratch HOME (its policy store and caches) and no backtraces.
kwctl_() {
  mkdir -p "$BATS_TEST_TMPDIR/home"
  HOME="$BATS_TEST_TMPDIR/home" RUST_BACKTRACE=0 NO_COLOR=1 kwctl "$@"
}

@test "packaging: make annotated-policy.wasm annotates policy.wasm with metadata.yml and the README" {
  # -W metadata.yml: annotate again even when the module is up to date.
  run make -W metadata.yml annotated-policy.wasm
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"kwctl annotate -m metadata.yml -u README.md -o annotated-policy.wasm policy.wasm"* ]]
  [ -s annotated-policy.wasm ]
  [ annotated-policy.wasm -nt metadata.yml ]
}

@test "packaging: kwctl inspect shows the title, rules, mutating, host capabilities and protocol version" {
  make annotated-policy.wasm >/dev/null
  run kwctl_ inspect annotated-policy.wasm
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" =~ title:\ +registry-guard ]]
  [[ "$output" =~ mutating:\ +true ]]
  [[ "$output" =~ background\ audit\ support:\ +true ]]
  [[ "$output" =~ execution\ mode:\ +kubewarden-wapc ]]
  [[ "$output" =~ protocol\ version:\ +1 ]]
  [[ "$output" =~ io\.kubewarden\.policy\.hostCapabilities\ +kubewarden/kubernetes/list_resources_by_namespace,\ kubewarden/oci/v1/manifest_digest ]]
  # vulnerabilities reads scan reports from the cluster.
  [[ "$output" =~ context\ aware:\ +true ]]
  [[ "$output" == *"pods/ephemeralcontainers"* ]]
  [[ "$output" == *"serving.knative.dev"* ]]
}

@test "packaging: kwctl inspect refuses the plain policy.wasm, which has no metadata" {
  [ -f policy.wasm ] || make policy.wasm >/dev/null
  run kwctl_ inspect policy.wasm
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"No Kubewarden metadata found inside of 'file://"*"/policy.wasm'"* ]]
}
