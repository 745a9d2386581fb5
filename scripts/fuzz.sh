#!/usr/bin/env bash
# Builds the project instrumented for libFuzzer with ASan and UBSan (clang-22,
# into build-fuzz/) and runs each fuzz target for the given seconds (default
# 60), seeded with small valid inputs the normal build's tools make. Prints
# one summary line per target and writes them to build-fuzz/last-run.txt.
# Not part of scripts/test.sh: `scripts/fuzz.sh 600` is the long run whose
# last result docs/guarantees.md records; run it when touching a reader.
# Targets after the seconds run only those: scripts/fuzz.sh 600 npy mlir.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
bash "$root/scripts/build.sh"
missing=()
for p in clang-22 libclang-rt-22-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
out="$root/build-fuzz"
[ -f "$out/build.ninja" ] ||
  CC=clang-22 CXX=clang++-22 cmake -S "$root" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DACCEL_FUZZ=ON -DACCEL_BUILD_TESTS=OFF
targets=(onnx executable safetensors npy trainer-state mlir)
if (($# > 1)); then targets=("${@:2}"); fi
# shellcheck disable=SC2046
cmake --build "$out" -j "${ACCEL_JOBS:-2}" --target $(printf 'accel-%s-fuzzer ' "${targets[@]}")

# Seeds: an ONNX MLP, its IR, executable and weights, an input array, a
# training step's IR and executable, and one of its checkpoints.
seeds="$out/seeds"
rm -rf "$seeds"
mkdir -p "$seeds"/{onnx,executable,safetensors,npy,trainer-state,mlir}
"$root/.venv/bin/python" - "$seeds" <<'PY'
import sys, numpy as np, onnx
from onnx import TensorProto, helper, numpy_helper
d = sys.argv[1]
g = np.random.default_rng(0)
graph = helper.make_graph(
    [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1),
     helper.make_node("Gelu", ["h"], ["r"]),
     helper.make_node("Gemm", ["r", "w2", "b2"], ["y"], transB=1)],
    "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])],
    initializer=[numpy_helper.from_array(g.standard_normal((16, 8)).astype(np.float32), "w1"),
                 numpy_helper.from_array(np.zeros(16, np.float32), "b1"),
                 numpy_helper.from_array(g.standard_normal((4, 16)).astype(np.float32), "w2"),
                 numpy_helper.from_array(np.ones(4, np.float32), "b2")])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]), f"{d}/onnx/mlp.onnx")
np.save(f"{d}/npy/x.npy", g.standard_normal((2, 8)).astype(np.float32))
np.save(f"{d}/npy/y.npy", g.standard_normal((2, 4)).astype(np.float32))
np.save(f"{d}/npy/ids.npy", np.arange(6, dtype=np.int64).reshape(2, 3))
PY
bin="$root/build/bin"
"$bin/accel-translate" --import-onnx "$seeds/onnx/mlp.onnx" -o "$seeds/mlir/mlp.mlir" \
  --weights "$seeds/safetensors/mlp.safetensors"
"$bin/accel-translate" --mlir-to-executable "$seeds/mlir/mlp.mlir" -o "$seeds/executable/mlp.accx"
"$bin/accel-opt" "$seeds/mlir/mlp.mlir" -o "$seeds/mlir/train.mlir" \
  --accel-make-train-step="loss=mse clip-norm=1.0 skip-nonfinite=true trainable=.*"
"$bin/accel-translate" --mlir-to-executable "$seeds/mlir/train.mlir" -o "$seeds/executable/train.accx"
ckpt="$seeds/checkpoint"
"$bin/accel-run" "$seeds/executable/train.accx" --weights "$seeds/safetensors/mlp.safetensors" \
  --data-array "x=$seeds/npy/x.npy" --data-array "labels=$seeds/npy/y.npy" --steps 1 \
  --save-dir "$ckpt" --quiet
cp "$ckpt/checkpoint-1/trainer_state.json" "$seeds/trainer-state/"
cp "$ckpt/checkpoint-1/optimizer.safetensors" "$seeds/safetensors/"

# A failed huge allocation is an error the code reports, not a crash.
export ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=0
summary="$out/last-run.txt"
echo "fuzz run of $(date -u +%F), ${seconds}s per target, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" > "$summary"
# One target per core at a time (ACCEL_JOBS, default 2).
fuzz_one() {
  local t=$1 log="$out/$1.log" corpus="$out/corpus/$1"
  mkdir -p "$corpus"
  "$out/bin/accel-$t-fuzzer" "$corpus" "$seeds/$t" -max_total_time="$seconds" -max_len=65536 \
    -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 > "$log" 2>&1
}
pids=()
for t in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= ${ACCEL_JOBS:-2})); do sleep 1; done
  fuzz_one "$t" &
  pids+=("$!")
done
failed=0
for i in "${!targets[@]}"; do
  t=${targets[$i]}
  if ! wait "${pids[$i]}"; then
    echo "fuzz: accel-$t-fuzzer found a problem; see $out/$t.log" | tee -a "$summary"
    failed=1
    continue
  fi
  runs=$(grep -m1 'stat::number_of_executed_units' "$out/$t.log" | awk '{print $2}')
  cov=$(grep -o 'cov: [0-9]*' "$out/$t.log" | tail -1)
  echo "accel-$t-fuzzer: ${runs:-?} inputs, ${cov:-cov: ?}, no crash, hang or sanitizer report" | tee -a "$summary"
done
((failed == 0)) || exit 1
echo "fuzz: no crash in ${seconds}s per target (summary in $summary)"
