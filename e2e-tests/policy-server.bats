#!/usr/bin/env bats
# The policy in a real Kubewarden PolicyServer, over HTTP on 127.0.0.1: one
# server per file (setup_file), several instances of annotated-policy.wasm
# plus accept-all, AdmissionReviews POSTed to /validate/<name>, and a bounded
# load test that checks every answer. Skipped where policy-server or kwctl is
# missing (CI puts ../shared/bin first on PATH). No timing is asserted here;
# `benches/policy-server/run.sh` measures.

load helpers

setup_file() {
  tools_for_file policy-server kwctl python3 || return 1
  [ -z "$SKIP_REASON" ] || return 0
  cd "$BATS_TEST_DIRNAME/.."
  make --no-print-directory -s annotated-policy.wasm >&2
  local accept_all=${REGISTRY_GUARD_ACCEPT_ALL:-${CARGO_TARGET_DIR:-target}/accept-all-policy.wasm}
  [ -f "$accept_all" ] || make --no-print-directory -s accept-all >&2

  . benches/policy-server/server.sh
  export WORK="$BATS_FILE_TMPDIR/policy-server"
  mkdir -p "$WORK"
  ps_annotate_accept_all "$accept_all" "$WORK/accept-all.wasm"
  # A loopback port nothing listens on, as the mirror that pinning asks for
  # digests: the lookup fails at once and nothing leaves the machine.
  export CLOSED_PORT
  CLOSED_PORT=$(ps_load free-ports 1)

  local policy="file://$PWD/annotated-policy.wasm"
  # The same mirror settings, once allowed to mutate and once not.
  local mirror_settings='    registries:
      allow: [registry.corp.example, quay.io]
    mirrors:
      - from: docker.io
        to: registry.corp.example/dockerhub'
  cat >"$WORK/policies.yml" <<EOF
validate:
  module: $policy
  allowedToMutate: false
  settings:
$(ps_yaml_settings e2e-tests/fixtures/settings.yaml 4)
mirror:
  module: $policy
  allowedToMutate: true
  settings:
$mirror_settings
mirror-not-allowed-to-mutate:
  module: $policy
  allowedToMutate: false
  settings:
$mirror_settings
pin-attempt:
  module: $policy
  allowedToMutate: true
  hostCapabilities: [oci/v1/manifest_digest]
  settings:
    digests:
      pin: attempt
    mirrors:
      - from: docker.io
        to: 127.0.0.1:$CLOSED_PORT/dockerhub
pin-required:
  module: $policy
  allowedToMutate: true
  hostCapabilities: [oci/v1/manifest_digest]
  settings:
    digests:
      pin: required
    mirrors:
      - from: docker.io
        to: 127.0.0.1:$CLOSED_PORT/dockerhub
pin-not-granted:
  module: $policy
  allowedToMutate: true
  settings:
    digests:
      pin: required
    mirrors:
      - from: docker.io
        to: 127.0.0.1:$CLOSED_PORT/dockerhub
bench-5-rules:
  module: $policy
  allowedToMutate: false
  settings:
$(ps_yaml_settings benches/fixtures/settings-5-rules.json 4)
signatures:
  module: $policy
  allowedToMutate: true
  hostCapabilities: [oci/v2/verify]
  settings:
    signatures:
      - image: "127.0.0.1:$CLOSED_PORT/acme/*"
        pubKeys:
          - |
$(sed 's/^/            /' examples/signatures/keys/release.pub)
image-config:
  module: $policy
  allowedToMutate: false
  hostCapabilities: [oci/v1/oci_manifest, oci/v1/oci_manifest_config]
  settings:
    imageConfig:
      images: ["127.0.0.1:$CLOSED_PORT/*"]
      maxAge: 90d
image-config-allow:
  module: $policy
  allowedToMutate: false
  hostCapabilities: [oci/v1/oci_manifest, oci/v1/oci_manifest_config]
  settings:
    imageConfig:
      images: ["127.0.0.1:$CLOSED_PORT/*"]
      maxAge: 90d
      onLookupFailure: allow
accept-all:
  module: file://$WORK/accept-all.wasm
  allowedToMutate: false
  settings:
$(ps_yaml_settings benches/fixtures/settings-5-rules.json 4)
EOF

  # `pod_review UID NAME USER CONTAINERS`: a Pod CREATE AdmissionReview, as
  # an API server sends it.
  pod_review() {
    cat <<EOF
{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
  "uid": "$1",
  "kind": {"group": "", "version": "v1", "kind": "Pod"},
  "resource": {"group": "", "version": "v1", "resource": "pods"},
  "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
  "requestResource": {"group": "", "version": "v1", "resource": "pods"},
  "name": "$2", "namespace": "prod", "operation": "CREATE",
  "userInfo": $3,
  "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "$2", "namespace": "prod"},
    "spec": {"containers": $4}},
  "oldObject": null, "dryRun": false,
  "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}}}
EOF
  }
  pod_review 0c3e8a52-7d1b-4f0a-9e6c-2b5d4a1f8e07 etcd \
    '{"username": "kubernetes-admin", "uid": "3c0c0f7e-2b0a-4c9e-9a61-7d4f0e5b8a21", "groups": ["system:masters", "system:authenticated"]}' \
    '[{"name": "etcd", "image": "quay.io/coreos/etcd:v3.5.9"}, {"name": "api", "image": "registry.corp.example/team/api:1.4.2"}]' \
    >"$WORK/pod-allowed.json"
  pod_review 6f1d2c3b-4a5e-4d6f-8a7b-9c0d1e2f3a4b web \
    '{"username": "alice", "uid": "8d1e5b0c-6f3a-4d2e-b7c9-0a1f2e3d4c5b", "groups": ["system:authenticated"]}' \
    '[{"name": "web", "image": "nginx:1.25"}]' >"$WORK/pod-nginx.json"

  # An image whose signatures live on that closed port: verification fails
  # at once, in the server's real Sigstore verifier.
  sed -e "s|\"image\": \"nginx:1.25\"|\"image\": \"127.0.0.1:$CLOSED_PORT/acme/app:1\"|" \
    "$WORK/pod-nginx.json" >"$WORK/pod-signed-elsewhere.json"

  ps_start "$WORK" "$WORK/policies.yml"
  export PS_PID PS_PORT PS_READY_PORT PS_LOG PS_READY_SECONDS
  echo "# policy-server ready after $PS_READY_SECONDS s" >&3
}

