#!/usr/bin/env bash
# What one registry that accepts and never answers does to a PolicyServer
# (policy-server on PATH, 2 workers): measures how long a request waits for
# that registry (capped at CAP seconds), and, while it waits, how long three
# other requests take: a digest lookup on a healthy registry (the same
# capability), an image-config lookup on it (another capability), and a
# policy with no lookup. Prints one line per request; asserts nothing
# (README, "Operating it").
set -euo pipefail
cd "$(dirname "$0")/../.."
CAP=${CAP:-20}
. benches/policy-server/server.sh
work=$(mktemp -d)
trap 'ps_stop "$work/ps"; kill $(cat "$work/pids" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
fixtures=e2e-tests/registry/fixtures.py
read -r public_port hanging_port <<<"$(ps_load free-ports 2)"
public=127.0.0.1:$public_port hanging=127.0.0.1:$hanging_port
mkdir -p "$work/storage"
python3 $fixtures registry-config --storage "$work/storage" --port "$public_port" >"$work/registry.yml"
docker-registry serve "$work/registry.yml" >/dev/null 2>&1 &
echo $! >"$work/pids"
python3 $fixtures fake-registry --port "$hanging_port" --mode hang --touch "$work/asked" --max-seconds $((CAP + 60)) &
echo $! >>"$work/pids"
for _ in $(seq 50); do curl -sf -o /dev/null "http://$public/v2/" && break; sleep 0.2; done
python3 $fixtures keys "$work/keys" >/dev/null
python3 $fixtures push --registry "$public" --keys "$work/keys" >/dev/null
make --no-print-directory -s annotated-policy.wasm >&2
printf 'insecure_sources: ["%s", "%s"]\n' "$public" "$hanging" >"$work/sources.yml"
module="file://$PWD/annotated-policy.wasm"
cat >"$work/policies.yml" <<YAML
pin: {module: "$module", allowedToMutate: true, hostCapabilities: [oci/v1/manifest_digest], settings: {digests: {pin: required}}}
config: {module: "$module", allowedToMutate: false, hostCapabilities: [oci/v1/oci_manifest, oci/v1/oci_manifest_config], settings: {imageConfig: {maxAge: 365d}}}
static: {module: "$module", allowedToMutate: false, settings: {registries: {allow: ["$public"]}}}
YAML
PS_SOURCES_PATH="$work/sources.yml" PS_WORKERS=2 ps_start "$work/ps" "$work/policies.yml"
pod() { python3 "$fixtures" review "$1"; }
pod "$hanging/acme/app:1" >"$work/hang.json"
pod "$public/acme/oci-single:1" >"$work/ok.json"
timed() {
  local name=$1 policy=$2 review=$3 start end answer
  start=$(date +%s.%N)
  answer=$(ps_load post --port "$PS_PORT" --policy "$policy" --review "$review" --timeout "$CAP" 2>&1 | sed -n -e 's/^allowed //p' -e 's/^[A-Za-z]*Error: /error: /p' || true)
  end=$(date +%s.%N)
  printf '%-44s %6.2f s  %s\n' "$name" "$(echo "$end - $start" | bc)" "${answer:-no answer within ${CAP} s}"
}
echo "policy-server $(ps_version), 2 workers; a registry that accepts and never answers at $hanging"
timed "healthy registry, before (pin)" pin "$work/ok.json"
timed "hanging registry (pin)" pin "$work/hang.json" >"$work/hung.txt" &
hung=$!
for _ in $(seq 100); do [ -s "$work/asked" ] && break; sleep 0.1; done
timed "meanwhile: healthy registry, same capability" pin "$work/ok.json"
timed "meanwhile: healthy registry, image config" config "$work/ok.json"
timed "meanwhile: a policy with no lookup" static "$work/ok.json"
wait "$hung"
cat "$work/hung.txt"
