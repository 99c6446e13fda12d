#!/usr/bin/env bash
# Long run of the fast-check property tests (__test__/*.property.test.mjs). `npm test` runs
# them with a fixed seed and FC_NUM_RUNS=200; this runs many more cases with a fresh seed:
#   scripts/property-long-run.sh                 # 20000 runs, seed from the clock
#   FC_NUM_RUNS=100000 FC_SEED=42 scripts/property-long-run.sh [test files…]
# The seed is printed first; a failure prints its counterexample and the seed/path that
# replays it (FC_SEED=<seed> with the same FC_NUM_RUNS). The log is kept in $LOG_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
export FC_NUM_RUNS="${FC_NUM_RUNS:-20000}"
export FC_SEED="${FC_SEED:-$(date +%s)}"
LOG_DIR="${LOG_DIR:-/tmp/durable-facets-properties}"
mkdir -p "$LOG_DIR"
log="$LOG_DIR/run-$FC_SEED-$FC_NUM_RUNS.log"
files=("$@")
if [ ${#files[@]} -eq 0 ]; then files=(__test__/*.property.test.mjs); fi
echo "FC_SEED=$FC_SEED FC_NUM_RUNS=$FC_NUM_RUNS -> $log"
# No per-test timeout: a long run takes as long as it takes.
node --test --test-concurrency=1 --test-timeout=0 "${files[@]}" 2>&1 | tee "$log" | grep -E '^(not )?ok|^# (pass|fail)|Counterexample|seed:' || true
grep -q '^# fail 0' "$log"
