#!/usr/bin/env bash
# Sets the machine up (scripts/setup.sh) and builds accel into build/.
# Two cores: -j2. ccache keeps rebuilds quick.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
if [ ! -f "$root/build/build.ninja" ]; then
  cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$root/build" -j "${ACCEL_JOBS:-2}"
