# RUN: %python %s
# REQUIRES: python-ml
# NaN and infinity propagate through every kernel as in PyTorch: rows with a
# NaN, with +inf, with -inf, all NaN and all -inf, at lengths that reach the
# vectorized loops and their tails. A kernel that turned a NaN into a number
# (a max that skipped it, a softmax that took an all-NaN row for a masked
# one) would hide a diverged run behind finite values. The reference is
# PyTorch in float64: in float32 its vectorized loops give NaN for
# gelu(+inf) where its scalar loop and the mathematics give +inf.
import os

import numpy as np
import torch
import torch.nn.functional as F

from accel_testing import run, workdir

d = workdir("nonfinite")
ROWS, N = 6, 37
rng = np.random.default_rng(0)


def special(shape):
    """Random rows, then rows holding one NaN, +inf, -inf, all NaN, all -inf."""
    x = rng.standard_normal(shape).astype(np.float32)
    flat = x.reshape(-1, shape[-1])
    rows = flat.shape[0]
    flat[1 % rows, 5] = np.nan
    flat[2 % rows, 20] = np.inf
    flat[3 % rows, 33 % shape[-1]] = -np.inf
    flat[4 % rows, :] = np.nan
    flat[5 % rows, :] = -np.inf
    return x


def mlir_type(shape, dtype="f32"):
    return "tensor<" + "".join(f"{n}x" for n in shape) + f"{dtype}>"


def check(name, body, inputs, expected, out_shape):
    """Runs `body` (MLIR ops over %a, %b, ... giving %r) on `inputs` and
    compares with `expected` (PyTorch), NaN for NaN and inf for inf."""
    args = ", ".join(f"%{chr(97 + i)}: {mlir_type(x.shape, 'i64' if x.dtype == np.int64 else 'f32')} "
                     f"{{accel.input = \"{chr(97 + i)}\"}}" for i, x in enumerate(inputs))
    src = os.path.join(d, f"{name}.mlir")
    open(src, "w").write(f"func.func @f({args}) -> {mlir_type(out_shape)} {{\n  {body}\n"
                         f"  return %r : {mlir_type(out_shape)}\n}}\n")
    cmd = ["accel-run", src, "--output-dir", os.path.join(d, name), "--quiet"]
    for i, x in enumerate(inputs):
        np.save(os.path.join(d, f"{name}-{i}.npy"), x)
        cmd += ["--input", f"{chr(97 + i)}={os.path.join(d, f'{name}-{i}.npy')}"]
    run(cmd)
    got = np.load(os.path.join(d, name, os.listdir(os.path.join(d, name))[0]))
    want = expected.detach().numpy().astype(np.float32)
    assert got.shape == want.shape, (name, got.shape, want.shape)
    assert np.array_equal(np.isnan(got), np.isnan(want)), f"{name}: NaN at {np.argwhere(np.isnan(got) != np.isnan(want))[:5]}"
    assert np.array_equal(np.isposinf(got), np.isposinf(want)) and np.array_equal(np.isneginf(got), np.isneginf(want)), \
        f"{name}: infinities differ at {np.argwhere(np.isinf(got) != np.isinf(want))[:5]}"
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-4, atol=1e-5, err_msg=name)
    print(f"ok: {name}")


x = special((ROWS, N))
t = torch.from_numpy(x).double()
ty = mlir_type(x.shape)
unary = {"exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "rsqrt": torch.rsqrt, "tanh": torch.tanh,
         "sigmoid": torch.sigmoid, "silu": F.silu, "relu": torch.relu, "erf": torch.erf, "abs": torch.abs,
         "neg": torch.neg, "reciprocal": torch.reciprocal, "sin": torch.sin, "cos": torch.cos,
         "floor": torch.floor, "ceil": torch.ceil}
for op, ref in unary.items():
    check(op, f"%r = accel.{op} %a : ({ty}) -> {ty}", [x], ref(t), x.shape)
check("gelu", f"%r = accel.gelu %a : ({ty}) -> {ty}", [x], F.gelu(t), x.shape)
check("gelu-tanh", f"%r = accel.gelu %a {{approximate = #accel<gelu_approximation tanh>}} : ({ty}) -> {ty}", [x],
      F.gelu(t, approximate="tanh"), x.shape)

