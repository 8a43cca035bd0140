#!/usr/bin/env bash
# Lookups against a real registry, through policy-server (on PATH): Debian's
# docker-registry on loopback with the fixtures of e2e-tests/registry.bats.
# For each lookup kind (pin, single- and multi-platform image config, key
# signature): the first request (registry asked), a repeated one (the
# host's 60 s cache), and requests per second from 8 clients (cached); with
# the registry requests each admission cost, counted in its access log.
# Prints a table; asserts nothing (README, "Performance").
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${COUNT:-400}
. benches/policy-server/server.sh
for tool in docker-registry policy-server kwctl python3 openssl; do
  command -v "$tool" >/dev/null || { echo "benches/registry/run.sh: $tool is not on PATH; skipped"; exit 0; }
done
work=$(mktemp -d)
trap 'ps_stop "$work/ps"; kill $(cat "$work/pids" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
fixtures=e2e-tests/registry/fixtures.py
port=$(ps_load free-ports 1)
registry=127.0.0.1:$port
mkdir -p "$work/storage"
python3 $fixtures registry-config --storage "$work/storage" --port "$port" |
  sed -e 's/    disabled: true/    disabled: false/' -e 's/  level: error/  level: info/' >"$work/registry.yml"
# The access log: one line per registry request, in Apache's format.
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
echo $! >"$work/pids"
for _ in $(seq 50); do curl -sf -o /dev/null "http://$registry/v2/" && break; sleep 0.2; done
python3 $fixtures keys "$work/keys" >/dev/null
python3 $fixtures push --registry "$registry" --keys "$work/keys" >"$work/fixtures.json"
make --no-print-directory -s annotated-policy.wasm >&2
printf 'insecure_sources: ["%s"]\n' "$registry" >"$work/sources.yml"
module="file://$PWD/annotated-policy.wasm"
{
  echo "pin: {module: \"$module\", allowedToMutate: true, hostCapabilities: [oci/v1/manifest_digest], settings: {digests: {pin: required}}}"
  echo "config: {module: \"$module\", allowedToMutate: false, hostCapabilities: [oci/v1/oci_manifest, oci/v1/oci_manifest_config], settings: {imageConfig: {maxAge: 365d}}}"
  echo "signature:"
  echo "  module: \"$module\""
  echo "  allowedToMutate: true"
  echo "  hostCapabilities: [oci/v2/verify]"
  echo "  settings:"
  echo "    signatures:"
  echo "      - image: \"$registry/acme/*\""
  echo "        pubKeys:"
  echo "          - |"
  sed 's/^/            /' "$work/keys/cosign.pub"
} >"$work/policies.yml"
PS_SOURCES_PATH="$work/sources.yml" ps_start "$work/ps" "$work/policies.yml"
review() { python3 "$fixtures" review "$1"; }
requests() { grep -c '"GET /v2/\|"HEAD /v2/' "$work/registry.log" || true; }
once() {
  local policy=$1 file=$2 before seconds
  before=$(requests)
  # curl: a client that starts in milliseconds, timed by itself.
  seconds=$(curl -s -o "$work/answer.json" -w '%{time_total}' -H 'Content-Type: application/json' \
    --data-binary @"$file" "http://127.0.0.1:$PS_PORT/validate/$policy")
  grep -q '"allowed":true' "$work/answer.json" || { echo "$policy: not admitted: $(cat "$work/answer.json")" >&2; exit 1; }
  sleep 0.2 # the access log is written after the answer
  printf '%7.1f ms %3d' "$(echo "$seconds * 1000" | bc)" "$(($(requests) - before))"
}
echo "policy-server $(ps_version), docker-registry on loopback; time to answer, registry requests"
printf '%-34s %-18s %-18s %s\n' "lookup" "first request" "repeated (cache)" "8 clients, cached"
for row in "pin:pin:oci-single" "config:single-platform config:oci-single" "config:multi-platform config:multi" \
  "signature:key signature:signed"; do
  IFS=: read -r policy name image <<<"$row"
  review "$registry/acme/$image:1" >"$work/$image.json"
  first=$(once "$policy" "$work/$image.json")
  again=$(once "$policy" "$work/$image.json")
  rate=$(ps_load load --port "$PS_PORT" --request "$work/$image.json" --policy "$policy" --count "$COUNT" \
    --clients 8 --max-seconds 120 | awk -v p="$policy" '$1 == p {print $4 " req/s"}')
  printf '%-34s %-18s %-18s %s\n' "$name" "$first" "$again" "$rate"
done
