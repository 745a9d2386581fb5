#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (installing it if needed) and runs
# each for the given seconds (default 60), seeded with small valid inputs
# made by the test suite's tools. Not part of scripts/test.sh: run it when
# touching a parser.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
bash "$root/scripts/build.sh"
for p in clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p"
done
out="$root/build-fuzz"
[ -f "$out/build.ninja" ] ||
  CXX=clang++ cmake -S "$root/fuzz" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$out" -j2

# Seeds: an ONNX MLP and its compiled executable.
seeds="$out/seeds"
mkdir -p "$seeds/onnx" "$seeds/accx"
"$root/.venv/bin/python" - "$seeds" <<'PY'
import sys, torch, warnings
warnings.simplefilter("ignore")
m = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.GELU(), torch.nn.Linear(8, 2))
torch.onnx.export(m, (torch.randn(2, 4),), f"{sys.argv[1]}/onnx/mlp.onnx", dynamo=False)
PY
"$root/build/bin/accel-translate" --import-onnx "$seeds/onnx/mlp.onnx" -o "$seeds/mlp.mlir"
"$root/build/bin/accel-translate" --mlir-to-executable "$seeds/mlp.mlir" -o "$seeds/accx/mlp.accx"
# A training step: optimizer state, in-place updates, metadata.
"$root/build/bin/accel-opt" "$seeds/mlp.mlir" -o "$seeds/train.mlir" \
    --accel-make-train-step="clip-norm=1.0 skip-nonfinite=true"
"$root/build/bin/accel-translate" --mlir-to-executable "$seeds/train.mlir" -o "$seeds/accx/train.accx"

# A failed huge allocation is an error the code reports, not a crash.
export ASAN_OPTIONS=allocator_may_return_null=1
"$out/accel-onnx-fuzzer" -max_total_time="$seconds" -max_len=65536 "$seeds/onnx"
"$out/accel-executable-fuzzer" -max_total_time="$seconds" -max_len=65536 "$seeds/accx"
echo "fuzz: no crash in ${seconds}s per target"
