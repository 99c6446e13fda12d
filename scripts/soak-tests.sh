#!/usr/bin/env bash
# Runs the whole Node test suite again and again, keeping every log, to catch failures that
# happen once in many runs (a flaky test, or a real race). Optionally under CPU load from
# other processes, which is what made the two unexplained failures of the first version show.
#
#   scripts/soak-tests.sh [-n RUNS] [-l BUSY_PROCESSES] [-o LOG_DIR] [-- extra node --test args]
#
# Each run's TAP output goes to LOG_DIR/run-<i>.tap (kept whether it passed or not); the
# summary lists failing runs and the names of the tests that failed. Exit status 1 if any
# run failed.
set -uo pipefail
cd "$(dirname "$0")/.."

runs=20
busy=0
out="soak-logs/$(date -u +%Y%m%dT%H%M%SZ)"
while getopts "n:l:o:" opt; do
  case "$opt" in
    n) runs=$OPTARG ;;
    l) busy=$OPTARG ;;
    o) out=$OPTARG ;;
    *) echo "usage: $0 [-n RUNS] [-l BUSY_PROCESSES] [-o LOG_DIR] [-- node --test args]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
mkdir -p "$out"

loaders=()
# (The expansion below is safe under `set -u` with an empty array on any bash.)
stop_load() { for p in ${loaders[@]+"${loaders[@]}"}; do kill "$p" 2>/dev/null; done; }
trap stop_load EXIT
for ((i = 0; i < busy; i++)); do
  node -e 'for (;;) {}' &
  loaders+=($!)
done

failed=0
for ((i = 1; i <= runs; i++)); do
  log="$out/run-$i.tap"
  start=$(date +%s)
  node --test --test-concurrency=1 --test-reporter=tap "$@" __test__/ >"$log" 2>&1
  status=$?
  secs=$(($(date +%s) - start))
  pass=$(grep -E '^# pass ' "$log" | tail -1 | awk '{print $3}')
  fail=$(grep -E '^# fail ' "$log" | tail -1 | awk '{print $3}')
  if [ "$status" -ne 0 ]; then
    failed=$((failed + 1))
    echo "run $i: FAILED (exit $status, pass ${pass:-?}, fail ${fail:-?}, ${secs}s) — $log"
    grep -E '^\s*not ok ' "$log" | sed 's/^/    /'
  else
    echo "run $i: ok (pass ${pass:-?}, ${secs}s)"
  fi
done
echo "$((runs - failed)) of $runs runs passed (busy processes: $busy); logs in $out"
[ "$failed" -eq 0 ]
