# RUN: %python %s
# REQUIRES: python-ml
# The gradient of a whole imported HF GPT-2 (exported without the ONNX
# optimizer so every parameter keeps its name): accel-differentiate's
# cotangent of every parameter, for a random cotangent of the logits, equals
# PyTorch autograd's within 1e-4 relative.
import argparse
import os
import subprocess
import sys

import numpy as np
import torch

from accel_testing import SRC, assert_close, run, workdir

sys.path.insert(0, os.path.join(SRC, "examples", "gpt2"))
from export import build_model  # noqa: E402

d = workdir("gpt2-gradients")
cfg = dict(layers=2, hidden=64, heads=4, seq=16, batch=2, vocab=256)
subprocess.run([sys.executable, os.path.join(SRC, "examples", "gpt2", "export.py"), "--out-dir", d,
                "--no-optimize", "--perturb"] + [f"--{k}={v}" for k, v in cfg.items()], check=True, capture_output=True)
run(["accel-translate", "--import-onnx", os.path.join(d, "gpt2.onnx"), "-o", os.path.join(d, "m.mlir")])
run(["accel-opt", os.path.join(d, "m.mlir"), "--accel-differentiate", "-o", os.path.join(d, "g.mlir")])

ids = np.load(os.path.join(d, "input_ids.npy"))
seed = np.random.default_rng(0).standard_normal((cfg["batch"], cfg["seq"], cfg["vocab"])).astype(np.float32)
np.save(os.path.join(d, "seed.npy"), seed)
run(["accel-run", os.path.join(d, "g.mlir"), "--function", "main_grad", "--weights", os.path.join(d, "m.safetensors"),
     "--input", f"input_ids={os.path.join(d, 'input_ids.npy')}", "--input", f"logits.grad={os.path.join(d, 'seed.npy')}",
     "--output-dir", os.path.join(d, "grads"), "--quiet"])

model = build_model(argparse.Namespace(seed=0, **{k: v for k, v in cfg.items() if k != "batch"}), perturb=True)
model(torch.from_numpy(ids)).backward(torch.from_numpy(seed))
checked = 0
for name, p in model.named_parameters():
    # The tied embedding is exported once, under the LM head's name.
    onnx_name = "lm_head.weight" if name == "transformer.wte.weight" else name
    got = np.load(os.path.join(d, "grads", f"{onnx_name}.grad.npy"))
    assert_close(f"d {name}", got, p.grad.numpy())
    checked += 1
assert checked == 4 + 12 * cfg["layers"], checked
print(f"{checked} parameter gradients match PyTorch")