teardown_file() {
  if [ -n "${WORK:-}" ]; then
    . "$BATS_TEST_DIRNAME/../benches/policy-server/server.sh"
    ps_stop "$WORK"
  fi
}

setup() {
  [ -z "$SKIP_REASON" ] || skip "$SKIP_REASON"
  cd "$BATS_TEST_DIRNAME/.."
  . benches/policy-server/server.sh
}

# `post POLICY FIXTURE`: one AdmissionReview; $output holds lines
# "status 200", "request-uid …", "uid …", "allowed …", "message …",
# "patchType …", "patch <decoded JSON>", "warning …", "body <raw>".
post() {
  run ps_load post --port "$PS_PORT" --policy "$1" --review "$2"
  echo "$output"
}

field() {
  printf '%s\n' "$output" | sed -n "s/^$1 //p" | head -n 1
}

# The answer is for this request: HTTP 200, an AdmissionReview v1, same uid.
answered() {
  [ "$status" -eq 0 ]
  [ "$(field status)" = 200 ]
  [ "$(field apiVersion)" = admission.k8s.io/v1 ]
  [ "$(field kind)" = AdmissionReview ]
  [ -n "$(field request-uid)" ]
  [ "$(field uid)" = "$(field request-uid)" ]
}

@test "policy-server: a Deployment with a Docker Hub init container is denied, naming the field" {
  post validate e2e-tests/fixtures/deployment-create-review.json
  answered
  [ "$(field uid)" = 1299d386-525b-4032-98ae-1949f69f9cfc ]
  [ "$(field allowed)" = false ]
  [[ "$(field message)" == 'spec.template.spec.initContainers[0].image "busybox": registry "docker.io" is not allowed (registries.allow: registry.corp.example, *.corp.example, quay.io) and tag "latest" (implicit: the image names neither tag nor digest) is rejected (tags.reject: "latest")' ]]
  [ -z "$(field patchType)" ]
}

@test "policy-server: an allowed Pod is admitted unchanged" {
  post validate "$WORK/pod-allowed.json"
  answered
  [ "$(field allowed)" = true ]
  [ -z "$(field message)" ]
  [ -z "$(field patchType)" ]
  [ -z "$(field patch)" ]
}

@test "policy-server: kubectl debug (pods/ephemeralcontainers UPDATE) is denied" {
  post validate e2e-tests/fixtures/pod-ephemeralcontainers-request.json
  answered
  [ "$(field uid)" = b1f6a2e0-0000-4000-8000-000000000001 ]
  [ "$(field allowed)" = false ]
  [[ "$(field message)" == 'spec.ephemeralContainers[0].image "busybox:1.36": registry "docker.io" is not allowed'* ]]
}

