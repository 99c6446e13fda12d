#!/usr/bin/env bash
# Builds the prebuilt binary of each given target into npm/<platform>/ on a Linux x64 host,
# with toolchains that come from package registries only (no downloads of their own):
#
#   x86_64-unknown-linux-gnu   the host toolchain
#   aarch64-unknown-linux-gnu  Debian's cross gcc:   apt-get install gcc-aarch64-linux-gnu
#   x86_64-unknown-linux-musl  zig + cargo-zigbuild: pip install ziglang cargo-zigbuild
#
# plus each target's Rust std:  rustup target add <target>
# (musl-tools' musl-gcc cannot link a cdylib: it finds no libgcc_s; zig brings its own.)
#
# The release workflow (.github/workflows/release.yml) builds the same targets in CI with
# napi-rs' own cross toolchains (glibc 2.17 for the gnu targets); this script is for building
# them on one Linux machine. Its arm64 binary links against the cross glibc of the Debian
# release it runs on (Debian 12: it needs glibc ≥ 2.34 where it is used), so publish CI's.
#
#   scripts/build-prebuilt.sh aarch64-unknown-linux-gnu x86_64-unknown-linux-musl
set -euo pipefail
cd "$(dirname "$0")/.."

platform_of() {
  case "$1" in
    x86_64-unknown-linux-gnu) echo linux-x64-gnu ;;
    aarch64-unknown-linux-gnu) echo linux-arm64-gnu ;;
    x86_64-unknown-linux-musl) echo linux-x64-musl ;;
    *) echo "unsupported target: $1" >&2; return 1 ;;
  esac
}

[ $# -gt 0 ] || set -- aarch64-unknown-linux-gnu x86_64-unknown-linux-musl
target_dir="${CARGO_TARGET_DIR:-target}"
for target in "$@"; do
  platform="$(platform_of "$target")"
  case "$target" in
    aarch64-unknown-linux-gnu)
      export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
      export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
      export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
      cargo build --release --lib -p durable-facets --target "$target"
      ;;
    x86_64-unknown-linux-musl)
      # A Node addon is loaded by a dynamically linked node: no static C runtime.
      export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C target-feature=-crt-static"
      cargo zigbuild --release --lib -p durable-facets --target "$target"
      ;;
    *)
      cargo build --release --lib -p durable-facets --target "$target"
      ;;
  esac
  out="npm/$platform/durable-facets.$platform.node"
  cp "$target_dir/$target/release/libdurable_facets.so" "$out"
  echo "$out: $(du -h "$out" | cut -f1)"
done
