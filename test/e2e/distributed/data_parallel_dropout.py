# RUN: %python %s
# REQUIRES: python-ml
# Dropout under every layout draws the single-process mask: under data
# parallelism each rank's block of the batch takes its block of the whole
# batch's mask (counters offset by rank); under tensor parallelism a mask
# over split features is drawn whole (the activation gathered first). A
# classifier with two dropout layers (0.5: half the units differ between
# masks), named as Megatron's plan splits an MLP, trains 8 SGD steps in one
# process and under dp=2, dp=2 zero=3, tp=2 and dp=2 x tp=2; losses agree
# to 1e-5 and parameters to float rounding.
import os

import numpy as np
from safetensors.numpy import save_file

from accel_testing import run, train_on_arrays, workdir

d = workdir("data-parallel-dropout")
rng = np.random.default_rng(3)
B, F, H, C, STEPS = 8, 16, 32, 4, 8
open(os.path.join(d, "model.mlir"), "w").write(f'''
func.func @main(%x: tensor<{B}x{F}xf32> {{accel.input = "x"}},
                %w1: tensor<{H}x{F}xf32> {{accel.param = "mlp.up_proj.weight"}}, %b1: tensor<{H}xf32> {{accel.param = "mlp.up_proj.bias"}},
                %w2: tensor<{C}x{H}xf32> {{accel.param = "mlp.down_proj.weight"}}) -> (tensor<{B}x{C}xf32> {{accel.output = "logits"}}) {{
  %d0 = accel.dropout %x {{ratio = 0.5 : f32, seed = 11 : i64}} : (tensor<{B}x{F}xf32>) -> tensor<{B}x{F}xf32>
  %h = accel.linear %d0, %w1, %b1 : (tensor<{B}x{F}xf32>, tensor<{H}x{F}xf32>, tensor<{H}xf32>) -> tensor<{B}x{H}xf32>
  %a = accel.tanh %h : (tensor<{B}x{H}xf32>) -> tensor<{B}x{H}xf32>
  %d1 = accel.dropout %a {{ratio = 0.5 : f32, seed = 12 : i64}} : (tensor<{B}x{H}xf32>) -> tensor<{B}x{H}xf32>
  %y = accel.linear %d1, %w2 : (tensor<{B}x{H}xf32>, tensor<{C}x{H}xf32>) -> tensor<{B}x{C}xf32>
  return %y : tensor<{B}x{C}xf32>
}}
''')
save_file({"mlp.up_proj.weight": rng.standard_normal((H, F)).astype(np.float32) * 0.3,
           "mlp.up_proj.bias": rng.standard_normal(H).astype(np.float32) * 0.1,
           "mlp.down_proj.weight": rng.standard_normal((C, H)).astype(np.float32) * 0.3}, os.path.join(d, "model.safetensors"))
np.save(os.path.join(d, "x.npy"), rng.standard_normal((4 * B, F)).astype(np.float32))
np.save(os.path.join(d, "labels.npy"), rng.integers(0, C, 4 * B).astype(np.int64))

train = os.path.join(d, "train.mlir")
run(["accel-opt", os.path.join(d, "model.mlir"), "--accel-make-train-step=optimizer=sgd lr=0.5", "-o", train])


def train_run(step_file, name, ranks):
    return train_on_arrays(d, step_file, name, ranks, STEPS, ("x", "labels"))


one, p1 = train_run(train, "one", 1)
for layout, ranks in (("dp=2", 2), ("dp=2 zero=3", 2), ("tp=2", 2), ("dp=2 tp=2", 4)):
    tag = layout.replace(" ", "-").replace("=", "")
    sharded = os.path.join(d, f"train-{tag}.mlir")
    run(["accel-opt", train, f"--accel-shard={layout}", "-o", sharded])
    if "dp" in layout:
        text = open(sharded).read()
        assert text.count('split_group = "dp"') > 0, f"{layout}: no dropout draws its block"
    two, p2 = train_run(sharded, tag, ranks)
    relative = np.abs(one - two) / np.abs(one)
    print(f"dropout 0.5, {layout} against one process: worst loss difference {relative.max():.2e} (relative) "
          f"over {STEPS} steps; losses {np.round(two, 4).tolist()}")
    assert relative.max() <= 1e-5, f"{layout} losses {two} differ from one process's {one}"
    for name in p1:
        scale = np.abs(p1[name]).max()
        assert np.abs(p1[name] - p2[name]).max() <= 1e-5 * scale, f"{name} differs between {layout} and one process"
