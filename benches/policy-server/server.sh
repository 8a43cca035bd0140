# Start and stop a Kubewarden policy-server on 127.0.0.1 for tests and
# benchmarks. Sourced (bash) by benches/policy-server/run.sh and
# e2e-tests/policy-server.bats; needs policy-server and python3 on PATH.
#
#   ps_start WORK POLICIES_YML   start it on two free loopback ports, wait
#                                (bounded) until GET /readiness is 200; sets
#                                PS_PID, PS_PORT, PS_READY_PORT, PS_LOG and
#                                PS_READY_SECONDS (also written to WORK/ps.env)
#   ps_stop [WORK]               stop it (TERM, then KILL after 10 s)
#   ps_refuses WORK POLICIES_YML start a server that must refuse to start:
#                                returns its exit status (124 if it served
#                                instead, then it is stopped); output in
#                                WORK/refused.log
#   ps_annotate_accept_all WASM OUT   annotate the accept-all module
#   ps_yaml_settings FILE INDENT      a settings file (JSON or YAML) as YAML
#                                     lines to put under `settings:`
#
# PS_SOURCES_PATH, PS_DOCKER_CONFIG and PS_WORKERS, when set, become
# --sources-path, --docker-config-json-path and --workers; PS_EXTRA_ARGS is
# added as it is (split on white space).
#
# The server gets a scratch HOME and no KUBECONFIG or in-cluster variables,
# so it never reaches a user's cluster; `--ignore-kubernetes-connection-failure`
# lets it start without one. It has no TLS and listens on 127.0.0.1 only.

PS_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PS_LOAD="$PS_HERE/load.py"

# `ps_version`: policy-server's version (1.35.0); `ps_grants_capabilities`:
# true from 1.35, which grants a policy only the hostCapabilities its
# policies.yml entry lists (1.31 grants every capability).
ps_version() {
  policy-server --version 2>/dev/null | awk '{print $2; exit}'
}

ps_grants_capabilities() {
  local minor
  minor=$(ps_version | cut -d. -f2)
  [ -n "$minor" ] && [ "$minor" -ge 35 ]
}

ps_load() {
  python3 "$PS_LOAD" "$@"
}

# The environment every server and kwctl gets.
_ps_env() {
  local work=$1
  shift
  mkdir -p "$work/home"
  env -u KUBECONFIG -u KUBERNETES_SERVICE_HOST -u KUBERNETES_SERVICE_PORT \
    HOME="$work/home" RUST_BACKTRACE=0 NO_COLOR=1 "$@"
}

_ps_args() {
  local work=$1 policies=$2 port=$3 ready_port=$4
  mkdir -p "$work/download" "$work/sigstore"
  printf '%s\n' --addr 127.0.0.1 --port "$port" --readiness-probe-port "$ready_port" \
    --policies "$policies" --policies-download-dir "$work/download" \
    --sigstore-cache-dir "$work/sigstore" --ignore-kubernetes-connection-failure --log-no-color
  # Registries: insecure sources and CAs, and credentials (registry.bats).
  if [ -n "${PS_SOURCES_PATH:-}" ]; then printf '%s\n' --sources-path "$PS_SOURCES_PATH"; fi
  if [ -n "${PS_DOCKER_CONFIG:-}" ]; then printf '%s\n' --docker-config-json-path "$PS_DOCKER_CONFIG"; fi
  if [ -n "${PS_WORKERS:-}" ]; then printf '%s\n' --workers "$PS_WORKERS"; fi
  # Any other flags, split on white space (paths without spaces).
  if [ -n "${PS_EXTRA_ARGS:-}" ]; then printf '%s\n' $PS_EXTRA_ARGS; fi
}

ps_start() {
  local work=$1 policies=$2 ports args
  ports=$(ps_load free-ports 2) || return 1
  PS_PORT=${ports% *}
  PS_READY_PORT=${ports#* }
  PS_LOG="$work/policy-server.log"
  mapfile -t args < <(_ps_args "$work" "$policies" "$PS_PORT" "$PS_READY_PORT")
  mkdir -p "$work/home"
  # Not through _ps_env: $! must be the server itself (env execs it), not a
  # subshell. 3>&-: bats waits for every process that holds its fd 3.
  env -u KUBECONFIG -u KUBERNETES_SERVICE_HOST -u KUBERNETES_SERVICE_PORT \
    HOME="$work/home" RUST_BACKTRACE=0 NO_COLOR=1 \
    policy-server "${args[@]}" >"$PS_LOG" 2>&1 3>&- &
  PS_PID=$!
  printf 'PS_PID=%s\nPS_PORT=%s\nPS_READY_PORT=%s\nPS_LOG=%s\n' \
    "$PS_PID" "$PS_PORT" "$PS_READY_PORT" "$PS_LOG" >"$work/ps.env"
  local ready
  if ! ready=$(ps_load ready --port "$PS_READY_PORT" --pid "$PS_PID" --timeout "${PS_READY_TIMEOUT:-120}"); then
    echo "policy-server did not become ready; its log:" >&2
    cat "$PS_LOG" >&2
    ps_stop "$work"
    return 1
  fi
  PS_READY_SECONDS=$(echo "$ready" | awk '{print $3}')
  echo "PS_READY_SECONDS=$PS_READY_SECONDS" >>"$work/ps.env"
}

ps_stop() {
  # Safe under `set -e` (run.sh's EXIT trap): no command here may fail.
  local work=${1:-} pid=${PS_PID:-} i
  if [ -z "$pid" ] && [ -n "$work" ] && [ -f "$work/ps.env" ]; then
    pid=$(sed -n 's/^PS_PID=//p' "$work/ps.env" || true)
  fi
  if [ -z "$pid" ]; then
    return 0
  fi
  # Only the server this file started (a stale pid may have been reused).
  if [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" != policy-server ]; then
    pid=
  fi
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
      if ! kill -0 "$pid" 2>/dev/null; then break; fi
      # A child of this shell stays a zombie until reaped.
      if [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)" = Z ]; then break; fi
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  if [ -n "$pid" ]; then
    # Reaps it when it is this shell's child; its status (143) is no error.
    wait "$pid" 2>/dev/null || true
  fi
  PS_PID=
  if [ -n "$work" ] && [ -f "$work/ps.env" ]; then
    sed -i '/^PS_PID=/d' "$work/ps.env" || true
  fi
  return 0
}

ps_refuses() {
  local work=$1 policies=$2 ports args
  ports=$(ps_load free-ports 2) || return 1
  mapfile -t args < <(_ps_args "$work" "$policies" "${ports% *}" "${ports#* }")
  # Bounded: a server that starts serving instead is stopped after 60 s.
  _ps_env "$work" timeout --kill-after=5 60 policy-server "${args[@]}" >"$work/refused.log" 2>&1 3>&-
}

ps_annotate_accept_all() {
  local wasm=$1 out=$2
  _ps_env "$(dirname "$out")" kwctl annotate -m "$PS_HERE/accept-all-metadata.yml" -o "$out" "$wasm"
}

ps_yaml_settings() {
  local file=$1 indent=${2:-4}
  case "$file" in
    # JSON is YAML: one flow line.
    *.json) printf '%*s%s\n' "$indent" '' "$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$file")" ;;
    *) sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' -e "s/^/$(printf '%*s' "$indent" '')/" "$file" ;;
  esac
}
