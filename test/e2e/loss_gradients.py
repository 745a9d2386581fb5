# RUN: %python %s
# REQUIRES: python-ml
# accel.cross_entropy and its fused gradient, and the blockwise
# accel.linear_cross_entropy (an LM head and its loss), against
# torch.nn.functional.cross_entropy and autograd: logits of several ranks,
# ignored labels, label smoothing, another ignore index, both weight
# layouts, and enough rows for several blocks.
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


def head_case(name, input_shape, classes, weight_in_out=False, ignore_index=-100, smoothing=0.0,
              ignored_every=0):
    k = input_shape[-1]
    h = rng.standard_normal(input_shape).astype(np.float32)
    w = (rng.standard_normal((k, classes) if weight_in_out else (classes, k)) * 0.5).astype(np.float32)
    labels = rng.integers(0, classes, input_shape[:-1]).astype(np.int64)
    if ignored_every:
        labels.reshape(-1)[::ignored_every] = ignore_index
    ht, wt, yt = mlir_type(h.shape, "f32"), mlir_type(w.shape, "f32"), mlir_type(labels.shape, "i64")
    layout = ", weight_in_out" if weight_in_out else ""
    base = os.path.join(d, name)
    open(base + ".mlir", "w").write(f"""
func.func @f(%h: {ht} {{accel.input = "h"}}, %w: {wt} {{accel.input = "w"}}, %y: {yt} {{accel.input = "labels"}}) -> (tensor<f32> {{accel.output = "loss"}}) {{
  %0:3 = accel.linear_cross_entropy %h, %w, %y {{ignore_index = {ignore_index} : i64, label_smoothing = {smoothing} : f64{layout}}} : ({ht}, {wt}, {yt}) -> (tensor<f32>, {ht}, {wt})
  return %0#0 : tensor<f32>
}}
""")
    run(["accel-opt", base + ".mlir", "--accel-differentiate", "-o", base + ".grad.mlir"])
    seed = np.array(rng.standard_normal(), np.float32)
    inputs = []
    for n, a in [("h", h), ("w", w), ("labels", labels), ("seed", seed)]:
        np.save(f"{base}.{n}.npy", a)
        if n != "seed":
            inputs += ["--input", f"{n}={base}.{n}.npy"]
    run(["accel-run", base + ".grad.mlir", "--function", "f_grad", "--output-dir", base + ".bwd", "--quiet",
         "--input", f"loss.grad={base}.seed.npy"] + inputs)
    run(["accel-run", base + ".grad.mlir", "--function", "f", "--output-dir", base + ".fwd", "--quiet"] + inputs)
    th, tw = torch.from_numpy(h).requires_grad_(), torch.from_numpy(w).requires_grad_()
    logits = th @ tw if weight_in_out else th @ tw.T
    loss = F.cross_entropy(logits.reshape(-1, classes), torch.from_numpy(labels).reshape(-1),
                           ignore_index=ignore_index, label_smoothing=smoothing)
    loss.backward(torch.from_numpy(seed))
    assert_close(f"{name}: loss", np.load(base + ".fwd/loss.npy"), loss.detach().numpy(), rtol=1e-5)
    assert_close(f"{name}: dh", np.load(base + ".bwd/h.grad.npy"), th.grad.numpy(), rtol=1e-5)
    assert_close(f"{name}: dw", np.load(base + ".bwd/w.grad.npy"), tw.grad.numpy(), rtol=1e-5)


head_case("head", (3, 5, 8), 11)
head_case("head_in_out", (12, 8), 7, weight_in_out=True, smoothing=0.1, ignored_every=4)
# 400 rows of 50000 classes: three blocks of rows, the weight gradient
# accumulated across them.
head_case("head_blocks", (2, 200, 16), 50000, ignored_every=7, smoothing=0.05)
head_case("head_blocks_in_out", (400, 8), 30000, weight_in_out=True, ignore_index=3)
print("cross-entropy, the fused LM head and their gradients match PyTorch")
