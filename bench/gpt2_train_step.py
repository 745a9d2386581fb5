"""One training step of a GPT-2-small-shaped model: accel vs PyTorch eager vs
torch.compile (inductor), measured in one run.

    .venv/bin/python bench/gpt2_train_step.py [--layers 6 --hidden 384
        --heads 6 --vocab 50257 --seq 256 --batch 8 --threads 2 --steps 6
        --precision fp32|bf16 --recompute none,full,selective]

The step is the same everywhere: forward, mean cross-entropy, backward,
clip_grad_norm_(1.0), AdamW (weight decay 0.01), on batches of token
windows; in fp32, or with `--precision bf16` accel's mixed-precision=bf16
against accel in fp32 and PyTorch under torch.autocast("cpu", bfloat16)
(ratios then against accel bf16). `--recompute` adds accel runs with
activation recomputation (recompute=full, selective), reported with their
planned arena beside the step time and peak. Each contender runs in its own process (so peak memory is its
own, as it reports it): accel-run's training loop on the step accel-make-train-step compiled;
a PyTorch loop over the same Hugging Face model, eager and under
torch.compile. Step time is the median over `--steps` steps after two
warm-up steps (compilation excluded); peak memory is the process's peak RSS.
Ratios are against accel: speed = peer time / accel time (above 1: accel is
faster), memory = accel peak / peer peak (below 1: accel uses less).
"""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, "examples", "gpt2"))
sys.path.insert(0, os.path.join(root, "bench"))
from gpt2_shapes import add_model_args, export_args  # noqa: E402
WARMUP = 2


