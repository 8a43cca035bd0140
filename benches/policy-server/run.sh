#!/usr/bin/env bash
# registry-guard against accept-all end to end, through a real Kubewarden
# policy-server on 127.0.0.1 (each request gets a fresh wasm instance there):
# one server holds five instances (registry-guard and accept-all, each with
# benches/fixtures/settings-5-rules.json and settings-1000-rules.json, and the
# JSON-tree baseline with the 5 rules), and
# load.py sends benches/fixtures/deployment-3-containers.json to them in
# alternating rounds from concurrent keep-alive clients, checks every answer,
# and prints throughput, p50/p99 and ratios to accept-all. The server is
# stopped on exit, whatever happens.
#
# Skips (exit 0) when policy-server, kwctl or python3 is missing. Exit 1 when
# a request was not answered correctly (or lost). Targets are printed, not
# enforced (a shared 2-core machine is noisy).
#
# Environment: ROUNDS (3), COUNT (1000 requests per policy per round),
# CLIENTS (8), WARMUP (200 per policy), POLICY_WASM (annotated-policy.wasm,
# rebuilt by make when out of date), ACCEPT_ALL_WASM
# (target/accept-all-policy.wasm, built by `make accept-all` when missing),
# BASELINE_WASM (target/baseline-policy.wasm, `make baseline`).
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in policy-server kwctl python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "policy-server bench: skipped, $tool is not on PATH (see README, Running it in a PolicyServer)"
    exit 0
  fi
done

ROUNDS=${ROUNDS:-3}
COUNT=${COUNT:-1000}
CLIENTS=${CLIENTS:-8}
WARMUP=${WARMUP:-200}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
POLICY_WASM=${POLICY_WASM:-}
ACCEPT_ALL_WASM=${ACCEPT_ALL_WASM:-$TARGET_DIR/accept-all-policy.wasm}
BASELINE_WASM=${BASELINE_WASM:-$TARGET_DIR/baseline-policy.wasm}
if [ -z "$POLICY_WASM" ]; then
  make --no-print-directory -s annotated-policy.wasm
  POLICY_WASM=annotated-policy.wasm
fi
[ -f "$ACCEPT_ALL_WASM" ] || make --no-print-directory -s accept-all
[ -f "$BASELINE_WASM" ] || make --no-print-directory -s baseline

# shellcheck source=server.sh
. benches/policy-server/server.sh

work=$(mktemp -d "${TMPDIR:-/tmp}/policy-server-bench.XXXXXX")
cleanup() {
  ps_stop "$work"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ps_annotate_accept_all "$ACCEPT_ALL_WASM" "$work/accept-all.wasm"
# The baseline (parses the whole request into a JSON tree, then accepts)
# needs the same kind of metadata as accept-all: it too only accepts.
ps_annotate_accept_all "$BASELINE_WASM" "$work/baseline.wasm"
policy_url="file://$(cd "$(dirname "$POLICY_WASM")" && pwd)/$(basename "$POLICY_WASM")"
{
  for rules in 5 1000; do
    settings=benches/fixtures/settings-$rules-rules.json
    echo "registry-guard-$rules-rules:"
    echo "  module: $policy_url"
    echo "  allowedToMutate: false"
    echo "  settings:"
    ps_yaml_settings "$settings" 4
    # accept-all gets the same settings: the server copies them into every
    # evaluation, so both sides pay for their bytes.
    echo "accept-all-$rules-rules:"
    echo "  module: file://$work/accept-all.wasm"
    echo "  allowedToMutate: false"
    echo "  settings:"
    ps_yaml_settings "$settings" 4
  done
  echo "baseline-5-rules:"
  echo "  module: file://$work/baseline.wasm"
  echo "  allowedToMutate: false"
  echo "  settings:"
  ps_yaml_settings benches/fixtures/settings-5-rules.json 4
} >"$work/policies.yml"

ps_start "$work" "$work/policies.yml"
echo "registry-guard: $POLICY_WASM, sha256 $(sha256sum "$POLICY_WASM" | cut -c1-12)…"
echo "policy-server $(policy-server --version | head -n 1 | awk '{print $NF}') on 127.0.0.1:$PS_PORT, ready after ${PS_READY_SECONDS} s" \
  "(5 instances, $(nproc 2>/dev/null || echo '?') cores; each request in a fresh instance)"

status=0
ps_load load --port "$PS_PORT" --request benches/fixtures/deployment-3-containers.json \
  --policy accept-all-5-rules --policy registry-guard-5-rules=accept-all-5-rules \
  --policy accept-all-1000-rules --policy registry-guard-1000-rules=accept-all-1000-rules \
  --policy baseline-5-rules=accept-all-5-rules \
  --rounds "$ROUNDS" --count "$COUNT" --clients "$CLIENTS" --warmup "$WARMUP" \
  --server-pid "$PS_PID" --json "$work/result.json" || status=$?

if [ -f "$work/result.json" ]; then
  python3 - "$work/result.json" <<'EOF'
import json, sys
rows = {r["policy"]: r for r in json.load(open(sys.argv[1]))["rows"]}
print("targets (issue 24; time per request, registry-guard / accept-all, median over rounds):")
for name, limit in (("registry-guard-5-rules", 1.10), ("registry-guard-1000-rules", 1.20)):
    ratio = rows.get(name, {}).get("time_ratio")
    if ratio is not None:
        print(f"  {'met   ' if ratio <= limit else 'missed'} {name} ≤ {limit:.2f} × accept-all: {ratio:.2f}")
EOF
fi
exit "$status"