@test "policy-server: mirrors answer with a JSONPatch that moves the image to the mirror" {
  post mirror e2e-tests/fixtures/deployment-create-review.json
  answered
  [ "$(field allowed)" = true ]
  [ "$(field patchType)" = JSONPatch ]
  [ "$(field patch)" = '[{"op":"replace","path":"/spec/template/spec/initContainers/0/image","value":"registry.corp.example/dockerhub/library/busybox"}]' ]
  [ -z "$(field message)" ]
}

@test "policy-server: mirrors leave an object with nothing to move without a patch" {
  post mirror "$WORK/pod-allowed.json"
  answered
  [ "$(field allowed)" = true ]
  [ -z "$(field patchType)" ]
}

@test "policy-server: allowedToMutate false rejects a request the policy would rewrite" {
  post mirror-not-allowed-to-mutate e2e-tests/fixtures/deployment-create-review.json
  answered
  [ "$(field allowed)" = false ]
  [ "$(field message)" = 'Request rejected by policy mirror-not-allowed-to-mutate. The policy attempted to mutate the request, but it is currently configured to not allow mutations.' ]
  [ -z "$(field patchType)" ]
  # What needs no rewrite is still admitted.
  post mirror-not-allowed-to-mutate "$WORK/pod-allowed.json"
  answered
  [ "$(field allowed)" = true ]
}

@test "policy-server: digests.pin attempt, registry unreachable: admitted, mirrored, with a warning" {
  post pin-attempt "$WORK/pod-nginx.json"
  answered
  [ "$(field allowed)" = true ]
  [ "$(field patchType)" = JSONPatch ]
  [ "$(field patch)" = "[{\"op\":\"replace\",\"path\":\"/spec/containers/0/image\",\"value\":\"127.0.0.1:$CLOSED_PORT/dockerhub/library/nginx:1.25\"}]" ]
  [[ "$(field warning)" == "spec.containers[0].image \"nginx:1.25\" (mirrored to \"127.0.0.1:$CLOSED_PORT/dockerhub/library/nginx:1.25\") was not pinned (digests.pin: attempt): the digest of \"127.0.0.1:$CLOSED_PORT/dockerhub/library/nginx:1.25\": Connection refused"* ]]
}

@test "policy-server: digests.pin required, registry unreachable: denied with the host's error" {
  post pin-required "$WORK/pod-nginx.json"
  answered
  [ "$(field allowed)" = false ]
  [ -z "$(field patchType)" ]
  # The cause, not only the verdict: the registry refused the connection
  # (the policy was granted the capability).
  [[ "$(field message)" == "spec.containers[0].image \"nginx:1.25\" (mirrored to \"127.0.0.1:$CLOSED_PORT/dockerhub/library/nginx:1.25\"): its digest could not be looked up (digests.pin: required): \"127.0.0.1:$CLOSED_PORT/dockerhub/library/nginx:1.25\": Connection refused (os error 111) (Fail to interact with OCI registry: "* ]]
}

@test "policy-server 1.35: a lookup the policies.yml entry does not grant is denied, saying so" {
  ps_grants_capabilities || skip "policy-server $(ps_version) grants every host capability"
  post pin-not-granted "$WORK/pod-nginx.json"
  answered
  [ "$(field allowed)" = false ]
  [ "$(field message)" = "spec.containers[0].image \"nginx:1.25\" (mirrored to \"127.0.0.1:$CLOSED_PORT/dockerhub/library/nginx:1.25\"): its digest could not be looked up (digests.pin: required): \"127.0.0.1:$CLOSED_PORT/dockerhub/library/nginx:1.25\": Policy has not been granted access to the 'oci/v1/manifest_digest' host capability. The violation has been reported." ]
}

@test "policy-server: an unknown policy name is a 404" {
  post no-such-policy e2e-tests/fixtures/deployment-create-review.json
  [ "$status" -eq 0 ]
  [ "$(field status)" = 404 ]
  [[ "$(field body)" == *'unknown policy: no-such-policy'* ]]
}

@test "policy-server load: 400 requests from 4 clients each to registry-guard and accept-all, all answered correctly" {
  run ps_load load --port "$PS_PORT" --request benches/fixtures/deployment-3-containers.json \
    --policy accept-all --policy bench-5-rules=accept-all --rounds 2 --count 200 --clients 4 --max-seconds 120
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *'every request answered correctly: 800 of 800, none lost'* ]]
}

