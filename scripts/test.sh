#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test through ctest.
# Exits non-zero on any failure. SYNOD_SANITIZE=address,undefined runs the
# same suite under the sanitizers (in build-sanitize/).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh

sanitize="${SYNOD_SANITIZE:-}"
default_dir=build
[ -n "$sanitize" ] && default_dir=build-sanitize
build_dir="${SYNOD_BUILD_DIR:-$default_dir}"

ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" --timeout 900
