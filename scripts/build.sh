#!/usr/bin/env bash
# Configures and builds synod with Ninja (and ccache when present).
#   SYNOD_BUILD_DIR   build directory            (default: build, or build-sanitize)
#   SYNOD_BUILD_TYPE  CMake build type           (default: RelWithDebInfo)
#   SYNOD_SANITIZE    e.g. address,undefined     (default: none)
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize="${SYNOD_SANITIZE:-}"
default_dir=build
[ -n "$sanitize" ] && default_dir=build-sanitize
build_dir="${SYNOD_BUILD_DIR:-$default_dir}"

cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE="${SYNOD_BUILD_TYPE:-RelWithDebInfo}" \
  -DSYNOD_SANITIZE="$sanitize" -DSYNOD_WERROR=ON >/dev/null
cmake --build "$build_dir"