@test "policy-server load: denials and patches stay correct and identical under concurrency" {
  run ps_load load --port "$PS_PORT" --request e2e-tests/fixtures/deployment-create-review.json \
    --policy validate --expect denied --count 400 --clients 4 --max-seconds 120
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *'every request answered correctly: 400 of 400, none lost'* ]]
  run ps_load load --port "$PS_PORT" --request e2e-tests/fixtures/deployment-create-review.json \
    --policy mirror --expect allowed --count 400 --clients 4 --max-seconds 120
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *'every request answered correctly: 400 of 400, none lost'* ]]
}

@test "policy-server: invalid settings make it refuse to start, naming the setting" {
  mkdir -p "$BATS_TEST_TMPDIR/refused"
  cat >"$BATS_TEST_TMPDIR/refused/policies.yml" <<EOF
registry-guard:
  module: file://$PWD/annotated-policy.wasm
  allowedToMutate: false
  settings:
    registries: {allowed: [quay.io]}
EOF
  run ps_refuses "$BATS_TEST_TMPDIR/refused" "$BATS_TEST_TMPDIR/refused/policies.yml"
  cat "$BATS_TEST_TMPDIR/refused/refused.log"
  [ "$status" -ne 0 ]
  [ "$status" -ne 124 ] # 124: it served instead, and timeout stopped it
  grep -qF 'Policy settings are invalid: unknown setting "registries.allowed"; expected one of: allow, reject' \
    "$BATS_TEST_TMPDIR/refused/refused.log"
}

@test "policy-server: a policy.wasm without kwctl annotate is refused" {
  [ -f policy.wasm ] || skip "policy.wasm is not built"
  mkdir -p "$BATS_TEST_TMPDIR/refused"
  cat >"$BATS_TEST_TMPDIR/refused/policies.yml" <<EOF
registry-guard:
  module: file://$PWD/policy.wasm
  allowedToMutate: false
  settings: {}
EOF
  run ps_refuses "$BATS_TEST_TMPDIR/refused" "$BATS_TEST_TMPDIR/refused/policies.yml"
  cat "$BATS_TEST_TMPDIR/refused/refused.log"
  [ "$status" -ne 0 ]
  [ "$status" -ne 124 ]
  grep -qF 'Policy is missing protocol version, which is required for KubewardenWapc execution mode' \
    "$BATS_TEST_TMPDIR/refused/refused.log"
}

@test "policy-server: signatures the verifier cannot check deny the image, with the verifier's reason" {
  post signatures "$WORK/pod-signed-elsewhere.json"
  answered
  [ "$(field allowed)" = false ]
  [[ "$(field message)" == "spec.containers[0].image \"127.0.0.1:$CLOSED_PORT/acme/app:1\": the signatures of \"127.0.0.1:$CLOSED_PORT/acme/app:1\" were not verified by signatures[0] (pubKeys: key …IpGTb2a/CCbw): failed to get image trusted layers: Cannot fetch manifest of 127.0.0.1:$CLOSED_PORT/acme/app:1: error sending request for url (https://127.0.0.1:$CLOSED_PORT/v2/acme/app/manifests/1)" ]]
  # The verifier's own words, without policy-evaluator's wrapping.
  [[ "$(field message)" != *"Callback evaluation failure"* ]]
  [ -z "$(field patchType)" ]
  # An image no rule names is not verified, and is admitted.
  post signatures "$WORK/pod-allowed.json"
  answered
  [ "$(field allowed)" = true ]
}

@test "policy-server: imageConfig, registry unreachable: denied with the host's error, or warned with onLookupFailure allow" {
  post image-config "$WORK/pod-signed-elsewhere.json"
  answered
  [ "$(field allowed)" = false ]
  [[ "$(field message)" == "spec.containers[0].image \"127.0.0.1:$CLOSED_PORT/acme/app:1\": its image config could not be read (imageConfig.onLookupFailure: reject): \"127.0.0.1:$CLOSED_PORT/acme/app:1\": Connection refused"* ]]
  [[ "$(field message)" != *"Callback evaluation failure"* ]]
  post image-config-allow "$WORK/pod-signed-elsewhere.json"
  answered
  [ "$(field allowed)" = true ]
  [[ "$(field warning)" == "spec.containers[0].image \"127.0.0.1:$CLOSED_PORT/acme/app:1\": its image config was not checked (imageConfig.onLookupFailure: allow): \"127.0.0.1:$CLOSED_PORT/acme/app:1\": Connection refused"* ]]
  # Images outside imageConfig.images are not looked up, and are admitted.
  post image-config "$WORK/pod-allowed.json"
  answered
  [ "$(field allowed)" = true ]
}
