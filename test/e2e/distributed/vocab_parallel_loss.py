# RUN: %python %s
# REQUIRES: python-ml
# The vocabulary-parallel loss of a head with a bias (so the step keeps the
# logits and uses cross_entropy and its gradient, not the fused head): the
# head's classes split over tp, each rank computes its block of the logits,
# and the row maximum, the sum of exponentials and the target's logit are
# completed across ranks. A small classifier (Megatron-named MLP, 16
# classes) trains 8 AdamW steps with label smoothing 0.1 and ignored
# labels, in one process and under tp=2 and dp=2 x tp=2: losses agree to
# 1e-5 and parameters to float rounding, and the split step holds no
# cross_entropy over whole logits.
import os

import numpy as np
from safetensors.numpy import save_file

from accel_testing import run, train_on_arrays, workdir

d = workdir("vocab-parallel-loss")
rng = np.random.default_rng(7)
B, F, H, C, STEPS = 8, 12, 16, 16, 8
open(os.path.join(d, "model.mlir"), "w").write(f'''
func.func @main(%x: tensor<{B}x{F}xf32> {{accel.input = "x"}},
                %w1: tensor<{H}x{F}xf32> {{accel.param = "mlp.up_proj.weight"}},
                %w2: tensor<{F}x{H}xf32> {{accel.param = "mlp.down_proj.weight"}},
                %head: tensor<{C}x{F}xf32> {{accel.param = "lm_head.weight"}},
                %bias: tensor<{C}xf32> {{accel.param = "lm_head.bias"}}) -> (tensor<{B}x{C}xf32> {{accel.output = "logits"}}) {{
  %h = accel.linear %x, %w1 : (tensor<{B}x{F}xf32>, tensor<{H}x{F}xf32>) -> tensor<{B}x{H}xf32>
  %a = accel.tanh %h : (tensor<{B}x{H}xf32>) -> tensor<{B}x{H}xf32>
  %o = accel.linear %a, %w2 : (tensor<{B}x{H}xf32>, tensor<{F}x{H}xf32>) -> tensor<{B}x{F}xf32>
  %y = accel.linear %o, %head, %bias : (tensor<{B}x{F}xf32>, tensor<{C}x{F}xf32>, tensor<{C}xf32>) -> tensor<{B}x{C}xf32>
  return %y : tensor<{B}x{C}xf32>
}}
''')
save_file({"mlp.up_proj.weight": rng.standard_normal((H, F)).astype(np.float32) * 0.4,
           "mlp.down_proj.weight": rng.standard_normal((F, H)).astype(np.float32) * 0.4,
           "lm_head.weight": rng.standard_normal((C, F)).astype(np.float32) * 0.4,
           "lm_head.bias": rng.standard_normal(C).astype(np.float32) * 0.1}, os.path.join(d, "model.safetensors"))
np.save(os.path.join(d, "x.npy"), rng.standard_normal((4 * B, F)).astype(np.float32))
labels = rng.integers(0, C, 4 * B).astype(np.int64)
labels[::5] = -100  # ignored
np.save(os.path.join(d, "labels.npy"), labels)

train = os.path.join(d, "train.mlir")
run(["accel-opt", os.path.join(d, "model.mlir"),
     "--accel-make-train-step=optimizer=adamw lr=0.01 label-smoothing=0.1", "-o", train])
assert "accel.cross_entropy_grad" in open(train).read(), "the step should keep the logits"


def train_run(step_file, name, ranks):
    return train_on_arrays(d, step_file, name, ranks, STEPS, ("x", "labels"))


one, p1 = train_run(train, "one", 1)
for layout, ranks in (("tp=2", 2), ("dp=2 tp=2", 4)):
    tag = layout.replace(" ", "-").replace("=", "")
    sharded = os.path.join(d, f"train-{tag}.mlir")
    run(["accel-opt", train, f"--accel-shard={layout}", "-o", sharded])
    step = open(sharded).read().split("func.func @train_step")[1].split("func.func")[0]
    assert "accel.cross_entropy" not in step, f"{layout}: a cross_entropy over whole logits is left"
    assert f"tensor<{C // 2}xf32> {{accel.param = \"lm_head.bias\", accel.split = [\"tp\"]}}" in step, step[:400]
    two, p2 = train_run(sharded, tag, ranks)
    relative = np.abs(one - two) / np.abs(one)
    print(f"vocabulary-parallel loss, {layout} against one process: worst loss difference "
          f"{relative.max():.2e} (relative) over {STEPS} steps; losses {np.round(two, 4).tolist()}")
    assert relative.max() <= 1e-5, f"{layout} losses {two} differ from one process's {one}"
    for name in p1:
        scale = np.abs(p1[name]).max()
        worst = np.abs(p1[name] - p2[name]).max()
        assert worst <= 1e-5 * scale, f"{name} differs between {layout} and one process by {worst:.2e}"
