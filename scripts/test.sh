#!/usr/bin/env bash
# Builds accel and runs every test: lit (IR tests, importer tests, the
# Python end-to-end tests and the ONNX node-test runner) and the gtest suites,
# all through ctest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/build.sh"
cd "$root/build"
ctest --output-on-failure --timeout 1800 "$@"
