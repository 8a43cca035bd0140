#!/usr/bin/env bats
# The policy against real registries: Debian's docker-registry (CNCF
# Distribution) on free loopback ports, storage in a temp dir, images pushed
# over the distribution API by e2e-tests/registry/fixtures.py (OCI and Docker
# schema-2 images, a two-platform index with an attestation, key-signed
# images in cosign's layout). Every lookup is answered by the registry
# itself, through kwctl (no replay) and through policy-server: pins must be
# the registry's own digests, and every denial must name its cause.
#
# - public: plain HTTP (`insecure_sources`);
# - private: TLS from a CA made here (`source_authorities`) and basic auth
#   (htpasswd; credentials in a Docker config.json);
# - broken: a server that answers 500 to everything;
# - hanging: a server that accepts and never answers (started by its test);
# - lying: a server that answers one image whatever digest is asked.
#
# Skipped where docker-registry, kwctl or policy-server is missing; under
# CI=true a missing tool fails the run instead (.ci/run installs
# docker-registry and puts ../shared/bin on PATH).

load helpers

setup_file() {
  tools_for_file docker-registry htpasswd openssl kwctl policy-server python3 || return 1
  [ -z "$SKIP_REASON" ] || return 0
  cd "$BATS_TEST_DIRNAME/.."
  make --no-print-directory -s annotated-policy.wasm >&2
  . benches/policy-server/server.sh
  export WORK="$BATS_FILE_TMPDIR/registry"
  mkdir -p "$WORK/public" "$WORK/private" "$WORK/docker" "$WORK/home"
  local fixtures=e2e-tests/registry/fixtures.py ports
  ports=$(ps_load free-ports 5)
  read -r PUBLIC_PORT PRIVATE_PORT BROKEN_PORT HANGING_PORT LYING_PORT <<<"$ports"
  export LYING="127.0.0.1:$LYING_PORT"
  export PUBLIC="127.0.0.1:$PUBLIC_PORT" PRIVATE="127.0.0.1:$PRIVATE_PORT" BROKEN="127.0.0.1:$BROKEN_PORT"
  export HANGING="127.0.0.1:$HANGING_PORT" HANGING_PORT

  # The private registry's CA and certificate (for 127.0.0.1), and a user.
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=registry-guard test CA" \
    -keyout "$WORK/ca.key" -out "$WORK/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$WORK/server.key" -out "$WORK/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\n' >"$WORK/san.ext"
  openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial \
    -days 2 -extfile "$WORK/san.ext" -out "$WORK/server.pem" 2>/dev/null
  htpasswd -Bbn ci s3cret >"$WORK/htpasswd" 2>/dev/null
  printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$PRIVATE" "$(printf 'ci:s3cret' | base64)" >"$WORK/docker/config.json"

  python3 "$fixtures" registry-config --storage "$WORK/public" --port "$PUBLIC_PORT" >"$WORK/public.yml"
  python3 "$fixtures" registry-config --storage "$WORK/private" --port "$PRIVATE_PORT" \
    --cert "$WORK/server.pem" --key "$WORK/server.key" --htpasswd "$WORK/htpasswd" >"$WORK/private.yml"
  # 3>&-: bats waits for every process that holds its fd 3.
  docker-registry serve "$WORK/public.yml" >"$WORK/public.log" 2>&1 3>&- &
  echo $! >"$WORK/pids"
  docker-registry serve "$WORK/private.yml" >"$WORK/private.log" 2>&1 3>&- &
  echo $! >>"$WORK/pids"
  python3 "$fixtures" fake-registry --port "$BROKEN_PORT" --mode 500 --max-seconds 900 3>&- &
  echo $! >>"$WORK/pids"
  python3 "$fixtures" fake-registry --port "$LYING_PORT" --mode lie --max-seconds 900 3>&- &
  echo $! >>"$WORK/pids"
  local i
  for i in $(seq 50); do
    curl -sf -o /dev/null "http://$PUBLIC/v2/" &&
      [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$WORK/ca.pem" "https://$PRIVATE/v2/")" = 401 ] && break
    sleep 0.2
  done

  python3 "$fixtures" keys "$WORK/keys"
  python3 "$fixtures" push --registry "$PUBLIC" --keys "$WORK/keys" >"$WORK/public.json"
  python3 "$fixtures" push --registry "$PRIVATE" --keys "$WORK/keys" --user ci:s3cret --ca "$WORK/ca.pem" \
    >"$WORK/private.json"

  cat >"$WORK/sources.yml" <<EOF
insecure_sources: ["$PUBLIC", "$BROKEN", "$HANGING", "$LYING"]
source_authorities:
  "$PRIVATE":
    - type: Path
      path: $WORK/ca.pem
EOF
  echo '{}' >"$WORK/sigstore-trust-config.json"

  # The same policies through policy-server, granted only what they use.
  local policy="file://$PWD/annotated-policy.wasm"
  cat >"$WORK/policies.yml" <<EOF
pin:
  module: $policy
  allowedToMutate: true
  hostCapabilities: [oci/v1/manifest_digest]
  settings:
    digests: {pin: required}
image-config:
  module: $policy
  allowedToMutate: false
  hostCapabilities: [oci/v1/oci_manifest, oci/v1/oci_manifest_config]
  settings:
    imageConfig: {user: {nonRoot: true}, maxAge: 365d}
signatures:
  module: $policy
  allowedToMutate: true
  hostCapabilities: [oci/v2/verify]
  settings:
    signatures:
      - image: "$PUBLIC/acme/*"
        pubKeys:
          - |
$(sed 's/^/            /' "$WORK/keys/cosign.pub")
EOF
  export PS_SOURCES_PATH="$WORK/sources.yml" PS_DOCKER_CONFIG="$WORK/docker"
  ps_start "$WORK/ps" "$WORK/policies.yml"
  export PS_PID PS_PORT PS_READY_PORT PS_LOG
}

teardown_file() {
  [ -n "${WORK:-}" ] || return 0
  . "$BATS_TEST_DIRNAME/../benches/policy-server/server.sh"
  ps_stop "$WORK/ps"
  local pid
  for pid in $(cat "$WORK/pids" 2>/dev/null); do
    kill "$pid" 2>/dev/null || true
  done
}

setup() {
  [ -z "$SKIP_REASON" ] || skip "$SKIP_REASON"
  cd "$BATS_TEST_DIRNAME/.."
  . benches/policy-server/server.sh
}

# `review FILE IMAGE…`: a Pod CREATE AdmissionReview running the images.
review() {
  local file=$1
  shift
  python3 e2e-tests/registry/fixtures.py review "$@" >"$file"
}

# `kwctl_registry SETTINGS_JSON REVIEW [ARGS…]`: kwctl run, its lookups
# answered by the registries; $output is the AdmissionResponse, decoded by
# answer_fields into "allowed …", "message …", "patch …" lines.
kwctl_registry() {
  local settings=$1 request=$2
  shift 2
  run env HOME="$WORK/home" RUST_BACKTRACE=0 NO_COLOR=1 kwctl run \
    --sigstore-trust-config "$WORK/sigstore-trust-config.json" --sources-path "$WORK/sources.yml" \
    --request-path "$request" --settings-json "$settings" "$@" annotated-policy.wasm
  echo "$output"
  [ "$status" -eq 0 ]
  output=$(printf '%s\n' "$output" | tail -n 1 | python3 -c '
import base64, json, sys
r = json.loads(sys.stdin.read())
print("allowed", str(r["allowed"]).lower())
print("message", (r.get("status") or {}).get("message", ""))
if r.get("patch"):
    print("patch", base64.b64decode(r["patch"]).decode())')
  echo "$output"
}

field() {
  printf '%s\n' "$output" | sed -n "s/^$1 //p" | head -n 1
}

# A digest of the fixtures: `digest public multi`.
digest() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/$1.json" "$2"
}

@test "registry: digests.pin pins OCI, Docker schema-2 and multi-platform images to the registry's own digests" {
  review "$BATS_TEST_TMPDIR/r.json" "$PUBLIC/acme/oci-single:1" "$PUBLIC/acme/docker-single:1" "$PUBLIC/acme/multi:1"
  kwctl_registry '{"digests": {"pin": "required"}}' "$BATS_TEST_TMPDIR/r.json"
  [ "$(field allowed)" = true ]
  # The index digest, not a platform's: the node picks its own platform.
  [ "$(field patch)" = "[{\"op\":\"replace\",\"path\":\"/spec/containers/0/image\",\"value\":\"$PUBLIC/acme/oci-single:1@$(digest public oci-single)\"},{\"op\":\"replace\",\"path\":\"/spec/containers/1/image\",\"value\":\"$PUBLIC/acme/docker-single:1@$(digest public docker-single)\"},{\"op\":\"replace\",\"path\":\"/spec/containers/2/image\",\"value\":\"$PUBLIC/acme/multi:1@$(digest public multi)\"}]" ]
}

@test "registry: imageConfig reads every platform of an index and names the failing one; Docker schema-2 configs are read" {
  review "$BATS_TEST_TMPDIR/r.json" "$PUBLIC/acme/oci-single:1" "$PUBLIC/acme/multi:1" "$PUBLIC/acme/docker-single:1"
  kwctl_registry '{"imageConfig": {"user": {"nonRoot": true}, "maxAge": "365d"}}' "$BATS_TEST_TMPDIR/r.json"
  [ "$(field allowed)" = false ]
  [[ "$(field message)" == "spec.containers[1].image \"$PUBLIC/acme/multi:1\": linux/arm64/v8: it runs as user \"root\", which is root (imageConfig.user.nonRoot); spec.containers[2].image \"$PUBLIC/acme/docker-single:1\": built 2020-01-01T00:00:00Z, "*" days ago, older than 365d (imageConfig.maxAge) and it sets no user, so it runs as root (imageConfig.user.nonRoot)" ]]
  # The amd64 image (user 65532) and the attestation manifest raise nothing.
  [[ "$(field message)" != *"linux/amd64"* && "$(field message)" != *unknown* ]]
}

@test "registry: an image pinned to its index digest passes imageConfig platform by platform (it used to be refused)" {
  review "$BATS_TEST_TMPDIR/r.json" "$PUBLIC/acme/multi:1"
  kwctl_registry '{"digests": {"pin": "required"}, "imageConfig": {"user": {"nonRoot": true}, "platforms": ["linux/amd64"]}}' \
    "$BATS_TEST_TMPDIR/r.json"
  [ "$(field allowed)" = true ]
  [ "$(field patch)" = "[{\"op\":\"replace\",\"path\":\"/spec/containers/0/image\",\"value\":\"$PUBLIC/acme/multi:1@$(digest public multi)\"}]" ]
  # Every platform, and one the index lacks.
  kwctl_registry '{"digests": {"pin": "required"}, "imageConfig": {"user": {"nonRoot": true}, "platforms": ["linux/arm64", "linux/s390x"]}}' \
    "$BATS_TEST_TMPDIR/r.json"
  [ "$(field allowed)" = false ]
  [ "$(field message)" = "spec.containers[0].image \"$PUBLIC/acme/multi:1\" (pulled as \"$PUBLIC/acme/multi:1@$(digest public multi)\"): it offers no linux/s390x image (imageConfig.platforms); it offers linux/amd64, linux/arm64/v8 and linux/arm64/v8: it runs as user \"root\", which is root (imageConfig.user.nonRoot)" ]
}

@test "registry: key signatures in cosign's layout: signed is admitted and pinned; other key, unsigned, wrong payload, moved tag are denied" {
  review "$BATS_TEST_TMPDIR/r.json" "$PUBLIC/acme/signed:1" "$PUBLIC/acme/other-signed:1" "$PUBLIC/acme/unsigned:1" \
    "$PUBLIC/acme/wrong-payload:1" "$PUBLIC/acme/moved:1"
  python3 -c 'import json, sys; print(json.dumps({"signatures": [{"image": sys.argv[1] + "/acme/*", "pubKeys": [open(sys.argv[2]).read()]}]}))' \
    "$PUBLIC" "$WORK/keys/cosign.pub" >"$BATS_TEST_TMPDIR/settings.json"
  kwctl_registry "$(cat "$BATS_TEST_TMPDIR/settings.json")" "$BATS_TEST_TMPDIR/r.json"
  [ "$(field allowed)" = false ]
  local message
  message=$(field message)
  [[ "$message" != *"acme/signed:1"* ]]
  [[ "$message" == *"spec.containers[1].image \"$PUBLIC/acme/other-signed:1\": the signatures of \"$PUBLIC/acme/other-signed:1\" were not verified by signatures[0] (pubKeys: key …"*"): Image verification failed: missing signatures"* ]]
  [[ "$message" == *"spec.containers[2].image \"$PUBLIC/acme/unsigned:1\": "*"no signatures found for image: $PUBLIC/acme/unsigned:1"* ]]
  [[ "$message" == *"spec.containers[3].image \"$PUBLIC/acme/wrong-payload:1\": "*"No Signature Layer passed verification"* ]]
  # Signed at the old digest; the tag now names an image nobody signed.
  [[ "$message" == *"spec.containers[4].image \"$PUBLIC/acme/moved:1\": "*"no signatures found for image: $PUBLIC/acme/moved:1"* ]]
  # The signed image alone: admitted, pinned to the digest that was verified.
  review "$BATS_TEST_TMPDIR/signed.json" "$PUBLIC/acme/signed:1"
  kwctl_registry "$(cat "$BATS_TEST_TMPDIR/settings.json")" "$BATS_TEST_TMPDIR/signed.json"
  [ "$(field allowed)" = true ]
  [ "$(field patch)" = "[{\"op\":\"replace\",\"path\":\"/spec/containers/0/image\",\"value\":\"$PUBLIC/acme/signed:1@$(digest public signed)\"}]" ]
}

@test "registry: a private registry (TLS, basic auth): \"Not authorized\" (its 401) without credentials, its digest with them" {
  review "$BATS_TEST_TMPDIR/r.json" "$PRIVATE/acme/oci-single:1"
  kwctl_registry '{"digests": {"pin": "required"}}' "$BATS_TEST_TMPDIR/r.json"
  [ "$(field allowed)" = false ]
  [[ "$(field message)" == "spec.containers[0].image \"$PRIVATE/acme/oci-single:1\": its digest could not be looked up (digests.pin: required): \"$PRIVATE/acme/oci-single:1\": Fail to interact with OCI registry: Not authorized: url https://$PRIVATE/v2/acme/oci-single/manifests/1" ]]
  kwctl_registry '{"digests": {"pin": "required"}}' "$BATS_TEST_TMPDIR/r.json" --docker-config-json-path "$WORK/docker"
  [ "$(field allowed)" = true ]
  [ "$(field patch)" = "[{\"op\":\"replace\",\"path\":\"/spec/containers/0/image\",\"value\":\"$PRIVATE/acme/oci-single:1@$(digest private oci-single)\"}]" ]
}

@test "registry: a registry that answers 500 is a denial naming the image, the lookup and the 500" {
  review "$BATS_TEST_TMPDIR/r.json" "$BROKEN/acme/app:1"
  kwctl_registry '{"digests": {"pin": "required"}}' "$BATS_TEST_TMPDIR/r.json"
  [ "$(field allowed)" = false ]
  [[ "$(field message)" == "spec.containers[0].image \"$BROKEN/acme/app:1\": its digest could not be looked up (digests.pin: required): \"$BROKEN/acme/app:1\": "*"500"* ]]
  kwctl_registry '{"imageConfig": {"maxAge": "30d"}}' "$BATS_TEST_TMPDIR/r.json"
  [ "$(field allowed)" = false ]
  [[ "$(field message)" == "spec.containers[0].image \"$BROKEN/acme/app:1\": its image config could not be read (imageConfig.onLookupFailure: reject): \"$BROKEN/acme/app:1\": "* ]]
}

@test "registry: a registry that answers another digest's manifest for an image named by digest is a denial" {
  local asked=sha256:1111111111111111111111111111111111111111111111111111111111111111
  review "$BATS_TEST_TMPDIR/r.json" "$LYING/acme/app@$asked"
  kwctl_registry '{"imageConfig": {"user": {"nonRoot": true}}}' "$BATS_TEST_TMPDIR/r.json"
  [ "$(field allowed)" = false ]
  [[ "$(field message)" == "spec.containers[0].image \"$LYING/acme/app@$asked\": its image config could not be read (imageConfig.onLookupFailure: reject): \"$LYING/acme/app@$asked\": Fail to interact with OCI registry: Digest error: Invalid digest. Expected $asked, got sha256:"* ]]
  # The host checks the manifest's digest itself; the policy checks again
  # that each config answer is for the digest it asked (unit tests).
}

# Through policy-server: `post POLICY REVIEW`.
post() {
  run ps_load post --port "$PS_PORT" --policy "$1" --review "$2"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(field status)" = 200 ]
}

@test "registry, policy-server: pins, every platform's config, and signatures answered by the real registry" {
  review "$BATS_TEST_TMPDIR/r.json" "$PUBLIC/acme/multi:1" "$PRIVATE/acme/oci-single:1"
  post pin "$BATS_TEST_TMPDIR/r.json"
  [ "$(field allowed)" = true ]
  # The private registry through --docker-config-json-path and its CA.
  [ "$(field patch)" = "[{\"op\":\"replace\",\"path\":\"/spec/containers/0/image\",\"value\":\"$PUBLIC/acme/multi:1@$(digest public multi)\"},{\"op\":\"replace\",\"path\":\"/spec/containers/1/image\",\"value\":\"$PRIVATE/acme/oci-single:1@$(digest private oci-single)\"}]" ]

  post image-config "$BATS_TEST_TMPDIR/r.json"
  [ "$(field allowed)" = false ]
  [ "$(field message)" = "spec.containers[0].image \"$PUBLIC/acme/multi:1\": linux/arm64/v8: it runs as user \"root\", which is root (imageConfig.user.nonRoot)" ]

  review "$BATS_TEST_TMPDIR/s.json" "$PUBLIC/acme/signed:1" "$PUBLIC/acme/unsigned:1"
  post signatures "$BATS_TEST_TMPDIR/s.json"
  [ "$(field allowed)" = false ]
  [[ "$(field message)" == "spec.containers[1].image \"$PUBLIC/acme/unsigned:1\": "*"no signatures found for image: $PUBLIC/acme/unsigned:1" ]]
  review "$BATS_TEST_TMPDIR/s.json" "$PUBLIC/acme/signed:1"
  post signatures "$BATS_TEST_TMPDIR/s.json"
  [ "$(field allowed)" = true ]
  [ "$(field patch)" = "[{\"op\":\"replace\",\"path\":\"/spec/containers/0/image\",\"value\":\"$PUBLIC/acme/signed:1@$(digest public signed)\"}]" ]
}

@test "registry: make push publishes the policy; kwctl pull and inspect read it; policy-server loads it from registry://" {
  run make --no-print-directory push REGISTRY="$PUBLIC/policies" SOURCES="$WORK/sources.yml" \
    KWCTL="env HOME=$WORK/home RUST_BACKTRACE=0 NO_COLOR=1 kwctl"
  echo "$output"
  [ "$status" -eq 0 ]
  local version module
  version=$(sed -n 's/^ *io.kubewarden.policy.version: *//p' metadata.yml)
  module="registry://$PUBLIC/policies/registry-guard:v$version"
  run env HOME="$WORK/home" RUST_BACKTRACE=0 NO_COLOR=1 kwctl pull --sources-path "$WORK/sources.yml" "$module"
  echo "$output"
  [ "$status" -eq 0 ]
  run env HOME="$WORK/home" RUST_BACKTRACE=0 NO_COLOR=1 kwctl inspect --sources-path "$WORK/sources.yml" "$module"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" =~ title:\ +registry-guard ]]
  [[ "$output" == *"oci/v1/oci_manifest_config"* ]]

  mkdir -p "$BATS_TEST_TMPDIR/ps"
  cat >"$BATS_TEST_TMPDIR/ps/policies.yml" <<EOF
from-registry:
  module: $module
  allowedToMutate: false
  settings:
    registries: {allow: [quay.io]}
EOF
  local PS_PID PS_PORT PS_READY_PORT PS_LOG
  ps_start "$BATS_TEST_TMPDIR/ps" "$BATS_TEST_TMPDIR/ps/policies.yml"
  review "$BATS_TEST_TMPDIR/r.json" "$PUBLIC/acme/oci-single:1"
  run ps_load post --port "$PS_PORT" --policy from-registry --review "$BATS_TEST_TMPDIR/r.json"
  ps_stop "$BATS_TEST_TMPDIR/ps"
  echo "$output"
  [ "$(field allowed)" = false ]
  [[ "$(field message)" == *"registry \"$PUBLIC\" is not allowed (registries.allow: quay.io)"* ]]
}

@test "registry, policy-server: a registry that never answers holds the request; dropped, it is a denial naming the cause" {
  # The guest cannot time out a host call, and the host sets no timeout: the
  # request waits as long as the registry holds the connection. Meanwhile
  # the server answers lookups of other capabilities (the README says why
  # not the same one: policy-server 1.35 caches each capability behind one
  # lock, held while its registry call waits); when the connection drops,
  # the waiting request is denied, naming the image and the lookup.
  python3 e2e-tests/registry/fixtures.py fake-registry --port "$HANGING_PORT" --mode hang \
    --touch "$BATS_TEST_TMPDIR/asked" --max-seconds 300 3>&- &
  local hanging=$!
  echo "$hanging" >>"$WORK/pids"
  review "$BATS_TEST_TMPDIR/hang.json" "$HANGING/acme/app:1"
  ps_load post --port "$PS_PORT" --policy pin --review "$BATS_TEST_TMPDIR/hang.json" --timeout 240 \
    >"$BATS_TEST_TMPDIR/hung.out" 2>&1 3>&- &
  local client=$!
  local i
  for i in $(seq 100); do
    [ -s "$BATS_TEST_TMPDIR/asked" ] && break
    sleep 0.1
  done
  [ -s "$BATS_TEST_TMPDIR/asked" ]
  # A lookup of another capability, on the other worker, is answered.
  review "$BATS_TEST_TMPDIR/r.json" "$PUBLIC/acme/oci-single:1"
  post image-config "$BATS_TEST_TMPDIR/r.json"
  [ "$(field allowed)" = true ]
  # The registry goes away: the held request is answered, denied.
  kill "$hanging"
  wait "$client" || true
  output=$(cat "$BATS_TEST_TMPDIR/hung.out")
  echo "$output"
  [ "$(field status)" = 200 ]
  [ "$(field allowed)" = false ]
  [[ "$(field message)" == "spec.containers[0].image \"$HANGING/acme/app:1\": its digest could not be looked up (digests.pin: required): \"$HANGING/acme/app:1\": "* ]]
}

@test "registry: the pushed policy, key-signed in cosign's layout: kwctl verify checks it; policy-server --verification-path serves it and refuses unsigned or altered modules" {
  local kw="env HOME=$WORK/home RUST_BACKTRACE=0 NO_COLOR=1 kwctl" version
  version=$(sed -n 's/^ *io.kubewarden.policy.version: *//p' metadata.yml)
  python3 e2e-tests/registry/fixtures.py trust-root "$WORK/trust"
  # Signed; pushed and never signed; signed, then its tag moved to another module.
  local repo
  for repo in signed unsigned altered; do
    run make --no-print-directory push REGISTRY="$PUBLIC/$repo" SOURCES="$WORK/sources.yml" KWCTL="$kw"
    [ "$status" -eq 0 ]
  done
  python3 e2e-tests/registry/fixtures.py sign --registry "$PUBLIC" --repo signed/registry-guard --tag "v$version" \
    --key "$WORK/keys/cosign.key"
  python3 e2e-tests/registry/fixtures.py sign --registry "$PUBLIC" --repo altered/registry-guard --tag "v$version" \
    --key "$WORK/keys/cosign.key"
  local accept_all=${REGISTRY_GUARD_ACCEPT_ALL:-${CARGO_TARGET_DIR:-target}/accept-all-policy.wasm}
  [ -f "$accept_all" ] || make --no-print-directory -s accept-all >&2
  ps_annotate_accept_all "$accept_all" "$BATS_TEST_TMPDIR/accept-all.wasm"
  run $kw push --sources-path "$WORK/sources.yml" "$BATS_TEST_TMPDIR/accept-all.wasm" \
    "registry://$PUBLIC/altered/registry-guard:v$version"
  [ "$status" -eq 0 ]
  {
    printf 'apiVersion: v1\nallOf:\n  - kind: pubKey\n    owner: ci\n    key: |\n'
    sed 's/^/      /' "$WORK/keys/cosign.pub"
  } >"$BATS_TEST_TMPDIR/verification.yml"
  local verify="$kw verify --sources-path $WORK/sources.yml --sigstore-trust-config $WORK/trust/trust-config.json"
  run $verify --verification-config-path "$BATS_TEST_TMPDIR/verification.yml" "registry://$PUBLIC/signed/registry-guard:v$version"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"Policy successfully verified"* ]]
  run $verify -k "$WORK/keys/other.pub" "registry://$PUBLIC/signed/registry-guard:v$version"
  [ "$status" -ne 0 ]
  run $verify --verification-config-path "$BATS_TEST_TMPDIR/verification.yml" "registry://$PUBLIC/unsigned/registry-guard:v$version"
  [ "$status" -ne 0 ]
  run $verify --verification-config-path "$BATS_TEST_TMPDIR/verification.yml" "registry://$PUBLIC/altered/registry-guard:v$version"
  [ "$status" -ne 0 ]

  # policy-server verifies modules only with a trust root (offline, without
  # one, it serves them unverified: README, "Operating it"); 1.31 takes no
  # --sigstore-trust-config, so offline it cannot verify at all.
  ps_grants_capabilities || skip "policy-server $(ps_version) takes no --sigstore-trust-config (kwctl verify passed)"
  local PS_PID PS_PORT PS_READY_PORT PS_LOG
  for repo in signed unsigned altered; do
    mkdir -p "$BATS_TEST_TMPDIR/$repo"
    printf 'p:\n  module: registry://%s/%s/registry-guard:v%s\n  allowedToMutate: false\n  settings: {}\n' \
      "$PUBLIC" "$repo" "$version" >"$BATS_TEST_TMPDIR/$repo/policies.yml"
  done
  export PS_EXTRA_ARGS="--verification-path $BATS_TEST_TMPDIR/verification.yml --sigstore-trust-config $WORK/trust/trust-config.json"
  ps_start "$BATS_TEST_TMPDIR/signed" "$BATS_TEST_TMPDIR/signed/policies.yml"
  review "$BATS_TEST_TMPDIR/r.json" "$PUBLIC/acme/oci-single:1"
  run ps_load post --port "$PS_PORT" --policy p --review "$BATS_TEST_TMPDIR/r.json"
  ps_stop "$BATS_TEST_TMPDIR/signed"
  [ "$(field allowed)" = true ]
  for repo in unsigned altered; do
    run ps_refuses "$BATS_TEST_TMPDIR/$repo" "$BATS_TEST_TMPDIR/$repo/policies.yml"
    cat "$BATS_TEST_TMPDIR/$repo/refused.log"
    [ "$status" -ne 0 ]
    [ "$status" -ne 124 ]
    grep -qiE 'verif|signature' "$BATS_TEST_TMPDIR/$repo/refused.log"
  done
  unset PS_EXTRA_ARGS
}

