# RUN: %python %s
# REQUIRES: python-ml
# Data parallelism (accel-opt --accel-shard="dp=2", two ranks of one
# thread) reproduces the single-process run: a tiny GPT-2 and a tiny
# Llama train 10 AdamW steps (clipping, warm-up) on the same global
# batches. Each layout meets the float64 fidelity standard
# (test/helpers/fidelity.py), every loss is within 1e-5 relative of the
# one-process run, and a rerun of the layout is bitwise identical. The
# bytes each rank sends per step, counted by the runtime, are a ring
# all-reduce's (2 (p-1) ceil(n/p) elements per collective of the compiled
# step): the gradient bytes of DP's formula, less the rows of a position
# table the sequence never reaches.
import json
import math
import os
import re

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

ELEMENT_BYTES = {"f32": 4, "f64": 8, "i64": 8, "i32": 4}


def ring_bytes(sharded_mlir, ranks=2):
    """Bytes one rank sends per train_step by the ring formula, from the
    all-reduces of the compiled step."""
    text = open(sharded_mlir).read()
    body = text[text.index("func.func @train_step"):]
    body = body[:body.index("func.func @", 1)] if "func.func @" in body[1:] else body
    total = 0
    for shape, dtype in re.findall(r"accel\.all_reduce(?:_start)? %\S+ \{[^}]*\} : \(tensor<((?:\d+x)*)(\w+)>\)", body):
        n = math.prod(int(d) for d in shape.split("x") if d) if shape else 1
        total += 2 * (ranks - 1) * math.ceil(n / ranks) * ELEMENT_BYTES[dtype]
    return total

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

    sent = [json.loads(line)["comm_bytes"] for line in open(os.path.join(run["ck"], "log.jsonl"))
            if "comm_bytes" in json.loads(line)]
    expected = ring_bytes(os.path.join(d, "sharded-ck.mlir"))
    gradient_bytes = 4 * sum(result["raw"]["initial"][n].size for n in result["params"])
    print(f"{family} dp=2: {sent[0]} bytes sent per step and rank; ring formula {expected}; "
          f"gradients {gradient_bytes}")
    assert sent == [expected] * loop.steps, f"{family}: sent {sent}, the ring formula gives {expected}"
    # At most the gradients plus the scalars (loss, token count): the rows of
    # a position table beyond the sequence get no gradient and are not sent.
    assert gradient_bytes * 0.9 < expected <= gradient_bytes + 64, \
        f"{family}: {expected} bytes for {gradient_bytes} of gradients"

    first, second = tensors(run["ck"], loop.steps), tensors(again, loop.steps)
    assert losses(again).tobytes() == dp.tobytes(), f"{family}: a rerun of dp=2 logged other losses"
    for name in first:
        assert first[name].tobytes() == second[name].tobytes(), f"{family}: {name} differs on a rerun of dp=2"
if failed:
    raise SystemExit("data parallelism is further from float64 than PyTorch fp32")
