# RUN: %python %s
# REQUIRES: python-ml
# Activation recomputation changes memory, not results: GPT-2 (small config,
# default export) trained with recompute=none, full and selective reaches
# bitwise the same losses, parameters and optimizer state, alone and with
# bf16 and gradient accumulation; a model with dropout in its blocks too
# (the recomputed mask is the forward pass's). The planned arena of each
# mode is printed; on GPT-2 it must shrink, full below selective below
# none. recompute=budget on GPT-2: a budget halfway between what full and
# no recomputation keep is met with fewer FLOPs recomputed than full
# recomputation (the choice's optimality is checked against brute force in
# the unit tests), keeps within the budget, trains bitwise the same and
# plans an arena between full's and none's. (On the two-layer dropout model selective saves nothing: the gelu's
# output dies after the dropout anyway, and recomputing both briefly holds
# both.)
import json
import os
import re

import numpy as np
import torch
from safetensors.numpy import save_file

import fidelity
import hf_families
from accel_testing import run, workdir


def train(d, mlir, data_args, options, steps, name):
    train_ir = os.path.join(d, f"train-{name}.mlir")
    run(["accel-opt", mlir, f"--accel-make-train-step={options}", "-o", train_ir])
    ck = os.path.join(d, name)
    run(["accel-run", train_ir, "--weights", os.path.join(d, "model.safetensors"), *data_args, "--steps", steps,
         "--seed", 7, "--num-threads", 2, "--save-dir", ck, "--quiet"])
    records = [json.loads(line) for line in open(os.path.join(ck, "log.jsonl"))]
    losses = [r["loss"] for r in records if "loss" in r]
    arena = next(r["memory_per_rank"]["arena"] for r in records if "memory_per_rank" in r)
    saved = {f: open(os.path.join(ck, f"checkpoint-{steps}", f), "rb").read()
             for f in ("model.safetensors", "optimizer.safetensors")}
    return losses, saved, arena


def compare(what, d, mlir, data_args, options, steps, smaller=True, more=()):
    modes = ("none", "full", "selective", *more)
    results = {mode: train(d, mlir, data_args, f"{options} recompute={mode}", steps,
                           f"{what}-{mode}".replace(" ", "-").replace("=", "-")) for mode in modes}
    losses, saved, arena = results["none"]
    for mode in modes[1:]:
        assert results[mode][0] == losses, f"{what}: recompute={mode} changes the losses: {results[mode][0]} vs {losses}"
        for f in saved:
            assert results[mode][1][f] == saved[f], f"{what}: recompute={mode} changes {f}"
    arenas = {mode: r[2] for mode, r in results.items()}
    print(f"{what}: bitwise equal over {steps} steps; train_step arena: " +
          ", ".join(f"{mode} {a / 2**20:.2f} MiB ({a / arenas['none']:.2f}x)" for mode, a in arenas.items()))
    if smaller:
        assert arenas["full"] < arenas["selective"] < arenas["none"], f"{what}: recomputation saves no memory: {arenas}"
    return arenas


def budget_plan(d, mlir, options, budget):
    """accel-recompute's choice under recompute=budget: block -> mode, the
    bytes the blocks keep for the backward pass and the FLOPs recomputed."""
    out = os.path.join(d, f"plan-{budget}.mlir")
    run(["accel-opt", mlir, f"--accel-make-train-step={options} recompute=budget budget={budget}", "-o", out])
    plan = re.search(r"accel\.recompute_plan = \{([^}]*)\}", open(out).read()).group(1)
    fields = dict(re.findall(r'([\w.]+) = "?(\w+)"?', plan))
    kept = int(fields.pop("kept_bytes"))
    flops = int(fields.pop("recomputed_flops"))
    return fields, kept, flops


# GPT-2, default export, with a sequence long enough for activations to
# matter.
loop = fidelity.Loop(batch=4, seq=64)
model = hf_families.build("gpt2", perturb=True)
d = workdir("recompute-gpt2")
data_args, _, _ = fidelity._data("gpt2", loop, d)
onnx, mlir = os.path.join(d, "model.onnx"), os.path.join(d, "model.mlir")
hf_families.export(model, onnx, torch.zeros((loop.batch, loop.seq), dtype=torch.int64), optimize=False, config=True)
run(["accel-translate", "--import-onnx", onnx, "-o", mlir])
base = "loss=cross-entropy optimizer=adamw lr=3e-3 clip-norm=1.0"
# recompute=budget: with the whole of what no recomputation keeps, nothing
# is recomputed; with nothing, every block in full; halfway, some blocks
# are recomputed, fewer FLOPs than in full, and they keep no more than the
# budget.
_, keep_all, _ = budget_plan(d, mlir, base, 2**40)
none_plan, _, none_flops = budget_plan(d, mlir, base, keep_all)
full_plan, keep_least, full_flops = budget_plan(d, mlir, base, 0)
assert set(none_plan.values()) == {"none"} and set(full_plan.values()) == {"full"}, (none_plan, full_plan)
assert none_flops == 0 < full_flops, (none_flops, full_flops)
half = (keep_all + keep_least) // 2
half_plan, kept, half_flops = budget_plan(d, mlir, base, half)
print(f"gpt2: recompute=budget kept bytes: none {keep_all}, full {keep_least}; budget {half}: {kept} "
      f"with {half_plan}, {half_flops} FLOPs recomputed (full: {full_flops})")
