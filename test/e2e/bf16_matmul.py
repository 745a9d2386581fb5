# RUN: %python %s
# REQUIRES: python-ml
# bf16 products compiled and run (accel.cast to bf16, accel.matmul on bf16
# operands, products summed in fp32 by oneDNN's bf16 kernel): against
# PyTorch's bf16 matmul of the same values and the float64 product of the
# bf16-rounded operands. Each result element is within bf16's rounding
# (2^-8 relative) plus fp32 accumulation of the float64 product, as
# PyTorch's is.
import os

import numpy as np
import torch

from accel_testing import run, workdir

d = workdir("bf16-matmul")
rng = np.random.default_rng(3)
cases = [((8, 16), (16, 4), ""), ((2, 64, 96), (96, 40), ""), ((3, 32, 48), (3, 24, 48), " {transpose_rhs}")]
for i, (sa, sb, attrs) in enumerate(cases):
    out = list(sa[:-1]) + [sb[-2] if attrs else sb[-1]]
    t = lambda s, e: f"tensor<{'x'.join(map(str, s))}x{e}>"
    src = os.path.join(d, f"case{i}.mlir")
    open(src, "w").write(f"""
func.func @main(%x: {t(sa, 'f32')} {{accel.input = "x"}}, %w: {t(sb, 'f32')} {{accel.input = "w"}}) -> ({t(out, 'f32')} {{accel.output = "y"}}) {{
  %xb = accel.cast %x : ({t(sa, 'f32')}) -> {t(sa, 'bf16')}
  %wb = accel.cast %w : ({t(sb, 'f32')}) -> {t(sb, 'bf16')}
  %yb = accel.matmul %xb, %wb{attrs} : ({t(sa, 'bf16')}, {t(sb, 'bf16')}) -> {t(out, 'bf16')}
  %y = accel.cast %yb : ({t(out, 'bf16')}) -> {t(out, 'f32')}
  return %y : {t(out, 'f32')}
}}
""")
    x = rng.standard_normal(sa).astype(np.float32)
    w = rng.standard_normal(sb).astype(np.float32)
    np.save(os.path.join(d, "x.npy"), x)
    np.save(os.path.join(d, "w.npy"), w)
    run(["accel-run", src, "--input", f"x={d}/x.npy", "--input", f"w={d}/w.npy", "--output-dir",
         os.path.join(d, f"out{i}"), "--quiet"])
    got = np.load(os.path.join(d, f"out{i}", "y.npy")).astype(np.float64)
    xb, wb = torch.from_numpy(x).bfloat16(), torch.from_numpy(w).bfloat16()
    if attrs:
        wb = wb.transpose(-1, -2)
    torch_bf16 = (xb @ wb).double().numpy()
    exact = (xb.double() @ wb.double()).numpy()
    magnitude = (xb.double().abs() @ wb.double().abs()).numpy()
    bound = 2.0 ** -8 * np.abs(exact) + sa[-1] * 2.0 ** -24 * magnitude
    for who, y in (("accel", got), ("PyTorch", torch_bf16)):
        worst = float(np.max(np.abs(y - exact) / bound))
        assert worst <= 1.0, f"case {i}: {who}'s bf16 product is {worst:.2f}x outside bf16 rounding"
    print(f"case {i} {sa} x {sb}{attrs}: max |accel - float64| {np.abs(got - exact).max():.3g}, "
          f"PyTorch bf16 {np.abs(torch_bf16 - exact).max():.3g}")
