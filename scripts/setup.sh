#!/usr/bin/env bash
# Installs every Debian package that building, testing and the demo need.
# Non-interactive and idempotent: when everything is present it only checks
# (well under a second) and never touches the network.
set -euo pipefail

packages=(
  # build
  cmake ninja-build ccache g++ pkg-config
  # libraries (DESIGN.md: well-kept Debian packages for what they do well)
  libprotobuf-dev protobuf-compiler libabsl-dev
  libcli11-dev nlohmann-json3-dev
  libasio-dev libspdlog-dev libtomlplusplus-dev
  libgrpc++-dev protobuf-compiler-grpc libssl-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev librapidcheck-dev libbenchmark-dev
  # a real etcd and etcdctl, for the compatibility tests and the benchmark
  etcd-server etcd-client
  # synod chaos: namespaces and links, packet filters, clock faults
  iproute2 iptables libfaketime
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo -n"
  else
    echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done" >&2
