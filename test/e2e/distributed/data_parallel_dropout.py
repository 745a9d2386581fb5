# RUN: %python %s
# REQUIRES: python-ml
# Dropout under data parallelism draws the single-process mask: each rank's
# block of the batch takes its block of the whole batch's mask (counters
# offset by rank), so dp=2 trains like one process. A classifier with two
# dropout layers (0.5: half the units differ between masks) trains 8 SGD
# steps both ways; losses agree to 1e-5 and parameters to float rounding.
import json
import os

import numpy as np
from safetensors.numpy import load_file, save_file

from accel_testing import run, workdir

d = workdir("data-parallel-dropout")
rng = np.random.default_rng(3)
B, F, H, C, STEPS = 8, 16, 32, 4, 8
open(os.path.join(d, "model.mlir"), "w").write(f'''
func.func @main(%x: tensor<{B}x{F}xf32> {{accel.input = "x"}},
                %w1: tensor<{H}x{F}xf32> {{accel.param = "w1"}}, %b1: tensor<{H}xf32> {{accel.param = "b1"}},
                %w2: tensor<{C}x{H}xf32> {{accel.param = "w2"}}) -> (tensor<{B}x{C}xf32> {{accel.output = "logits"}}) {{
  %d0 = accel.dropout %x {{ratio = 0.5 : f32, seed = 11 : i64}} : (tensor<{B}x{F}xf32>) -> tensor<{B}x{F}xf32>
  %h = accel.linear %d0, %w1, %b1 : (tensor<{B}x{F}xf32>, tensor<{H}x{F}xf32>, tensor<{H}xf32>) -> tensor<{B}x{H}xf32>
  %a = accel.tanh %h : (tensor<{B}x{H}xf32>) -> tensor<{B}x{H}xf32>
  %d1 = accel.dropout %a {{ratio = 0.5 : f32, seed = 12 : i64}} : (tensor<{B}x{H}xf32>) -> tensor<{B}x{H}xf32>
  %y = accel.linear %d1, %w2 : (tensor<{B}x{H}xf32>, tensor<{C}x{H}xf32>) -> tensor<{B}x{C}xf32>
  return %y : tensor<{B}x{C}xf32>
}}
''')
save_file({"w1": rng.standard_normal((H, F)).astype(np.float32) * 0.3,
           "b1": rng.standard_normal(H).astype(np.float32) * 0.1,
           "w2": rng.standard_normal((C, H)).astype(np.float32) * 0.3}, os.path.join(d, "model.safetensors"))
np.save(os.path.join(d, "x.npy"), rng.standard_normal((4 * B, F)).astype(np.float32))
np.save(os.path.join(d, "labels.npy"), rng.integers(0, C, 4 * B).astype(np.int64))

train = os.path.join(d, "train.mlir")
run(["accel-opt", os.path.join(d, "model.mlir"), "--accel-make-train-step=optimizer=sgd lr=0.5", "-o", train])
sharded = os.path.join(d, "train-dp2.mlir")
run(["accel-opt", train, "--accel-shard=dp=2", "-o", sharded])
text = open(sharded).read()
assert text.count("accel.dropout") == text.count('split_group = "dp"') > 0, "every dropout draws its block"


def train_run(step_file, name, ranks):
    out = os.path.join(d, name)
    run(["accel-run", step_file, "--weights", os.path.join(d, "model.safetensors"),
         "--data-array", f"x={d}/x.npy", "--data-array", f"labels={d}/labels.npy", "--steps", STEPS,
         "--seed", 5, "--num-threads", 1, "--save-dir", out, "--quiet",
         *(["--nproc-per-node", ranks] if ranks > 1 else [])])
    losses = np.array([json.loads(line)["loss"] for line in open(os.path.join(out, "log.jsonl"))
                       if "loss" in json.loads(line)])
    return losses, load_file(os.path.join(out, f"checkpoint-{STEPS}", "model.safetensors"))


one, p1 = train_run(train, "one", 1)
two, p2 = train_run(sharded, "dp2", 2)
relative = np.abs(one - two) / np.abs(one)
print(f"dropout 0.5, dp=2 against one process: worst loss difference {relative.max():.2e} (relative) "
      f"over {STEPS} steps; losses {np.round(one, 4).tolist()}")
assert relative.max() <= 1e-5, f"dp=2 losses {two} differ from one process's {one}"
for name in p1:
    scale = np.abs(p1[name]).max()
    assert np.abs(p1[name] - p2[name]).max() <= 1e-5 * scale, f"{name} differs between dp=2 and one process"
