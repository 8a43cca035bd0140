#!/usr/bin/env bash
# Fuzzes every target in fuzz/ for FUZZ_SECONDS (default 60) each, starting
# from the committed seeds in fuzz/corpus/, and prints execs and crashes per
# target. Not part of CI (`make fuzz`). Crashes land in fuzz/artifacts/;
# turn each into a regression test next to the code it broke, and keep the
# input as a seed, fuzz/corpus/<target>/seed-<what it found> (.gitignore keeps
# only seed-* files).
# The 60-second default is a smoke run. Before a change to the reader or the
# walker (src/request/) lands: FUZZ_SECONDS=600 (at least 10 minutes per
# target; the structured target needed that long to find a policy-group
# member hiding an image), and the change's closing note reports the
# executions and result this prints per target.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# cargo fuzz needs unstable compiler flags; the one toolchain here is stable,
# which accepts them with RUSTC_BOOTSTRAP=1.
export RUSTC_BOOTSTRAP=1
seconds=${FUZZ_SECONDS:-60}
# Safe Rust: a sanitizer adds little and the stable toolchain ships none.
sanitizer=${FUZZ_SANITIZER:-none}
status=0
for target in $(cargo fuzz list); do
  log=$(mktemp)
  if cargo fuzz run --sanitizer "$sanitizer" "$target" "corpus/$target" -- \
      -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    result="0 crashes"
  else
    result="CRASH (see fuzz/artifacts/$target)"
    status=1
  fi
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')
  echo "$target: $execs execs in ${seconds}s, $result"
  [ $status -eq 0 ] || tail -40 "$log"
done
exit $status
