#!/usr/bin/env bash
# Regenerates core/src/generated/facets_capnp.rs from schema/facets.capnp. The generated code is
# checked in, so building the project needs neither tool:
#   apt-get install capnproto                          # the `capnp` compiler (0.9.2 works)
#   cargo install capnpc --version 0.27.0 --locked     # the `capnpc-rust` plugin
set -euo pipefail
cd "$(dirname "$0")/.."
capnp compile -orust:core/src/generated --src-prefix=schema schema/facets.capnp
echo "regenerated core/src/generated/facets_capnp.rs"
