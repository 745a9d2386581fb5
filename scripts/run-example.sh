#!/usr/bin/env bash
# The main job on the bundled example: train a small GPT-2 on text made on
# this machine, with a byte-level tokenizer.
#   1. make the corpus (Debian's license texts, no download);
#   2. export a small Hugging Face GPT-2 with torch.onnx and import it;
#      check accel's logits against PyTorch's;
#   3. compile the training step (AdamW, clipping, warm-up + cosine decay);
#   4. train with accel-run: progress, evaluation, checkpoints;
#   5. load the last checkpoint with transformers' from_pretrained, as it is;
#   6. greedy-sample a continuation from it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/build.sh"
out="$root/examples/gpt2/out"
py="$root/.venv/bin/python"
bin="$root/build/bin"
steps=${STEPS:-2000}
model=(--layers 4 --hidden 128 --heads 4 --vocab 256 --seq 64 --no-optimize)

"$py" "$root/examples/gpt2/make_corpus.py" --out-dir "$out"

"$py" "$root/examples/gpt2/export.py" --out-dir "$out" "${model[@]}" --batch 16
"$bin/accel-translate" --import-onnx "$out/gpt2.onnx" -o "$out/gpt2.mlir"
echo "imported: $out/gpt2.mlir + $out/gpt2.safetensors ($(grep -o "accel.param = " "$out/gpt2.mlir" | wc -l) parameters)"
"$bin/accel-run" "$out/gpt2.mlir" --input "input_ids=$out/input_ids.npy" --output-dir "$out/accel" --quiet
"$py" "$root/examples/gpt2/compare.py" "$out/accel/logits.npy" "$out/logits_torch.npy"

"$bin/accel-opt" "$out/gpt2.mlir" -o "$out/train.mlir" \
    --accel-make-train-step="loss=cross-entropy optimizer=adamw lr=3e-3 weight-decay=0.1 beta2=0.99 clip-norm=1.0 schedule=cosine warmup-steps=100 total-steps=$steps"
echo "compiled the training step: $out/train.mlir"

rm -rf "$out/run"
"$bin/accel-run" "$out/train.mlir" --weights "$out/gpt2.safetensors" \
    --data "$out/train.bin" --eval-data "$out/val.bin" --eval-every 500 --eval-batches 16 \
    --steps "$steps" --log-every 100 --save-dir "$out/run" --save-every 500 --seed 1
"$py" - "$out/run/log.jsonl" <<'PY'
import json, sys
losses = [r["loss"] for r in map(json.loads, open(sys.argv[1])) if "loss" in r]
first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
print(f"training loss: {first:.3f} (first 10 steps) -> {last:.3f} (last 10 steps)")
if not last < first - 1.0:
    sys.exit("the loss did not fall")
PY

# Each checkpoint is a Hugging Face model directory (config.json included).
"$py" - "$out/run/checkpoint-$steps" <<'PY'
import sys, warnings
warnings.simplefilter("ignore")
import transformers
transformers.utils.logging.disable_progress_bar()
model = transformers.AutoModelForCausalLM.from_pretrained(sys.argv[1])
print(f"{sys.argv[1]} loads with AutoModelForCausalLM.from_pretrained: {type(model).__name__}, "
      f"{sum(p.numel() for p in model.parameters())} parameters")
PY

# Greedy sampling needs the same model with batch 1.
"$py" "$root/examples/gpt2/export.py" --out-dir "$out/sample" --name gpt2-sample "${model[@]}" --batch 1 > /dev/null
"$bin/accel-translate" --import-onnx "$out/sample/gpt2-sample.onnx" -o "$out/sample/gpt2-sample.mlir"
echo "greedy sample from $out/run/checkpoint-$steps:"
"$bin/accel-run" "$out/sample/gpt2-sample.mlir" --weights "$out/run/checkpoint-$steps/model.safetensors" \
    --generate 160 --prompt "This License applies to"
