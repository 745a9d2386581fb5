"""The backward pass of scaled dot-product attention alone: accel's fused
`attention_grad` against the decomposed graph accel's gradient rule built
before it (P from Q K^T and softmax, dV = P^T G, dP = G V^T,
dS = P (dP - rowsum(dP P)) scale, dQ = dS K, dK = dS^T Q as separate ops,
P, dP and dS each a [B, H, S, S] tensor) and PyTorch's CPU
scaled_dot_product_attention backward, measured in one run.

    .venv/bin/python bench/attention_backward.py [--batch 8 --heads 6
        --seq 256,1024 --dim 64 --threads 2 --repeat 10]

For each sequence length the batch is scaled so that batch x seq stays
--batch x the first length (the same tokens per step). accel runs each
function with `accel-run --repeat`; its arena is the planned memory of the
function's intermediates and results. PyTorch times `out.backward(g)` of
SDPA in fp32 (its flash-attention CPU kernel) and reports the peak RSS
growth of the backward pass. Causal attention for the fused op and PyTorch;
the decomposed graph is unmasked (a causal mask would be a [S, S] constant
in its text), so its row is compared with the unmasked fused op.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fused(t, causal):
    attrs = " {causal}" if causal else ""
    return f"""
func.func @main(%q: {t} {{accel.input = "q"}}, %k: {t} {{accel.input = "k"}}, %v: {t} {{accel.input = "v"}},
                %g: {t} {{accel.input = "g"}}) -> ({t} {{accel.output = "dq"}}, {t} {{accel.output = "dk"}},
                                                 {t} {{accel.output = "dv"}}) {{
  %dq, %dk, %dv = accel.attention_grad %q, %k, %v, %g{attrs} : ({t}, {t}, {t}, {t}) -> ({t}, {t}, {t})
  return %dq, %dk, %dv : {t}, {t}, {t}
}}
"""


def decomposed(t, s, kept, scale):
    """The ops of accel's former attention gradient rule (unmasked)."""
    return f"""
func.func @main(%q: {t} {{accel.input = "q"}}, %k: {t} {{accel.input = "k"}}, %v: {t} {{accel.input = "v"}},
                %g: {t} {{accel.input = "g"}}) -> ({t} {{accel.output = "dq"}}, {t} {{accel.output = "dk"}},
                                                 {t} {{accel.output = "dv"}}) {{
  %c = accel.constant dense<{scale:.9e}> : tensor<f32>
  %s0 = accel.matmul %q, %k {{transpose_rhs}} : ({t}, {t}) -> {s}
  %s = accel.mul %s0, %c : ({s}, tensor<f32>) -> {s}
  %p = accel.softmax %s {{axis = 3 : i64}} : ({s}) -> {s}
  %dv = accel.matmul %p, %g {{transpose_lhs}} : ({s}, {t}) -> {t}
  %dp = accel.matmul %g, %v {{transpose_rhs}} : ({t}, {t}) -> {s}
  %dpp = accel.mul %dp, %p : ({s}, {s}) -> {s}
  %dot = accel.reduce_sum %dpp {{axes = array<i64: 3>, keep_dims}} : ({s}) -> {kept}
  %diff = accel.sub %dp, %dot : ({s}, {kept}) -> {s}
  %ds0 = accel.mul %p, %diff : ({s}, {s}) -> {s}
  %ds = accel.mul %ds0, %c : ({s}, tensor<f32>) -> {s}
  %dq = accel.matmul %ds, %k : ({s}, {t}) -> {t}
  %dk = accel.matmul %ds, %q {{transpose_lhs}} : ({s}, {t}) -> {t}
  return %dq, %dk, %dv : {t}, {t}, {t}
}}
"""