@test "registry: the runner's fake registry answers the same lookups, in the same shapes, as the real one (recorded kwctl sessions)" {
  [ -x "${REGISTRY_GUARD_BIN:-target/debug/registry-guard}" ] || skip "the runner is not built (make runner)"
  review "$BATS_TEST_TMPDIR/r.json" "$PUBLIC/acme/oci-single:1" "$PUBLIC/acme/multi:1" "$PUBLIC/acme/docker-single:1"
  local settings='{"digests": {"pin": "required"}, "imageConfig": {"user": {"nonRoot": true}}}'
  kwctl_registry "$settings" "$BATS_TEST_TMPDIR/r.json" --record-host-capabilities-interactions "$BATS_TEST_TMPDIR/real.yml"
  local real_verdict=$output
  # The same images, described to the runner's fakes.
  cat >"$BATS_TEST_TMPDIR/digests.yaml" <<EOF
$PUBLIC/acme/oci-single:1: $(digest public oci-single)
$PUBLIC/acme/multi:1: $(digest public multi)
$PUBLIC/acme/docker-single:1: $(digest public docker-single)
EOF
  cat >"$BATS_TEST_TMPDIR/configs.yaml" <<EOF
$PUBLIC/acme/oci-single@$(digest public oci-single): {user: "65532", age: 2d, labels: {org.opencontainers.image.source: https://github.com/acme/oci-single}}
$PUBLIC/acme/docker-single@$(digest public docker-single): {created: "2020-01-01T00:00:00Z"}
$PUBLIC/acme/multi@$(digest public multi):
  platforms:
    linux/amd64: {digest: "$(digest public multi-amd64)", user: "65532", age: 2d}
    linux/arm64/v8: {digest: "$(digest public multi-arm64)", user: root, age: 2d}
EOF
  echo "$settings" >"$BATS_TEST_TMPDIR/settings.json"
  run "${REGISTRY_GUARD_BIN:-target/debug/registry-guard}" check --settings "$BATS_TEST_TMPDIR/settings.json" \
    --digests "$BATS_TEST_TMPDIR/digests.yaml" --image-configs "$BATS_TEST_TMPDIR/configs.yaml" \
    --record-host-calls "$BATS_TEST_TMPDIR/fake.yml" "$BATS_TEST_TMPDIR/r.json"
  echo "$output"
  [ "$status" -le 1 ]
  run python3 e2e-tests/registry/compare-sessions.py "$BATS_TEST_TMPDIR/real.yml" "$BATS_TEST_TMPDIR/fake.yml"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"10 host calls compared, 0 differences"* ]]
  # And the verdicts agree.
  output=$real_verdict
  [ "$(field allowed)" = false ]
  [[ "$(field message)" == *"linux/arm64/v8: it runs as user \"root\""*"acme/docker-single:1@"*"it sets no user"* ]]
}
