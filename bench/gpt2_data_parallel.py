"""Data parallelism on two ranks, measured in one run: accel
(accel-opt --accel-shard="dp=2", run by accel-run --nproc-per-node 2)
against Hugging Face Accelerate's DDP on Gloo (torchrun --nproc_per_node 2
with Accelerator(cpu=True)); and accel's ZeRO-3 (--accel-shard="dp=2
zero=3") against PyTorch's FSDP2 (fully_shard on each transformer block
and the root, what Accelerate's FSDP plugin wraps with: Accelerate itself
will not run FSDP on CPU, it falls back to DDP with cpu=True and to one
process without).

    .venv/bin/python bench/gpt2_data_parallel.py [--layers 6 --hidden 384
        --heads 6 --vocab 50257 --seq 256 --batch 8 --steps 4]

Same model (a GPT-2-small-shaped Hugging Face model), same global batch
(--batch, split in two), one thread per rank, fp32 forward, mean
cross-entropy, backward, gradient all-reduce, clip_grad_norm_(1.0), AdamW.
Step time is rank 0's median over --steps steps after two warm-up steps;
peak memory is the largest rank's peak RSS. Ratios are against accel: speed
= peer time / accel time (above 1: accel is faster), memory = accel peak /
peer peak (below 1: accel uses less). The peer's rank count is checked
(`accelerate launch --cpu` alone starts one process).
"""
import argparse
import json
import os
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
RANKS = 2


# Runs a command and prints the largest peak RSS (KiB) among the processes
# it waited for: its ranks, and nothing else.
PEAK_WRAPPER = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
                "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(rc)")


def run_with_peak(cmd, env=None):
    """Runs cmd (and the ranks it starts) under a fresh wrapper; returns
    stdout, stderr and the largest peak RSS (MiB) of its processes."""
    proc = subprocess.run([sys.executable, "-c", PEAK_WRAPPER, *cmd], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:3])} ... failed:\n{proc.stderr[-3000:]}")
    err = proc.stderr.rstrip().splitlines()
    return proc.stdout, "\n".join(err[:-1]), int(err[-1]) / 1024


