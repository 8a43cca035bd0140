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