assert kept <= half and 0 < half_flops < full_flops, f"budget {half}: {kept} bytes, {half_flops} FLOPs with {half_plan}"
arenas = compare("gpt2", d, mlir, data_args, base, 4, more=(f"budget budget={half}",))
assert arenas["full"] <= arenas[f"budget budget={half}"] <= arenas["none"], arenas
# With bf16 and accumulation (the batch is 4 micro-batches of the export's).
d2 = workdir("recompute-gpt2-bf16-accumulate")
data_args, _, _ = fidelity._data("gpt2", fidelity.Loop(batch=16, seq=64), d2)
for f in ("model.onnx", "model.mlir", "model.safetensors"):
    os.link(os.path.join(d, f), os.path.join(d2, f))
compare("gpt2 bf16 accumulate=4", d2, os.path.join(d2, "model.mlir"), data_args,
        base + " mixed-precision=bf16 accumulate=4", 3)

# Dropout inside the blocks: two residual MLP blocks, as the importer
# records modules (an item of the module list "layers").
d = workdir("recompute-dropout")
B, F, H = 8, 16, 64
rng = np.random.default_rng(3)
blocks, params, weights = [], [], {}
x = "%x"
for i in range(2):
    params += [f'%w{i}: tensor<{H}x{F}xf32> {{accel.param = "layers.{i}.up.weight"}}',
               f'%v{i}: tensor<{F}x{H}xf32> {{accel.param = "layers.{i}.down.weight"}}']
    weights[f"layers.{i}.up.weight"] = (0.3 * rng.standard_normal((H, F))).astype(np.float32)
    weights[f"layers.{i}.down.weight"] = (0.3 * rng.standard_normal((F, H))).astype(np.float32)
    blocks.append(f'''
  %u{i} = accel.linear {x}, %w{i} : (tensor<{B}x{F}xf32>, tensor<{H}x{F}xf32>) -> tensor<{B}x{H}xf32> loc("up{i}"("layers.{i}.up"))
  %g{i} = accel.gelu %u{i} : (tensor<{B}x{H}xf32>) -> tensor<{B}x{H}xf32> loc("act{i}"("layers.{i}.act"))
  %d{i} = accel.dropout %g{i} {{ratio = 0.3 : f32, seed = {11 + i} : i64}} : (tensor<{B}x{H}xf32>) -> tensor<{B}x{H}xf32> loc("drop{i}"("layers.{i}.drop"))
  %p{i} = accel.linear %d{i}, %v{i} : (tensor<{B}x{H}xf32>, tensor<{F}x{H}xf32>) -> tensor<{B}x{F}xf32> loc("down{i}"("layers.{i}.down"))
  %y{i} = accel.add {x}, %p{i} : (tensor<{B}x{F}xf32>, tensor<{B}x{F}xf32>) -> tensor<{B}x{F}xf32> loc("add{i}"("layers.{i}"))''')
    x = f"%y{i}"
open(os.path.join(d, "model.mlir"), "w").write(f'''
func.func @main(%x: tensor<{B}x{F}xf32> {{accel.input = "x"}}, {", ".join(params)}) -> (tensor<{B}x{F}xf32> {{accel.output = "y"}}) {{{"".join(blocks)}
  return {x} : tensor<{B}x{F}xf32>
}}
''')
save_file(weights, os.path.join(d, "model.safetensors"))
np.save(os.path.join(d, "x.npy"), rng.standard_normal((4 * B, F)).astype(np.float32))
np.save(os.path.join(d, "labels.npy"), rng.standard_normal((4 * B, F)).astype(np.float32))
compare("dropout blocks", d, os.path.join(d, "model.mlir"),
        ["--data-array", f"x={d}/x.npy", "--data-array", f"labels={d}/labels.npy"],
        "loss=mse optimizer=sgd lr=0.02 momentum=0.5", 6, smaller=False)
print("ok")
