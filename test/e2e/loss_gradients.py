# RUN: %python %s
# REQUIRES: python-ml
# accel.cross_entropy and its fused gradient against
# torch.nn.functional.cross_entropy and autograd, on logits of several
# ranks, with ignored labels, label smoothing and another ignore index.
import os

import numpy as np
import torch
import torch.nn.functional as F

from accel_testing import assert_close, run, workdir

d = workdir("loss-gradients")
rng = np.random.default_rng(0)


def mlir_type(shape, element):
    return f"tensor<{'x'.join(map(str, shape))}x{element}>" if shape else f"tensor<{element}>"


def case(name, logits_shape, ignore_index=-100, smoothing=0.0, ignored_every=0):
    classes = logits_shape[-1]
    logits = (rng.standard_normal(logits_shape) * 3).astype(np.float32)
    labels = rng.integers(0, classes, logits_shape[:-1]).astype(np.int64)
    if ignored_every:
        labels.reshape(-1)[::ignored_every] = ignore_index
    lt, yt = mlir_type(logits_shape, "f32"), mlir_type(logits_shape[:-1], "i64")
    base = os.path.join(d, name)
    open(base + ".mlir", "w").write(f"""
func.func @f(%x: {lt} {{accel.input = "logits"}}, %y: {yt} {{accel.input = "labels"}}) -> (tensor<f32> {{accel.output = "loss"}}) {{
  %0 = accel.cross_entropy %x, %y {{ignore_index = {ignore_index} : i64, label_smoothing = {smoothing} : f64}} : ({lt}, {yt}) -> tensor<f32>
  return %0 : tensor<f32>
}}
""")
    run(["accel-opt", base + ".mlir", "--accel-differentiate", "-o", base + ".grad.mlir"])
    seed = np.array(rng.standard_normal(), np.float32)
    for n, a in [("logits", logits), ("labels", labels), ("seed", seed)]:
        np.save(f"{base}.{n}.npy", a)
    inputs = ["--input", f"logits={base}.logits.npy", "--input", f"labels={base}.labels.npy"]
    run(["accel-run", base + ".grad.mlir", "--function", "f", "--output-dir", base + ".fwd", "--quiet"] + inputs)
    run(["accel-run", base + ".grad.mlir", "--function", "f_grad", "--output-dir", base + ".bwd", "--quiet",
         "--input", f"loss.grad={base}.seed.npy"] + inputs)

    x = torch.from_numpy(logits).requires_grad_()
    loss = F.cross_entropy(x.reshape(-1, classes), torch.from_numpy(labels).reshape(-1),
                           ignore_index=ignore_index, label_smoothing=smoothing)
    loss.backward(torch.from_numpy(seed))
    assert_close(f"{name}: loss", np.load(base + ".fwd/loss.npy"), loss.detach().numpy(), rtol=1e-5)
    assert_close(f"{name}: dlogits", np.load(base + ".bwd/logits.grad.npy"), x.grad.numpy(), rtol=1e-5)


case("rows", (6, 10))
case("sequence", (2, 5, 7), ignored_every=3)
case("smoothing", (4, 9), smoothing=0.2, ignored_every=2)
case("ignore_index_2", (3, 4, 5), ignore_index=2, smoothing=0.05)
case("large_vocab", (8, 1000), ignored_every=5)
print("cross-entropy and its gradient match PyTorch")
