# RUN: %python %s
# REQUIRES: python-ml
# Gradient accumulation under data parallelism: GPT-2 exported at a
# micro-batch of 8, accumulate=4, dp=2 (each rank runs four micro-batches of
# 4 per step of 32 examples) meets the float64 fidelity standard against
# PyTorch taking each batch of 32 whole. The runtime's count of bytes sent
# shows the gradients are reduced once per optimizer step: a step of four
# micro-batches sends what a dp=2 step on the batch of 32 in one pass sends,
# not four times as much.
import json
import os

import torch

import fidelity
import hf_families
from accel_testing import run, workdir


def bytes_per_step(ck):
    sent = [r["comm_bytes"] for r in map(json.loads, open(os.path.join(ck, "log.jsonl"))) if "comm_bytes" in r]
    assert sent and len(set(sent)) == 1, f"steps sent different byte counts: {sent}"
    return sent[0]


loop = fidelity.Loop(steps=8, batch=32, seq=16, accumulate=4)
model = hf_families.build("gpt2", perturb=True)
d = workdir("dp-accumulation")
result = fidelity.train_three_ways("gpt2", model, d, loop, layout="dp=2")
ok = fidelity.report(result, "accumulate=4, dp=2")
accumulated = bytes_per_step(result["accel_run"]["ck"])

# The same batches of 32, one pass per step, on the same two ranks.
whole = os.path.join(d, "whole.mlir")
hf_families.export(model, os.path.join(d, "whole.onnx"), torch.zeros((loop.batch, loop.seq), dtype=torch.int64),
                   optimize=False, config=True)
run(["accel-translate", "--import-onnx", os.path.join(d, "whole.onnx"), "-o", whole])
one_pass = fidelity.Loop(**{**loop.__dict__, "accumulate": 1})
ck = fidelity.accel_train(d, whole, result["accel_run"]["data_args"], one_pass, layout="dp=2", name="whole")
single = bytes_per_step(ck)
print(f"bytes sent per step and rank: accumulate=4 {accumulated}, the batch in one pass {single}")
assert accumulated == single, "accumulated micro-batches reduce more than the step taken in one pass"
if not ok:
    raise SystemExit("accumulation under dp=2 is further from float64 than PyTorch fp32")
