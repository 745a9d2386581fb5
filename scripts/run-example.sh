#!/usr/bin/env bash
# The main job on the bundled example: export a small Hugging Face GPT-2 with
# torch.onnx, import it with accel-translate, run it with accel-run, and
# compare the logits with PyTorch's.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/build.sh"
out="$root/examples/gpt2/out"
py="$root/.venv/bin/python"
bin="$root/build/bin"
"$py" "$root/examples/gpt2/export.py" --out-dir "$out" --layers 4 --hidden 128 --heads 4 --seq 64
"$bin/accel-translate" --import-onnx "$out/gpt2.onnx" -o "$out/gpt2.mlir"
echo "imported: $out/gpt2.mlir + $out/gpt2.safetensors ($(grep -o "accel.param = " "$out/gpt2.mlir" | wc -l) parameters)"
"$bin/accel-run" "$out/gpt2.mlir" --input "input_ids=$out/input_ids.npy" --output-dir "$out/accel" \
    --warmup 1 --repeat 10
"$py" "$root/examples/gpt2/compare.py" "$out/accel/logits.npy" "$out/logits_torch.npy"
