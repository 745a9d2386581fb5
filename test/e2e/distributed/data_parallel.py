# RUN: %python %s
# REQUIRES: python-ml
# Data parallelism (accel-opt --accel-shard="dp=2", two ranks of one
# thread) reproduces the single-process run: a tiny GPT-2 and a tiny
# Llama train 10 AdamW steps (clipping, warm-up) on the same global
# batches. Each layout meets the float64 fidelity standard
# (test/helpers/fidelity.py), every loss is within 1e-5 relative of the
# one-process run, and a rerun of the layout is bitwise identical.
import json
import os

import numpy as np
from safetensors.numpy import load_file

import fidelity
import hf_families


def losses(ck):
    return np.array([json.loads(line)["loss"] for line in open(os.path.join(ck, "log.jsonl"))
                     if "loss" in json.loads(line)])


def tensors(ck, steps):
    d = os.path.join(ck, f"checkpoint-{steps}")
    return {**load_file(os.path.join(d, "model.safetensors")),
            **load_file(os.path.join(d, "optimizer.safetensors"))}


from accel_testing import workdir

loop = fidelity.Loop(steps=10)
failed = False
for family in ("gpt2", "llama"):
    d = workdir(f"data-parallel-{family}")
    result = fidelity.train_three_ways(family, hf_families.build(family, perturb=True), d, loop, layout="dp=2")
    failed |= not fidelity.report(result, "dp=2")
    run = result["accel_run"]
    single = fidelity.accel_train(d, run["mlir"], run["data_args"], loop, None, "single")
    again = fidelity.accel_train(d, run["mlir"], run["data_args"], loop, "dp=2", "rerun")

    dp, one = losses(run["ck"]), losses(single)
    relative = np.abs(dp - one) / np.abs(one)
    print(f"{family} dp=2: worst loss difference from one process {relative.max():.2e} (relative)")
    assert relative.max() <= 1e-5, f"{family}: dp=2 losses {dp} differ from one process's {one}"

    first, second = tensors(run["ck"], loop.steps), tensors(again, loop.steps)
    assert losses(again).tobytes() == dp.tobytes(), f"{family}: a rerun of dp=2 logged other losses"
    for name in first:
        assert first[name].tobytes() == second[name].tobytes(), f"{family}: {name} differs on a rerun of dp=2"
if failed:
    raise SystemExit("data parallelism is further from float64 than PyTorch fp32")
