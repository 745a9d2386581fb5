# RUN: %python %s
# REQUIRES: python-ml
# The memory estimate (accel-estimate-memory) against what the runtime
# allocates (accel-run's memory_per_rank: parameters, optimizer state and
# the arena, measured as it binds them) on GPT-2 (small config, default
# export, batch 4 x 64), for every option combination the precision,
# accumulation and recomputation tests train with: each prediction within
# 10% of the measurement, and the memory recomputation saves within 10%
# (of the total) of what the estimate says it saves.
import json
import os
import re
import subprocess

import torch

import fidelity
import hf_families
from accel_testing import run, tool, workdir

loop = fidelity.Loop(batch=4, seq=64)
model = hf_families.build("gpt2", perturb=True)
d = workdir("memory-estimate")
data_args, _, _ = fidelity._data("gpt2", fidelity.Loop(batch=16, seq=64), d)
onnx, mlir = os.path.join(d, "model.onnx"), os.path.join(d, "model.mlir")
hf_families.export(model, onnx, torch.zeros((loop.batch, loop.seq), dtype=torch.int64), optimize=False, config=True)
run(["accel-translate", "--import-onnx", onnx, "-o", mlir])

base = "loss=cross-entropy optimizer=adamw lr=3e-3 clip-norm=1.0"
options = {
    "fp32": "", "full": "recompute=full", "selective": "recompute=selective",
    "bf16": "mixed-precision=bf16", "fp16": "mixed-precision=fp16",
    "bf16 accumulate=4": "mixed-precision=bf16 accumulate=4",
    "bf16 accumulate=4 full": "mixed-precision=bf16 accumulate=4 recompute=full",
    "sgd selective": "recompute=selective optimizer=sgd momentum=0.9",
}
totals = {}
print(f"{'options':26}{'predicted MiB':>15}{'measured MiB':>14}{'ratio':>8}")
ok = True
for name, extra in options.items():
    tag = name.replace(" ", "-")
    train = os.path.join(d, f"train-{tag}.mlir")
    run(["accel-opt", mlir, f"--accel-make-train-step={base} {extra}", "-o", train])
    report = subprocess.run([tool("accel-opt"), train, "--accel-lower-to-runtime",
                             f"--accel-estimate-memory=svg={d}/{tag}.svg", "-o", os.devnull],
                            capture_output=True, text=True, check=True).stderr
    predicted = int(re.search(r"total \(what the runtime allocates\) +([0-9,]+) bytes", report).group(1).replace(",", ""))
    assert open(os.path.join(d, f"{tag}.svg")).read().startswith("<svg"), f"{name}: no picture"
    log = os.path.join(d, f"log-{tag}.jsonl")
    run(["accel-run", train, "--weights", os.path.join(d, "model.safetensors"), *data_args, "--steps", 1,
         "--num-threads", 2, "--log-file", log, "--quiet"])
    memory = next(json.loads(line)["memory_per_rank"] for line in open(log) if "memory_per_rank" in line)
    measured = memory["parameters"] + memory["optimizer_state"] + memory["arena"]
    totals[name] = (predicted, measured)
    ratio = predicted / measured
    print(f"{name:26}{predicted / 2**20:15.2f}{measured / 2**20:14.2f}{ratio:8.3f}")
    if abs(ratio - 1) > 0.10:
        print(f"  FAIL {name}: the estimate is off by more than 10%")
        ok = False

for mode in ("full", "selective"):
    saving_predicted = totals["fp32"][0] - totals[mode][0]
    saving_measured = totals["fp32"][1] - totals[mode][1]
    print(f"recompute={mode} saves {saving_measured / 2**20:.2f} MiB measured, "
          f"{saving_predicted / 2**20:.2f} MiB predicted")
    assert saving_measured > 0, f"recompute={mode} saves nothing"
    if abs(saving_predicted - saving_measured) > 0.10 * totals["fp32"][1]:
        print(f"  FAIL recompute={mode}: predicted saving off by more than 10% of the total")
        ok = False
assert ok, "the memory estimate misses the runtime's measurement"
print("ok")