y = special((ROWS, N))[::-1].copy()  # NaN and inf where x has other values
u = torch.from_numpy(y).double()
for op, ref in {"max": torch.maximum, "min": torch.minimum, "add": torch.add, "mul": torch.mul,
                "div": torch.div, "pow": torch.pow}.items():
    check(f"binary-{op}", f"%r = accel.{op} %a, %b : ({ty}, {ty}) -> {ty}", [x, y], ref(t, u), x.shape)

row = mlir_type((ROWS,))
for op, ref in {"reduce_max": torch.amax, "reduce_min": torch.amin, "reduce_sum": torch.sum,
                "reduce_mean": torch.mean}.items():
    check(op, f"%r = accel.{op} %a {{axes = array<i64: 1>}} : ({ty}) -> {row}", [x], ref(t, dim=1), (ROWS,))
check("softmax", f"%r = accel.softmax %a {{axis = 1 : i64}} : ({ty}) -> {ty}", [x], torch.softmax(t, 1), x.shape)
check("log_softmax", f"%r = accel.log_softmax %a {{axis = 1 : i64}} : ({ty}) -> {ty}", [x],
      torch.log_softmax(t, 1), x.shape)
g = rng.standard_normal(N).astype(np.float32)
b = rng.standard_normal(N).astype(np.float32)
vec = mlir_type((N,))
check("layer_norm", f"%r = accel.layer_norm %a, %b, %c {{axis = 1 : i64, epsilon = 1.0e-5 : f32, "
      f"operandSegmentSizes = array<i32: 1, 1, 1>}} : ({ty}, {vec}, {vec}) -> {ty}", [x, g, b],
      F.layer_norm(t, (N,), torch.from_numpy(g).double(), torch.from_numpy(b).double(), 1e-5), x.shape)
check("rms_norm", f"%r = accel.rms_norm %a, %b {{axis = 1 : i64, epsilon = 1.0e-5 : f32}} : ({ty}, {vec}) -> {ty}",
      [x, g], F.rms_norm(t, (N,), torch.from_numpy(g).double(), 1e-5), x.shape)
labels = rng.integers(0, N, ROWS).astype(np.int64)
scalar = mlir_type(())
check("cross_entropy", f"%r = accel.cross_entropy %a, %b : ({ty}, {mlir_type((ROWS,), 'i64')}) -> {scalar}",
      [x, labels], F.cross_entropy(t, torch.from_numpy(labels)), ())
for r in range(ROWS):  # one loss per kind of row
    check(f"cross_entropy-row{r}", f"%r = accel.cross_entropy %a, %b : ({mlir_type((1, N))}, "
          f"{mlir_type((1,), 'i64')}) -> {scalar}", [x[r:r + 1], labels[r:r + 1]],
          F.cross_entropy(t[r:r + 1], torch.from_numpy(labels[r:r + 1])), ())
w = rng.standard_normal((N, 16)).astype(np.float32)
check("matmul", f"%r = accel.matmul %a, %b : ({ty}, {mlir_type((N, 16))}) -> {mlir_type((ROWS, 16))}",
      [x, w], t @ torch.from_numpy(w).double(), (ROWS, 16))

# Attention: a query row of NaN, a key with +inf (its scores are +-inf), a
# value with NaN; each alone, as PyTorch's math attention gives them.
B, H, S, D = 1, 2, 20, 8
q, k, v = (rng.standard_normal((B, H, S, D)).astype(np.float32) for _ in range(3))
qkv = mlir_type((B, H, S, D))
cases = {"nan-query": (0, (0, 0, 3)), "inf-key": (1, (0, 1, 7)), "nan-value": (2, (0, 0, 11))}
for case, (which, (bi, hi, si)) in cases.items():
    parts = [q.copy(), k.copy(), v.copy()]
    parts[which][bi, hi, si, :] = np.inf if case == "inf-key" else np.nan
    tq, tk, tv = (torch.from_numpy(p).double() for p in parts)
    for causal in (False, True):
        attr = " {causal}" if causal else ""
        check(f"attention-{case}{'-causal' if causal else ''}",
              f"%r = accel.attention %a, %b, %c{attr} : ({qkv}, {qkv}, {qkv}) -> {qkv}", parts,
              F.scaled_dot_product_attention(tq, tk, tv, is_causal=causal), (B, H, S, D))
