"""Forward pass of a GPT-2-small-shaped model: accel vs onnxruntime vs PyTorch eager,
and with the weights in bf16: accel (accel-store-weights) vs PyTorch's model.to(bfloat16).

    .venv/bin/python bench/gpt2_forward.py [--layers 6 --hidden 384 --heads 6
        --vocab 50257 --seq 256 --batch 8 --threads 2 --repeat 5]

All three run the same exported model on the same batch with the same thread
count, one after the other in this run; each is timed in steady state (after
a warm-up run, excluding load and compilation) and the median of `--repeat`
runs is reported, with ratios against accel. Outputs are checked to agree.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, "examples", "gpt2"))
sys.path.insert(0, os.path.join(root, "bench"))
from gpt2_shapes import add_model_args, export_args  # noqa: E402


def median_seconds(run, repeat):
    """The median wall time of `repeat` calls of `run` (after a warm-up call
    made by the caller)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_args(p)
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()

    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import onnxruntime as ort
    import torch
    torch.set_num_threads(args.threads)

    d = tempfile.mkdtemp(prefix="accel-bench-")
    subprocess.run([sys.executable, os.path.join(root, "examples", "gpt2", "export.py"), "--out-dir", d]
                   + export_args(args), check=True, capture_output=True)
    onnx_path = os.path.join(d, "gpt2.onnx")
    ids = np.load(os.path.join(d, "input_ids.npy"))
    results = {}

    # accel: compile once, then time the runs inside accel-run; fp32
    # weights, and the weights stored in bf16 (accel-store-weights, what
    # accel-run --weights-dtype bf16 does).
    mlir = os.path.join(d, "gpt2.mlir")
    subprocess.run([os.path.join(args.bin, "accel-translate"), "--import-onnx", onnx_path, "-o", mlir], check=True)
    rss, logits = {}, {}

    def time_accel(name, model_mlir):
        accx = os.path.join(d, f"{name}.accx")
        subprocess.run([os.path.join(args.bin, "accel-translate"), "--mlir-to-executable", model_mlir, "-o", accx],
                       check=True)
        out = os.path.join(d, name)
        times = []
        for _ in range(args.repeat):
            proc = subprocess.run([os.path.join(args.bin, "accel-run"), accx, "--weights",
                                   os.path.join(d, "gpt2.safetensors"), "--input",
                                   f"input_ids={os.path.join(d, 'input_ids.npy')}", "--num-threads",
                                   str(args.threads), "--warmup", "1", "--repeat", "2", "--output-dir", out],
                                  check=True, capture_output=True, text=True)
            m = re.search(r"run ([0-9.]+) ms/iteration.*peak RSS ([0-9.]+) MiB", proc.stderr)
            times.append(float(m.group(1)) / 1000)
            rss[name] = float(m.group(2))
        results[name] = statistics.median(times)
        logits[name] = np.load(os.path.join(out, "logits.npy"))

    time_accel("accel", mlir)
    stored = os.path.join(d, "gpt2-bf16.mlir")
    subprocess.run([os.path.join(args.bin, "accel-opt"), mlir, "--accel-store-weights=dtype=bf16", "-o", stored],
                   check=True)
    time_accel("accel bf16", stored)
    accel_logits = logits["accel"]

    # onnxruntime with all its graph optimizations, same thread count.
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    ort_logits = sess.run(None, {"input_ids": ids})[0]
    results["onnxruntime"] = median_seconds(lambda: sess.run(None, {"input_ids": ids}), args.repeat)

    # PyTorch eager on the same weights.
    from export import build_model
    model = build_model(argparse.Namespace(seed=0, vocab=args.vocab, seq=args.seq, hidden=args.hidden,
                                           layers=args.layers, heads=args.heads))
    tids = torch.from_numpy(ids)
    with torch.no_grad():
        torch_logits = model(tids).numpy()
        results["pytorch eager"] = median_seconds(lambda: model(tids), args.repeat)
        # PyTorch's bf16 inference: the model in bf16 (model.to(torch.bfloat16)).
        low = model.to(torch.bfloat16)
        torch_bf16_logits = low(tids).float().numpy()
        results["pytorch bf16"] = median_seconds(lambda: low(tids), args.repeat)

    scale = float(np.abs(torch_logits).max())
    for name, other in [("onnxruntime", ort_logits), ("pytorch", torch_logits)]:
        err = float(np.abs(accel_logits - other).max())
        assert err <= 1e-4 * scale, f"accel and {name} disagree: {err}"

    tokens = args.batch * args.seq
    print(f"GPT-2 forward, {args.layers} layers x {args.hidden} hidden, {args.heads} heads, vocab {args.vocab}, "
          f"batch {args.batch} x seq {args.seq}, {args.threads} threads (median of {args.repeat})")
    print(f"{'':14s} {'ms':>9s} {'tokens/s':>10s} {'accel speedup':>14s}")
    for name, t in results.items():
        print(f"{name:14s} {t * 1000:9.1f} {tokens / t:10.0f} {t / results['accel']:13.2f}x")
    print(f"accel peak RSS: fp32 weights {rss['accel']:.0f} MiB, bf16 weights {rss['accel bf16']:.0f} MiB; "
          f"fp32 outputs agree within 1e-4 relative")
    for name, other in [("accel bf16", logits["accel bf16"]), ("pytorch bf16", torch_bf16_logits)]:
        print(f"{name}: logits' largest deviation from PyTorch fp32 {np.abs(other - torch_logits).max():.3e} "
              f"(logits up to {scale:.1f})")


if __name__ == "__main__":
    main()
