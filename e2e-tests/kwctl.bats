#!/usr/bin/env bats
# The policy through kwctl, for users who have it. Skipped where kwctl is
# missing (it is not installable on machines without GitHub access).

load helpers

setup() {
  require_tool kwctl
  cd "$BATS_TEST_DIRNAME/.."
  # Annotated again whenever policy.wasm, metadata.yml or the README changed.
  make annotated-policy.wasm >/dev/null
}

# `kwctl run ARGS… annotated-policy.wasm`, its output shown on failure; kwctl
# keeps its store and caches under a scratch HOME, prints no backtraces, and
# gets an empty Sigstore trust config, so that it does not try to fetch the
# trust root (these machines have no network; replay sessions answer every
# verification).
kwctl_run() {
  mkdir -p "$BATS_TEST_TMPDIR/home"
  echo '{}' >"$BATS_TEST_TMPDIR/sigstore-trust-config.json"
  run env HOME="$BATS_TEST_TMPDIR/home" RUST_BACKTRACE=0 NO_COLOR=1 kwctl run \
    --sigstore-trust-config "$BATS_TEST_TMPDIR/sigstore-trust-config.json" "$@" annotated-policy.wasm
  echo "$output"
}

@test "kwctl: Deployment with a Docker Hub init container is rejected" {
  kwctl_run --request-path e2e-tests/fixtures/deployment-create-review.json \
    --settings-path e2e-tests/fixtures/settings.yaml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'initContainers[0].image'* ]]
}

@test "kwctl: kubectl debug on pods/ephemeralcontainers is rejected" {
  kwctl_run --request-path e2e-tests/fixtures/pod-ephemeralcontainers-request.json \
    --settings-path e2e-tests/fixtures/settings.yaml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'ephemeralContainers[0].image'* ]]
}

@test "kwctl: an OpenShift trigger-annotated Deployment: the blank image is a warning at CREATE, the image the trigger writes is checked at UPDATE" {
  kwctl_run --request-path e2e-tests/fixtures/openshift-trigger-create-review.json \
    --settings-path e2e-tests/fixtures/settings.yaml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  [[ "$output" == *'containers[0].image \"web:latest\" is the ImageStreamTag an OpenShift image-change trigger fills this field from'* ]]
  kwctl_run --request-path e2e-tests/fixtures/openshift-trigger-update-review.json \
    --settings-path e2e-tests/fixtures/settings.yaml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'containers[0].image \"docker.io/library/node@sha256:'*'registry \"docker.io\" is not allowed'* ]]
}

@test "kwctl: invalid settings are refused" {
  kwctl_run --request-path e2e-tests/fixtures/deployment-create-review.json \
    --settings-json '{"registries": {"allowed": ["quay.io"]}}'
  [ "$status" -ne 0 ]
  [[ "$output" == *'unknown setting'* ]]
}

@test "kwctl: pinning replays the recorded manifest digest lookups and answers with a patch" {
  # pin-session.yml is what `registry-guard check --record-host-calls` wrote
  # for this request (cli.bats checks that it still does).
  kwctl_run --request-path e2e-tests/fixtures/pod-pin-review.json \
    --settings-path e2e-tests/fixtures/pin-settings.yaml \
    --replay-host-capabilities-interactions e2e-tests/fixtures/pin-session.yml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  [[ "$output" == *'"patchType":"JSONPatch"'* ]]
  [[ "$output" == *'quay.io/org/private:1'*'unauthorized: authentication required'* ]]
}

@test "kwctl: signatures replay the recorded v2/verify answers: pinned to the verified digests, or denied" {
  # The sessions are what `registry-guard check --sigstore … --record-host-calls`
  # wrote for these requests (cli.bats checks that it still does).
  kwctl_run --request-path e2e-tests/fixtures/signatures-review.json \
    --settings-path examples/signatures/settings.yaml \
    --replay-host-capabilities-interactions e2e-tests/fixtures/signatures-session.yml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  [[ "$output" == *'"patchType":"JSONPatch"'* ]]
  kwctl_run --request-path e2e-tests/fixtures/signatures-unsigned-review.json \
    --settings-path examples/signatures/settings.yaml \
    --replay-host-capabilities-interactions e2e-tests/fixtures/signatures-unsigned-session.yml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'were not verified by signatures[0] (pubKeys: key …IpGTb2a/CCbw): Image verification failed: missing signatures'* ]]
}

@test "kwctl: vulnerabilities replay the recorded cluster lists of both scanners (context aware)" {
  # vulnerabilities-session.yml is what `registry-guard check --reports …
  # --record-host-calls` wrote for this request (cli.bats checks that it
  # still does): a digest lookup, then !KubernetesListResourceNamespace
  # exchanges for trivy-operator's and sbomscanner's reports and the ScanJobs.
  kwctl_run --allow-context-aware --request-path e2e-tests/fixtures/vulnerabilities-review.json \
    --settings-path e2e-tests/fixtures/vulnerabilities-settings.yaml \
    --replay-host-capabilities-interactions e2e-tests/fixtures/vulnerabilities-session.yml
  [ "$status" -eq 0 ]
  [[ "$output" != *'have not been replayed'* ]]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'spec.containers[0].image \"ghcr.io/acme/shop/cart:1.9.0\": its scan report VulnerabilityReport shop/replicaset-cart-5c7b9d8f4-app (trivy-operator), scanned '*' ago, has findings over vulnerabilities.limits: critical 1 of at most 0 (over), high 1 of at most 5; worst: CVE-2024-3094 critical (fixed in 5.6.1+really5.4.5-1)'* ]]
  # The sbomscanner image passes: its critical finding is VEX not_affected.
  [[ "$output" != *'containers[1]'* ]]
}
