#!/usr/bin/env bash
# Installs everything accel needs on a fresh Debian 12 machine: the Debian packages of the
# toolchain and the Python virtualenv at .venv/. Idempotent: each step checks before it works,
# so a second run takes seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

debs=(
  build-essential cmake ninja-build ccache pkg-config
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
  libopenblas-dev libdnnl-dev libflatbuffers-dev flatbuffers-compiler
  libgtest-dev libgmock-dev libbenchmark-dev
  libgloo-dev libhwloc-dev pybind11-dev libcli11-dev nlohmann-json3-dev
  protobuf-compiler libprotobuf-dev
  python3-venv python3-psutil iproute2
)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

venv="$root/.venv"
req="$root/scripts/requirements.txt"
pins="$root/scripts/constraints.txt"
stamp="$venv/.requirements.sha256"
want=$(cat "$req" "$pins" | sha256sum | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating $venv"
  python3 -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python packages from scripts/requirements.txt at the versions of scripts/constraints.txt (torch is large)"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r "$req" -c "$pins"
  echo "$want" >"$stamp"
fi
echo "setup: ready"
