# RUN: %python %s
# REQUIRES: python-ml
# Gradient accumulation (accel-accumulate-gradients through
# accel-make-train-step's accumulate=4): a GPT-2 exported at a micro-batch
# of 8 trains on steps of 32 examples, against PyTorch taking each batch of
# 32 whole, in fp32 and float64, by the fidelity standard
# (test/helpers/fidelity.py: losses and every parameter within 2x PyTorch
# fp32's error from float64):
#   * on a token file (every label counts);
#   * on labels with ignored positions (-100), spread unevenly over the
#     micro-batches: normalization=global is PyTorch's mean over the counted
#     tokens of the whole batch, normalization=per-micro-batch the mean of
#     the four micro-batches' means (micro-batch k: examples k, k+4, ...).
# A control shows the two normalizations differ on that data by far more
# than the standard allows, so each check can fail. And the memory: the
# accumulated step's arena is that of one micro-batch plus the gradient sum
# (within the buffer planner's 10% of packing loss), far below the arena of
# the whole batch taken at once.
import os
import re

import numpy as np
import torch

import fidelity
import hf_families
from accel_testing import run, workdir
from training_reference import batch_ids

LOOP = fidelity.Loop(steps=8, batch=32, seq=16, accumulate=4)


def ignored_token_data(d, loop):
    """input_ids and labels arrays in which each example ignores a random
    number of its first positions (some all but one), and PyTorch's batches
    of them."""
    rng = np.random.default_rng(11)
    n = 3 * loop.batch
    ids = rng.integers(0, hf_families.VOCAB, (n, loop.seq)).astype(np.int64)
    labels = np.roll(ids, -1, axis=1)
    labels[:, -1] = ids[:, 0]
    for row, ignored in enumerate(rng.integers(0, loop.seq, n)):
        labels[row, :ignored] = -100
    np.save(os.path.join(d, "ids.npy"), ids)
    np.save(os.path.join(d, "labels.npy"), labels)

    def batches():
        for i in batch_ids(n, loop.batch, loop.steps, loop.seed):
            yield torch.from_numpy(ids[i]), torch.from_numpy(labels[i])
    args = ["--data-array", f"input_ids={d}/ids.npy", "--data-array", f"labels={d}/labels.npy"]
    return args, batches


def global_mean(out, y):
    return torch.nn.functional.cross_entropy(out.logits.flatten(0, 1), y.flatten())


def mean_of_micro_batch_means(out, y):
    k = LOOP.accumulate
    return sum(torch.nn.functional.cross_entropy(out.logits[i::k].flatten(0, 1), y[i::k].flatten())
               for i in range(k)) / k


def arena_bytes(mlir, options):
    """train_step's arena as the buffer planner sizes it."""
    planned = mlir + ".planned.mlir"
    run(["accel-opt", mlir, f"--accel-make-train-step={options}", "--accel-lower-to-runtime", "-o", planned])
    step = next(line for line in open(planned) if "func.func @train_step" in line)
    return int(re.search(r"accel.arena_size = (\d+)", step).group(1))


ok = True
model = hf_families.build("gpt2", perturb=True)
d = workdir("accumulate-tokens")
result = fidelity.train_three_ways("gpt2", model, d, LOOP)
ok &= fidelity.report(result, "accumulate=4, token file")

micro = arena_bytes(result["accel_run"]["mlir"], "")
accumulated = arena_bytes(result["accel_run"]["mlir"], "accumulate=4")
whole_mlir = os.path.join(d, "whole.mlir")
hf_families.export(model, os.path.join(d, "whole.onnx"), torch.zeros((LOOP.batch, LOOP.seq), dtype=torch.int64),
                   optimize=False, config=True)
run(["accel-translate", "--import-onnx", os.path.join(d, "whole.onnx"), "-o", whole_mlir])
whole = arena_bytes(whole_mlir, "")
grad_bytes = 4 * sum(p.numel() for p in model.parameters())
print(f"train_step arena: micro-batch of {LOOP.micro_batch} {micro / 2**20:.2f} MiB, accumulate=4 "
      f"{accumulated / 2**20:.2f} MiB, batch of {LOOP.batch} at once {whole / 2**20:.2f} MiB "
      f"(gradients {grad_bytes / 2**20:.2f} MiB)")
# The planner packs greedily: within 10% of the live bytes.
assert accumulated <= 1.1 * (micro + grad_bytes), "the accumulated step holds more than one micro-batch and the sum"
assert accumulated < whole / 2, "the accumulated step's memory is not that of a micro-batch"

results = {}
for normalization, loss_fn in (("global", global_mean), ("per-micro-batch", mean_of_micro_batch_means)):
    d = workdir(f"accumulate-{normalization}")
    loop = fidelity.Loop(**{**LOOP.__dict__, "normalization": normalization})
    args, batches = ignored_token_data(d, loop)
    results[normalization] = fidelity.train_three_ways("gpt2", model, d, loop, data=(args, batches, loss_fn))
    ok &= fidelity.report(results[normalization], f"accumulate=4, ignored labels, normalization={normalization}")

# Control: each normalization's accel losses measured against the other's
# float64 reference fail the standard.
g, p = results["global"]["raw"], results["per-micro-batch"]["raw"]
swapped = fidelity.measure("gpt2", LOOP, g["la"], p["l32"], p["l64"], g["initial"], g["final"], p["p32"],
                           p["p64"], p["g64"], list(results["global"]["params"]))
assert swapped["failures"], "the two normalizations are indistinguishable on this data"
print(f"control: global normalization judged against per-micro-batch's reference fails "
      f"({len(swapped['failures'])} failures, e.g. {swapped['failures'][0]})")
if not ok:
    raise SystemExit("accumulated training is further from float64 than PyTorch fp32's")
