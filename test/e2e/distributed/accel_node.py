# RUN: %python %s
# REQUIRES: python-ml
# accel-node, the runtime binary training nodes run (no MLIR or LLVM in
# it), trains a compiled executable as accel-run trains the .mlir it was
# compiled from: the same losses and parameters, bitwise, on two
# data-parallel ranks it launches itself; and it refuses a .mlir model with
# a message saying how to compile it.
import os

import numpy as np
from safetensors.numpy import save_file

from accel_testing import run, train_on_arrays, workdir

d = workdir("accel-node")
rng = np.random.default_rng(11)
B, F, H, C, STEPS = 8, 12, 16, 4, 6
open(os.path.join(d, "model.mlir"), "w").write(f'''
func.func @main(%x: tensor<{B}x{F}xf32> {{accel.input = "x"}},
                %w1: tensor<{H}x{F}xf32> {{accel.param = "fc.weight"}},
                %w2: tensor<{C}x{H}xf32> {{accel.param = "head.weight"}}) -> (tensor<{B}x{C}xf32> {{accel.output = "logits"}}) {{
  %h = accel.linear %x, %w1 : (tensor<{B}x{F}xf32>, tensor<{H}x{F}xf32>) -> tensor<{B}x{H}xf32>
  %a = accel.tanh %h : (tensor<{B}x{H}xf32>) -> tensor<{B}x{H}xf32>
  %y = accel.linear %a, %w2 : (tensor<{B}x{H}xf32>, tensor<{C}x{H}xf32>) -> tensor<{B}x{C}xf32>
  return %y : tensor<{B}x{C}xf32>
}}
''')
save_file({"fc.weight": rng.standard_normal((H, F)).astype(np.float32) * 0.4,
           "head.weight": rng.standard_normal((C, H)).astype(np.float32) * 0.4}, os.path.join(d, "model.safetensors"))
np.save(os.path.join(d, "x.npy"), rng.standard_normal((4 * B, F)).astype(np.float32))
np.save(os.path.join(d, "labels.npy"), rng.integers(0, C, 4 * B).astype(np.int64))

train = os.path.join(d, "train.mlir")
run(["accel-opt", os.path.join(d, "model.mlir"), "--accel-make-train-step=optimizer=adamw lr=0.01",
     "--accel-shard=dp=2", "-o", train])
executable = os.path.join(d, "train.accx")
run(["accel-translate", "--mlir-to-executable", train, "-o", executable])

by_run, p_run = train_on_arrays(d, train, "accel-run", 2, STEPS, ("x", "labels"))
by_node, p_node = train_on_arrays(d, executable, "accel-node", 2, STEPS, ("x", "labels"), tool="accel-node")
print(f"accel-node (2 ranks) losses {np.round(by_node, 5).tolist()}")
assert by_node.tobytes() == by_run.tobytes(), (by_node, by_run)
for name in p_run:
    assert p_node[name].tobytes() == p_run[name].tobytes(), f"{name} differs between accel-node and accel-run"

refused = run(["accel-node", train, "--steps", 1], check=False)
assert refused.returncode != 0 and "accel-translate --mlir-to-executable" in refused.stderr, refused.stderr
