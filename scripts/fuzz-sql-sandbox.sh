#!/usr/bin/env bash
# Long run of the SQL sandbox's property tests (tokenizer, rename check, SQLite as oracle).
# Usage: scripts/fuzz-sql-sandbox.sh [cases per property] [seed]
# Defaults: 100000 cases, a random seed (printed, so a failure can be replayed).
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-100000}"
seed="${2:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}"
echo "PROPTEST_CASES=$cases PROPTEST_RNG_SEED=$seed"
time PROPTEST_CASES="$cases" PROPTEST_RNG_SEED="$seed" \
  cargo test --release -p durable-facets-core --lib storage::sandbox_props::prop_ -- --test-threads=1