def run_accel(args, d, name, text, inputs):
    src = os.path.join(d, f"{name}.mlir")
    open(src, "w").write(text)
    cmd = [os.path.join(args.bin, "accel-run"), src, "--repeat", str(args.repeat), "--warmup", "2",
           "--num-threads", str(args.threads), "--output-dir", os.path.join(d, name)]
    for n in inputs:
        cmd += ["--input", f"{n}={os.path.join(d, n + '.npy')}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"accel-run failed on {src}:\n{proc.stderr[-3000:]}")
    err = proc.stderr
    ms = float(re.search(r"run ([0-9.]+) ms/iteration", err).group(1))
    arena = float(re.search(r"arena ([0-9.]+) MiB", err).group(1))
    outputs = {n: np.load(os.path.join(d, name, f"{n}.npy")) for n in ("dq", "dk", "dv")}
    return ms, arena, outputs


def torch_worker(args):
    """In a child process: SDPA's backward, printing JSON."""
    import time
    import torch
    torch.set_num_threads(args.threads)
    d, causal = args.worker_dir, args.worker_causal == "1"
    q, k, v, g = (torch.from_numpy(np.load(os.path.join(d, f"{n}.npy"))) for n in "qkvg")
    q.requires_grad_(), k.requires_grad_(), v.requires_grad_()

    def rss_mib():
        return int(re.search(r"VmRSS:\s+(\d+)", open("/proc/self/status").read()).group(1)) / 1024

    times, grown = [], 0.0
    for i in range(2 + args.repeat):
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        before = rss_mib()
        t = time.perf_counter()
        grads = torch.autograd.grad(out, (q, k, v), g)
        if i >= 2:
            times.append(time.perf_counter() - t)
        grown = max(grown, rss_mib() - before)
        del grads
    np.save(os.path.join(d, f"torch_dq_{int(causal)}.npy"), torch.autograd.grad(
        torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal), (q,), g)[0].numpy())
    print(json.dumps({"ms": 1000 * sorted(times)[len(times) // 2], "rss_growth_mib": grown}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--heads", type=int, default=6)
    p.add_argument("--seq", default="256,1024")
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    p.add_argument("--worker-dir", help=argparse.SUPPRESS)
    p.add_argument("--worker-causal", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker_dir:
        return torch_worker(args)
    lengths = [int(s) for s in args.seq.split(",")]
    tokens = args.batch * lengths[0]
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"attention backward, fp32, {args.heads} heads x {args.dim}, {tokens} tokens per run, "
          f"{args.threads} threads, {cpu}")
    print(f"{'':34}{'ms':>9}{'MiB':>9}{'vs fused':>10}   max |dq - fused dq|")
    rng = np.random.default_rng(0)
    for seq in lengths:
        batch = max(1, tokens // seq)
        shape = (batch, args.heads, seq, args.dim)
        t = "tensor<" + "x".join(map(str, shape)) + "xf32>"
        s = "tensor<" + "x".join(map(str, shape[:3] + (seq,))) + "xf32>"
        kept = "tensor<" + "x".join(map(str, shape[:3] + (1,))) + "xf32>"
        with tempfile.TemporaryDirectory(prefix="accel-bench-attention-") as d:
            for n in "qkvg":
                np.save(os.path.join(d, f"{n}.npy"), rng.standard_normal(shape).astype(np.float32))
            rows = {}
            for causal in (False, True):
                rows[f"accel fused{' causal' if causal else ''}"] = run_accel(
                    args, d, f"fused{int(causal)}", fused(t, causal), "qkvg")
                out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker-dir", d,
                                      "--worker-causal", str(int(causal)), "--threads", str(args.threads),
                                      "--repeat", str(args.repeat)],
                                     check=True, capture_output=True, text=True,
                                     env=dict(os.environ, OMP_NUM_THREADS=str(args.threads))).stdout
                r = json.loads(out)
                rows[f"PyTorch SDPA{' causal' if causal else ''}"] = (
                    r["ms"], r["rss_growth_mib"], {"dq": np.load(os.path.join(d, f"torch_dq_{int(causal)}.npy"))})
            rows["accel decomposed (former rule)"] = run_accel(
                args, d, "decomposed", decomposed(t, s, kept, 1 / np.sqrt(args.dim)), "qkvg")
            print(f"[{batch}, {args.heads}, {seq}, {args.dim}]")
            for name, (ms, mib, outs) in rows.items():
                ref_name = "accel fused causal" if "causal" in name else "accel fused"
                ref_ms, _, ref = rows[ref_name]
                err = np.abs(outs["dq"] - ref["dq"]).max()
                print(f"  {name:32}{ms:9.1f}{mib:9.1f}{ms / ref_ms:9.2f}x   {err:.2e}")
    print("MiB: accel's planned arena (results and intermediates); PyTorch's RSS growth during backward")


if __name__ == "__main__":
    main()
