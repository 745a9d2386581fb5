"""Forward pass of a GPT-2-small-shaped model: accel vs onnxruntime vs PyTorch eager.

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

    # accel: compile once, then time the runs inside accel-run.
    mlir = os.path.join(d, "gpt2.mlir")
    subprocess.run([os.path.join(args.bin, "accel-translate"), "--import-onnx", onnx_path, "-o", mlir], check=True)
    accx = os.path.join(d, "gpt2.accx")
    subprocess.run([os.path.join(args.bin, "accel-translate"), "--mlir-to-executable", mlir, "-o", accx], check=True)
    times = []
    for _ in range(args.repeat):
        proc = subprocess.run([os.path.join(args.bin, "accel-run"), accx, "--weights", os.path.join(d, "gpt2.safetensors"),
                               "--input", f"input_ids={os.path.join(d, 'input_ids.npy')}", "--num-threads",
                               str(args.threads), "--warmup", "1", "--repeat", "2", "--output-dir", os.path.join(d, "accel")],
                              check=True, capture_output=True, text=True)
        m = re.search(r"run ([0-9.]+) ms/iteration.*peak RSS ([0-9.]+) MiB", proc.stderr)
        times.append(float(m.group(1)) / 1000)
        rss = float(m.group(2))
    results["accel"] = statistics.median(times)
    accel_logits = np.load(os.path.join(d, "accel", "logits.npy"))

    # onnxruntime with all its graph optimizations, same thread count.
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    ort_logits = sess.run(None, {"input_ids": ids})[0]
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        sess.run(None, {"input_ids": ids})
        times.append(time.perf_counter() - t)
    results["onnxruntime"] = statistics.median(times)

    # PyTorch eager on the same weights.
    from export import build_model
    model = build_model(argparse.Namespace(seed=0, vocab=args.vocab, seq=args.seq, hidden=args.hidden,
                                           layers=args.layers, heads=args.heads))
    tids = torch.from_numpy(ids)
    with torch.no_grad():
        torch_logits = model(tids).numpy()
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            model(tids)
            times.append(time.perf_counter() - t)
    results["pytorch eager"] = statistics.median(times)

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
    print(f"accel peak RSS {rss:.0f} MiB; outputs agree within 1e-4 relative")


if __name__ == "__main__":
    main()