def run_measured(cmd, env=None):
    """Runs cmd to completion; returns (stdout, stderr)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out, err = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed:\n{err[-3000:]}")
    return out, err


def torch_worker(args):
    """Runs in a child process: the PyTorch loop, printing JSON."""
    import torch
    torch.set_num_threads(args.threads)
    from export import build_model
    model = build_model(argparse.Namespace(seed=0, vocab=args.vocab, seq=args.seq, hidden=args.hidden,
                                           layers=args.layers, heads=args.heads), perturb=False).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    forward = torch.compile(model) if args.worker == "compile" else model
    tokens = np.fromfile(args.tokens, dtype=np.uint16).astype(np.int64)
    times = []
    for step in range(WARMUP + args.steps):
        start = (step * args.batch * args.seq) % (len(tokens) - args.batch * args.seq - 1)
        window = torch.from_numpy(tokens[start:start + args.batch * args.seq + 1])
        x, y = window[:-1].view(args.batch, args.seq), window[1:].view(args.batch, args.seq)
        t = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            logits = forward(x)
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        times.append(time.perf_counter() - t)
    print(json.dumps({"step_seconds": statistics.median(times[WARMUP:]), "loss": loss.item(),
                      "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_args(p)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--recompute", default="none",
                   help="comma-separated accel recompute= modes to run (none, full, selective)")
    p.add_argument("--only", choices=["accel", "eager", "compile"], action="append")
    p.add_argument("--worker", choices=["eager", "compile"], help=argparse.SUPPRESS)
    p.add_argument("--tokens", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return torch_worker(args)
    contenders = args.only or ["accel", "eager", "compile"]

    d = tempfile.mkdtemp(prefix="accel-bench-train-")
    shape = export_args(args)
    subprocess.run([sys.executable, os.path.join(root, "examples", "gpt2", "export.py"), "--out-dir", d,
                    "--no-optimize"] + shape, check=True, capture_output=True)
    rng = np.random.default_rng(0)
    tokens = os.path.join(d, "tokens.bin")
    rng.integers(0, args.vocab, 64 * args.batch * args.seq + 1).astype(np.uint16).tofile(tokens)
    results, arenas = {}, {}

    if "accel" in contenders:
        mlir = os.path.join(d, "gpt2.mlir")
        subprocess.run([os.path.join(args.bin, "accel-translate"), "--import-onnx", os.path.join(d, "gpt2.onnx"),
                        "-o", mlir], check=True)
        modes = args.recompute.split(",")
        for precision in (["bf16", "fp32"] if args.precision == "bf16" else ["fp32"]):
            for mode in (modes if precision == args.precision else ["none"]):
                name = f"{precision}-{mode}"
                train, accx = os.path.join(d, f"train-{name}.mlir"), os.path.join(d, f"train-{name}.accx")
                subprocess.run([os.path.join(args.bin, "accel-opt"), mlir, "-o", train,
                                "--accel-make-train-step=loss=cross-entropy optimizer=adamw lr=1e-4 weight-decay=0.01 "
                                f"clip-norm=1.0 recompute={mode}"
                                f"{' mixed-precision=bf16' if precision == 'bf16' else ''}"], check=True)
                subprocess.run([os.path.join(args.bin, "accel-translate"), "--mlir-to-executable", train, "-o", accx],
                               check=True)
                log = os.path.join(d, f"log-{name}.jsonl")
                run_args = [os.path.join(args.bin, "accel-run"), accx, "--weights",
                            os.path.join(d, "gpt2.safetensors"), "--data", tokens, "--num-threads", str(args.threads)]
                _, err = run_measured(run_args + ["--steps", str(WARMUP + args.steps), "--log-file", log])
                records = [json.loads(line) for line in open(log)]
                steps = [r["step_seconds"] for r in records if "step_seconds" in r][WARMUP:]
                peak = float(re.search(r"peak RSS ([0-9.]+) MiB", err).group(1))
                label = "accel" if args.precision == "fp32" else f"accel {precision}"
                if mode != "none":
                    label += f" {mode}"
                results[label] = (statistics.median(steps), peak)
                arenas[label] = next(r["memory_per_rank"]["arena"] for r in records if "memory_per_rank" in r)
                if precision == "bf16" and mode == "none":  # oneDNN's kernels, from a step of its own
                    out, _ = run_measured(run_args + ["--steps", "1", "--log-file", os.devnull],
                                          env=dict(os.environ, ONEDNN_VERBOSE="1"))
                    isa = sorted(set(re.findall(r"onednn_verbose,exec,cpu,matmul,([^,]+),", out)))
                    print(f"oneDNN bf16 matmul kernels: {', '.join(isa) or 'none seen'}")

    for name in ["eager", "compile"]:
        if name not in contenders:
            continue
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        out, _ = run_measured([sys.executable, os.path.abspath(__file__), "--worker", name, "--tokens", tokens]
                              + shape + ["--threads", str(args.threads), "--steps", str(args.steps),
                                         "--precision", args.precision], env=env)
        label = "PyTorch eager" if name == "eager" else "torch.compile"
        if args.precision == "bf16":
            label += " bf16"
        report = json.loads(out.strip().splitlines()[-1])
        results[label] = (report["step_seconds"], report["peak_mib"])

    tokens_per_step = args.batch * args.seq
    print(f"GPT-2 train step: {args.layers} layers x {args.hidden} hidden, vocab {args.vocab}, batch {args.batch} x "
          f"seq {args.seq}, {args.precision}, AdamW + clipping, {args.threads} threads")
    base = results.get("accel" if args.precision == "fp32" else "accel bf16")
    print(f"{'':20}{'ms/step':>10}{'tokens/s':>10}{'peak MiB':>10}{'speed vs accel':>16}{'memory vs accel':>17}")
    for name, (seconds, mib) in results.items():
        speed = f"{seconds / base[0]:.2f}x" if base else "-"
        memory = f"{base[1] / mib:.2f}x" if base else "-"
        arena = f"   arena {arenas[name] / 2**20:.0f} MiB" if name in arenas else ""
        print(f"{name:20}{seconds * 1000:10.0f}{tokens_per_step / seconds:10.0f}{mib:10.0f}{speed:>16}{memory:>17}"
              f"{arena}")


if __name__ == "__main__":
    main()