def peer_worker(args):
    """One rank under torchrun: Accelerate's DDP loop (--peer ddp) or
    PyTorch's FSDP2 (--peer fsdp); rank 0 prints JSON."""
    import torch
    import torch.distributed as dist
    torch.set_num_threads(1)
    from export import build_model
    model = build_model(argparse.Namespace(seed=0, vocab=args.vocab, seq=args.seq, hidden=args.hidden,
                                           layers=args.layers, heads=args.heads), perturb=False).train()
    if args.peer == "ddp":
        from accelerate import Accelerator
        accelerator = Accelerator(cpu=True)
        ranks, rank, backend = accelerator.num_processes, accelerator.process_index, str(accelerator.state.backend)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
        model, optimizer = accelerator.prepare(model, optimizer)
        backward, clip = accelerator.backward, accelerator.clip_grad_norm_
    else:
        from torch.distributed.fsdp import fully_shard
        dist.init_process_group("gloo")
        ranks, rank, backend = dist.get_world_size(), dist.get_rank(), dist.get_backend()
        for block in model.transformer.h:
            fully_shard(block)
        fully_shard(model)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
        backward, clip = (lambda loss: loss.backward()), torch.nn.utils.clip_grad_norm_
    assert ranks == RANKS, f"the peer runs {ranks} processes"
    tokens = np.fromfile(args.tokens, dtype=np.uint16).astype(np.int64)
    local = args.batch // RANKS
    times = []
    for step in range(WARMUP + args.steps):
        start = (step * args.batch * args.seq) % (len(tokens) - args.batch * args.seq - 1)
        start += rank * local * args.seq
        window = torch.from_numpy(tokens[start:start + local * args.seq + 1])
        x, y = window[:-1].view(local, args.seq), window[1:].view(local, args.seq)
        t = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten())
        backward(loss)
        clip(model.parameters(), 1.0)
        optimizer.step()
        times.append(time.perf_counter() - t)
    if rank == 0:
        print(json.dumps({"step_seconds": statistics.median(times[WARMUP:]), "ranks": ranks, "backend": backend}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_args(p)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--peer", choices=["ddp", "fsdp"], help=argparse.SUPPRESS)
    p.add_argument("--tokens", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return peer_worker(args)
    if args.batch % RANKS:
        sys.exit(f"--batch {args.batch} does not split over {RANKS} ranks")

    d = tempfile.mkdtemp(prefix="accel-bench-dp-")
    subprocess.run([sys.executable, os.path.join(root, "examples", "gpt2", "export.py"), "--out-dir", d,
                    "--no-optimize"] + export_args(args), check=True, capture_output=True)
    tokens = os.path.join(d, "tokens.bin")
    np.random.default_rng(0).integers(0, args.vocab, 64 * args.batch * args.seq + 1).astype(np.uint16).tofile(tokens)
    tool = lambda name: os.path.join(args.bin, name)  # noqa: E731
    results = {}

    mlir, train = (os.path.join(d, n) for n in ("gpt2.mlir", "train.mlir"))
    subprocess.run([tool("accel-translate"), "--import-onnx", os.path.join(d, "gpt2.onnx"), "-o", mlir], check=True)
    subprocess.run([tool("accel-opt"), mlir, "-o", train, "--accel-make-train-step=loss=cross-entropy "
                    "optimizer=adamw lr=1e-4 weight-decay=0.01 clip-norm=1.0"], check=True)

    def accel(layout, name):
        sharded, accx = os.path.join(d, f"train-{name}.mlir"), os.path.join(d, f"train-{name}.accx")
        subprocess.run([tool("accel-opt"), train, f"--accel-shard={layout}", "-o", sharded], check=True)
        subprocess.run([tool("accel-translate"), "--mlir-to-executable", sharded, "-o", accx], check=True)
        log = os.path.join(d, f"log-{name}.jsonl")
        _, _, peak = run_with_peak([tool("accel-run"), accx, "--nproc-per-node", str(RANKS), "--num-threads", "1",
                                    "--weights", os.path.join(d, "gpt2.safetensors"), "--data", tokens,
                                    "--steps", str(WARMUP + args.steps), "--log-file", log])
        steps = [json.loads(line)["step_seconds"] for line in open(log) if "step_seconds" in line][WARMUP:]
        return statistics.median(steps), peak

    def peer(kind):
        env = dict(os.environ, OMP_NUM_THREADS="1")
        out, _, peak = run_with_peak([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(RANKS),
                                      "--master_port", "29731", os.path.abspath(__file__), "--worker", "--peer", kind,
                                      "--tokens", tokens, "--steps", str(args.steps)] + export_args(args), env=env)
        report = json.loads(out.strip().splitlines()[-1])
        assert report["ranks"] == RANKS
        return report, (report["step_seconds"], peak)

    pairs = []
    results["accel dp=2"] = accel(f"dp={RANKS}", "dp2")
    report, results["Accelerate DDP"] = peer("ddp")
    pairs.append(("accel dp=2", "Accelerate DDP", report["backend"]))
    results["accel dp=2 zero=3"] = accel(f"dp={RANKS} zero=3", "zero3")
    report, results["PyTorch FSDP2"] = peer("fsdp")
    pairs.append(("accel dp=2 zero=3", "PyTorch FSDP2", report["backend"]))

    tokens_per_step = args.batch * args.seq
    print(f"GPT-2 data parallel: {args.layers} layers x {args.hidden} hidden, vocab {args.vocab}, global batch "
          f"{args.batch} x seq {args.seq}, {RANKS} ranks x 1 thread, fp32, AdamW + clipping")
    print(f"{'':28}{'ms/step':>10}{'tokens/s':>10}{'peak MiB/rank':>15}{'speed vs accel':>16}{'memory vs accel':>17}")
    for ours, theirs, backend in pairs:
        base = results[ours]
        for name in (ours, theirs):
            seconds, mib = results[name]
            label = name if name == ours else f"{name} ({backend})"
            print(f"{label:28}{seconds * 1000:10.0f}{tokens_per_step / seconds:10.0f}{mib:15.0f}"
                  f"{seconds / base[0]:>15.2f}x{base[1] / mib:>16.2f}x")


if __name__ == "__main__":
    main()
