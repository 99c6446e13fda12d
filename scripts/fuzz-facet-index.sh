#!/usr/bin/env bash
# Long run of the facet index property/fuzz tests (core/src/storage/facet_index_props.rs).
# `cargo test` runs them with 256 cases and a fixed seed; this runs many more:
#   scripts/fuzz-facet-index.sh [cases] [seed]
# cases: per property, default 100000 (about 11 minutes for all eight on 2 busy cores).
# seed: default random, printed so that a failure can be replayed with the same seed.
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-100000}"
seed="${2:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}"
echo "facet index fuzz: ${cases} cases per property, PROPTEST_RNG_SEED=${seed}"
start=$(date +%s)
PROPTEST_CASES="$cases" PROPTEST_RNG_SEED="$seed" cargo test -p durable-facets-core --lib prop_
echo "done in $(( $(date +%s) - start )) s"
