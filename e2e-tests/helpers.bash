# Shared by the bats suites: `require_tool TOOL…` skips the test when a tool
# is missing (a user's clone has no kwctl or policy-server), except under
# CI=true, where .ci/run installs or provides every tool and a skip would
# hide a broken setup: there it fails, naming the tool.
require_tool() {
  local tool
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null; then
      if [ "${CI:-}" = true ]; then
        echo "$tool is not on PATH, and CI=true: .ci/run must provide it" >&2
        return 1
      fi
      skip "$tool is not installed"
    fi
  done
}

# `tools_for_file TOOL…`, in setup_file: bats 1.8 cannot skip from
# setup_file, so a missing tool is noted in SKIP_REASON (exported; each
# test's setup skips with it); under CI=true it fails instead (status 1).
tools_for_file() {
  export SKIP_REASON=
  local tool
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null; then
      SKIP_REASON="$tool is not on PATH"
      [ "${CI:-}" != true ] || { echo "$SKIP_REASON, and CI=true" >&2; return 1; }
      return 0
    fi
  done
}
