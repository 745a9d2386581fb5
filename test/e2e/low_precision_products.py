# RUN: %python %s
# REQUIRES: python-ml
# bf16 and fp16 products compiled and run (accel.cast to the type,
# accel.matmul, accel.linear, the fused LM head and attention on its
# operands, products summed in fp32: oneDNN's bf16/fp16 kernel, or sgemm on
# fp32 copies where the CPU has none): against PyTorch's matmul / F.linear /
# scaled_dot_product_attention in the same type and the float64 result of
# the rounded operands. Each result element is within the type's rounding
# (2^-8 relative for bf16, 2^-11 for fp16) plus fp32 accumulation of the
# float64 product, as PyTorch's is.
import os

import numpy as np
import torch

from accel_testing import run, workdir


def check(e, dt, eps):
    """The products in type e (MLIR's name), PyTorch's dt, of rounding eps."""
    d = workdir(f"{e}-products")
    rng = np.random.default_rng(3)
    cases = [((8, 16), (16, 4), ""), ((2, 64, 96), (96, 40), ""), ((3, 32, 48), (3, 24, 48), " {transpose_rhs}")]
    for i, (sa, sb, attrs) in enumerate(cases):
        out = list(sa[:-1]) + [sb[-2] if attrs else sb[-1]]
        t = lambda s, e: f"tensor<{'x'.join(map(str, s))}x{e}>"
        src = os.path.join(d, f"case{i}.mlir")
        open(src, "w").write(f"""
    func.func @main(%x: {t(sa, 'f32')} {{accel.input = "x"}}, %w: {t(sb, 'f32')} {{accel.input = "w"}}) -> ({t(out, 'f32')} {{accel.output = "y"}}) {{
      %xb = accel.cast %x : ({t(sa, 'f32')}) -> {t(sa, e)}
      %wb = accel.cast %w : ({t(sb, 'f32')}) -> {t(sb, e)}
      %yb = accel.matmul %xb, %wb{attrs} : ({t(sa, e)}, {t(sb, e)}) -> {t(out, e)}
      %y = accel.cast %yb : ({t(out, e)}) -> {t(out, 'f32')}
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
        xb, wb = torch.from_numpy(x).to(dt), torch.from_numpy(w).to(dt)
        if attrs:
            wb = wb.transpose(-1, -2)
        torch_low = (xb @ wb).double().numpy()
        exact = (xb.double() @ wb.double()).numpy()
        magnitude = (xb.double().abs() @ wb.double().abs()).numpy()
        bound = eps * np.abs(exact) + sa[-1] * 2.0 ** -24 * magnitude
        for who, y in (("accel", got), ("PyTorch", torch_low)):
            worst = float(np.max(np.abs(y - exact) / bound))
            assert worst <= 1.0, f"case {i}: {who}'s {e} product is {worst:.2f}x outside {e} rounding"
        print(f"{e} case {i} {sa} x {sb}{attrs}: max |accel - float64| {np.abs(got - exact).max():.3g}, "
              f"PyTorch {e} {np.abs(torch_low - exact).max():.3g}")

    # A fully connected layer with a bias, the bias added to the fp32 sum
    # before the one rounding to the type (as PyTorch's addmm).
    x = rng.standard_normal((2, 8, 64)).astype(np.float32)
    w = rng.standard_normal((48, 64)).astype(np.float32)
    bias = rng.standard_normal(48).astype(np.float32)
    src = os.path.join(d, "linear.mlir")
    open(src, "w").write(f"""
    func.func @main(%x: tensor<2x8x64xf32> {{accel.input = "x"}}, %w: tensor<48x64xf32> {{accel.input = "w"}},
                    %b: tensor<48xf32> {{accel.input = "b"}}) -> (tensor<2x8x48xf32> {{accel.output = "y"}}) {{
      %xb = accel.cast %x : (tensor<2x8x64xf32>) -> tensor<2x8x64x{e}>
      %wb = accel.cast %w : (tensor<48x64xf32>) -> tensor<48x64x{e}>
      %bb = accel.cast %b : (tensor<48xf32>) -> tensor<48x{e}>
      %yb = accel.linear %xb, %wb, %bb : (tensor<2x8x64x{e}>, tensor<48x64x{e}>, tensor<48x{e}>) -> tensor<2x8x48x{e}>
      %y = accel.cast %yb : (tensor<2x8x48x{e}>) -> tensor<2x8x48xf32>
      return %y : tensor<2x8x48xf32>
    }}
    """)
    for name, value in (("x", x), ("w", w), ("b", bias)):
        np.save(os.path.join(d, f"{name}.npy"), value)
    run(["accel-run", src, "--input", f"x={d}/x.npy", "--input", f"w={d}/w.npy", "--input", f"b={d}/b.npy",
         "--output-dir", os.path.join(d, "linear-out"), "--quiet"])
    got = np.load(os.path.join(d, "linear-out", "y.npy")).astype(np.float64)
    xb, wb, bb = (torch.from_numpy(v).to(dt) for v in (x, w, bias))
    torch_low = torch.nn.functional.linear(xb, wb, bb).double().numpy()
    exact = torch.nn.functional.linear(xb.double(), wb.double(), bb.double()).numpy()
    magnitude = torch.nn.functional.linear(xb.double().abs(), wb.double().abs(), bb.double().abs()).numpy()
    bound = eps * np.abs(exact) + 64 * 2.0 ** -24 * magnitude
    for who, y in (("accel", got), ("PyTorch", torch_low)):
        worst = float(np.max(np.abs(y - exact) / bound))
        assert worst <= 1.0, f"linear: {who}'s {e} layer is {worst:.2f}x outside {e} rounding"
    print(f"{e} linear [2, 8, 64] x [48, 64]^T + bias: max |accel - float64| {np.abs(got - exact).max():.3g}, "
          f"PyTorch {e} {np.abs(torch_low - exact).max():.3g}")

    # The fused LM head in the type (accel.linear_cross_entropy on its input
    # and weight): the loss in fp32 from fp32 logits, the gradients in the
    # type, against the float64 head of the same rounded values. The loss is
    # within fp32 accumulation; each gradient element within its two
    # roundings to the type (the logit gradient's and its own, eps relative
    # each) of its sum of |terms|.
    rows, k, classes = 24, 32, 300
    x = rng.standard_normal((rows, k)).astype(np.float32)
    w = (0.3 * rng.standard_normal((classes, k))).astype(np.float32)
    labels = rng.integers(0, classes, rows).astype(np.int64)
    labels[::5] = -100
    src = os.path.join(d, "head.mlir")
    open(src, "w").write(f"""
    func.func @main(%x: tensor<{rows}x{k}xf32> {{accel.input = "x"}}, %w: tensor<{classes}x{k}xf32> {{accel.input = "w"}},
                    %y: tensor<{rows}xi64> {{accel.input = "y"}})
        -> (tensor<f32> {{accel.output = "loss"}}, tensor<{rows}x{k}xf32> {{accel.output = "dx"}},
            tensor<{classes}x{k}xf32> {{accel.output = "dw"}}) {{
      %xb = accel.cast %x : (tensor<{rows}x{k}xf32>) -> tensor<{rows}x{k}x{e}>
      %wb = accel.cast %w : (tensor<{classes}x{k}xf32>) -> tensor<{classes}x{k}x{e}>
      %loss, %dx, %dw = accel.linear_cross_entropy %xb, %wb, %y : (tensor<{rows}x{k}x{e}>, tensor<{classes}x{k}x{e}>, tensor<{rows}xi64>) -> (tensor<f32>, tensor<{rows}x{k}x{e}>, tensor<{classes}x{k}x{e}>)
      %dxf = accel.cast %dx : (tensor<{rows}x{k}x{e}>) -> tensor<{rows}x{k}xf32>
      %dwf = accel.cast %dw : (tensor<{classes}x{k}x{e}>) -> tensor<{classes}x{k}xf32>
      return %loss, %dxf, %dwf : tensor<f32>, tensor<{rows}x{k}xf32>, tensor<{classes}x{k}xf32>
    }}
    """)
    for name, value in (("x", x), ("w", w), ("y", labels)):
        np.save(os.path.join(d, f"{name}.npy"), value)
    run(["accel-run", src, "--input", f"x={d}/x.npy", "--input", f"w={d}/w.npy", "--input", f"y={d}/y.npy",
         "--output-dir", os.path.join(d, "head-out"), "--quiet"])
    out = {n: np.load(os.path.join(d, "head-out", f"{n}.npy")).astype(np.float64) for n in ("loss", "dx", "dw")}
    xd = torch.from_numpy(x).to(dt).double().requires_grad_()
    wd = torch.from_numpy(w).to(dt).double().requires_grad_()
    loss = torch.nn.functional.cross_entropy(xd @ wd.T, torch.from_numpy(labels))
    loss.backward()
    assert abs(out["loss"] - loss.item()) <= 1e-5 * abs(loss.item()), f"head loss {out['loss']} vs {loss.item()}"
    probs = torch.softmax(xd.detach() @ wd.detach().T, -1)
    counted = int((labels != -100).sum())
    dlogits_size = (probs + torch.nn.functional.one_hot(torch.from_numpy(labels).clamp(min=0), classes)) / counted
    for name, got, exact, size in (("dx", out["dx"], xd.grad, dlogits_size @ wd.detach().abs()),
                                   ("dw", out["dw"], wd.grad, dlogits_size.T @ xd.detach().abs())):
        bound = 2 * eps * size.numpy() + 1e-12
        worst = float(np.max(np.abs(got - exact.numpy()) / bound))
        assert worst <= 1.0, f"head {name}: {worst:.2f}x outside {e} rounding"
        print(f"{e} head {name}: max |accel - float64| {np.abs(got - exact.numpy()).max():.3g}, {worst:.2f} of the bound")
    print(f"{e} head loss: accel {out['loss']:.7f}, float64 {loss.item():.7f}")

    # The head under a loss scale (its cotangent operand, GradScaler's
    # scale): logit gradients of 3000 classes over 64 rows are about 5e-6,
    # below fp16's smallest normal (6.1e-5); scaled by 2^16 before they are
    # rounded they keep fp16's precision. Gradients / scale are measured as
    # above; in fp16 the same head computed for a cotangent of 1 and scaled
    # after (the control) is far outside the bound.
    rows, k, classes, seed = 64, 16, 3000, 2.0 ** 16
    x = rng.standard_normal((rows, k)).astype(np.float32)
    w = (0.3 * rng.standard_normal((classes, k))).astype(np.float32)
    labels = rng.integers(0, classes, rows).astype(np.int64)
    np.save(os.path.join(d, "x.npy"), x)
    np.save(os.path.join(d, "w.npy"), w)
    np.save(os.path.join(d, "y.npy"), labels)
    np.save(os.path.join(d, "s.npy"), np.array(seed, dtype=np.float32))
    xd = torch.from_numpy(x).to(dt).double().requires_grad_()
    wd = torch.from_numpy(w).to(dt).double().requires_grad_()
    torch.nn.functional.cross_entropy(xd @ wd.T, torch.from_numpy(labels)).backward()
    probs = torch.softmax(xd.detach() @ wd.detach().T, -1)
    size = ((probs + torch.nn.functional.one_hot(torch.from_numpy(labels), classes)) / rows).T @ xd.detach().abs()
    bound = 2 * eps * size.numpy() + 1e-12
    worst = {}
    for scaled in (True, False):
        t = lambda s, ty: f"tensor<{'x'.join(map(str, s))}x{ty}>"
        operand = ' cotangent %s' if scaled else ''
        operand_type = ', tensor<f32>' if scaled else ''
        src = os.path.join(d, f"head-scaled-{scaled}.mlir")
        open(src, "w").write(f"""
    func.func @main(%x: {t((rows, k), 'f32')} {{accel.input = "x"}}, %w: {t((classes, k), 'f32')} {{accel.input = "w"}},
                    %y: tensor<{rows}xi64> {{accel.input = "y"}}, %s: tensor<f32> {{accel.input = "s"}})
        -> ({t((classes, k), 'f32')} {{accel.output = "dw"}}) {{
      %xb = accel.cast %x : ({t((rows, k), 'f32')}) -> {t((rows, k), e)}
      %wb = accel.cast %w : ({t((classes, k), 'f32')}) -> {t((classes, k), e)}
      %loss, %dx, %dw = accel.linear_cross_entropy %xb, %wb, %y{operand} : ({t((rows, k), e)}, {t((classes, k), e)}, tensor<{rows}xi64>{operand_type}) -> (tensor<f32>, {t((rows, k), e)}, {t((classes, k), e)})
      %dwf = accel.cast %dw : ({t((classes, k), e)}) -> {t((classes, k), 'f32')}
      %inv = accel.constant dense<{1 / seed if scaled else 1.0}> : tensor<f32>
      %g = accel.mul %dwf, %inv : ({t((classes, k), 'f32')}, tensor<f32>) -> {t((classes, k), 'f32')}
      return %g : {t((classes, k), 'f32')}
    }}
    """)
        run(["accel-run", src, *[a for n in "xwys" for a in ("--input", f"{n}={d}/{n}.npy")],
             "--output-dir", os.path.join(d, f"head-scaled-{scaled}-out"), "--quiet"])
        got = np.load(os.path.join(d, f"head-scaled-{scaled}-out", "dw.npy")).astype(np.float64)
        worst[scaled] = float(np.max(np.abs(got - wd.grad.numpy()) / bound))
    assert worst[True] <= 1.0, f"scaled head dw: {worst[True]:.2f}x outside {e} rounding"
    if e == "f16":
        assert worst[False] > 1.0, "the unscaled fp16 head was within the bound: the case does not underflow"
    print(f"{e} head under a loss scale of 2^16, 3000 classes: dw {worst[True]:.2f} of the bound "
          f"(computed for a cotangent of 1: {worst[False]:.2f})")


def check_attention(e, dt, eps):
    """accel.attention on q, k, v in type e: causal, with an f32 additive
    mask (keys padded out) and with a bool mask. Each element is within two
    roundings of the float64 attention of the rounded operands: P rounded to
    the type for P V (eps of sum |P V|) and the result's (eps of |O|), plus
    fp32 scores and softmax (2^-20 of sum |P V|)."""
    d = workdir(f"{e}-attention")
    rng = np.random.default_rng(5)
    b, h, sq, sk, dim = 2, 3, 40, 40, 16
    shape = lambda *s: "x".join(map(str, s))
    padding = lambda: np.where(rng.random((b, 1, 1, sk)) < 0.2, -np.inf, 0.0).astype(np.float32)
    cases = [("causal", "{causal}", None),
             ("f32 mask", "", padding()),
             (f"{e} mask", "", padding()),  # a low-precision export's mask, cast in the IR
             ("bool mask", "", rng.random((b, 1, sq, sk)) < 0.8)]
    for i, (name, attrs, mask) in enumerate(cases):
        if mask is not None:
            mask[..., 0] = True if mask.dtype == bool else 0.0  # a key every row sees
        stored = None if mask is None else "i1" if mask.dtype == bool else "f32"
        mask_type = None if mask is None else f"tensor<{shape(*mask.shape)}x{stored}>"
        qkv = f"tensor<{shape(b, h, sq, dim)}x{e}>"
        qkv32 = f"tensor<{shape(b, h, sq, dim)}xf32>"
        mask_arg = "" if mask is None else f', %m: {mask_type} {{accel.input = "m"}}'
        mask_use = "" if mask is None else ", %m"
        mask_sig = "" if mask is None else f", {mask_type}"
        cast_mask = ""
        if name == f"{e} mask":
            low_mask = f"tensor<{shape(*mask.shape)}x{e}>"
            cast_mask = f"%ml = accel.cast %m : ({mask_type}) -> {low_mask}"
            mask_use, mask_sig = ", %ml", f", {low_mask}"
        src = os.path.join(d, f"case{i}.mlir")
        open(src, "w").write(f"""
    func.func @main(%q: {qkv32} {{accel.input = "q"}}, %k: {qkv32} {{accel.input = "k"}}, %v: {qkv32} {{accel.input = "v"}}{mask_arg}) -> ({qkv32} {{accel.output = "o"}}) {{
      %qb = accel.cast %q : ({qkv32}) -> {qkv}
      %kb = accel.cast %k : ({qkv32}) -> {qkv}
      %vb = accel.cast %v : ({qkv32}) -> {qkv}
      {cast_mask}
      %ob = accel.attention %qb, %kb, %vb{mask_use} {attrs} : ({qkv}, {qkv}, {qkv}{mask_sig}) -> {qkv}
      %o = accel.cast %ob : ({qkv}) -> {qkv32}
      return %o : {qkv32}
    }}
    """)
        inputs = {n: (2 * rng.standard_normal((b, h, sq, dim))).astype(np.float32) for n in "qkv"}
        if mask is not None:
            inputs["m"] = mask
        args = []
        for n, value in inputs.items():
            np.save(os.path.join(d, f"{n}.npy"), value)
            args += ["--input", f"{n}={d}/{n}.npy"]
        run(["accel-run", src, *args, "--output-dir", os.path.join(d, f"out{i}"), "--quiet"])
        got = np.load(os.path.join(d, f"out{i}", "o.npy")).astype(np.float64)
        q, k, v = (torch.from_numpy(inputs[n]).to(dt) for n in "qkv")
        torch_mask = None if mask is None else torch.from_numpy(mask)
        sdpa = torch.nn.functional.scaled_dot_product_attention
        torch_low = sdpa(q, k, v, attn_mask=torch_mask, is_causal=mask is None).double().numpy()
        qd, kd, vd = q.double(), k.double(), v.double()
        exact = sdpa(qd, kd, vd, attn_mask=None if mask is None else torch_mask if mask.dtype == bool
                     else torch_mask.double(), is_causal=mask is None)
        p_abs_v = sdpa(qd, kd, vd.abs(), attn_mask=None if mask is None else torch_mask if mask.dtype == bool
                       else torch_mask.double(), is_causal=mask is None).numpy()
        exact = exact.numpy()
        bound = eps * np.abs(exact) + (eps + 2.0 ** -20) * p_abs_v
        worst = float(np.max(np.abs(got - exact) / bound))
        assert worst <= 1.0, f"attention ({name}): accel's {e} result is {worst:.2f}x outside {e} rounding"
        torch_worst = float(np.max(np.abs(torch_low - exact) / bound))
        print(f"{e} attention ({name}) {[b, h, sq, dim]}: max |accel - float64| {np.abs(got - exact).max():.3g} "
              f"({worst:.2f} of the bound), PyTorch {e} {np.abs(torch_low - exact).max():.3g} ({torch_worst:.2f})")


for e, dt, eps in (("bf16", torch.bfloat16, 2.0 ** -8), ("f16", torch.float16, 2.0 ** -11)):
    check(e, dt, eps)
    check_attention(e, dt, eps)
