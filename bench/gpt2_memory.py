"""The memory of a GPT-2-small-shaped training step per option, and the
largest batch that fits a memory budget, from accel's memory estimate.

    .venv/bin/python bench/gpt2_memory.py [--budget-gib 8 --batches 8,16,32,64
        --layers 6 --hidden 384 --heads 6 --vocab 50257 --seq 256]

For each option (fp32 and bf16, recompute none / selective / full) the step
is compiled at each batch size of --batches and accel-estimate-memory
predicts what the runtime allocates (parameters, optimizer state, arena;
the estimate matches accel-run's measured memory_per_rank within 1%,
test/e2e/memory_estimate.py) plus the largest kernel workspace outside the
arena. Memory is piecewise linear in the batch (activations and
temporaries grow with it, parameters and state do not; the peak can move,
as with full recomputation, where it sits among the gradients at the end
of the backward pass at small batches), so the largest batch within
--budget-gib is read between the two compiled batches around the budget,
or extrapolated from the last two when the largest compiled batch still
fits ("~": not compiled at that size). The batches stop at 64 because
exports at batch x seq^2 >= 2^24 do not import yet (docs/architecture.md,
known limits) and the mask constants of large batches take gigabytes of
MLIR text. Process overhead (libraries, the data loader; about 100 MiB
measured as peak RSS minus the allocations) is not in the figures.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, "bench"))
from gpt2_shapes import add_model_args, export_args  # noqa: E402

OPTIONS = {
    "fp32": "", "fp32 selective": "recompute=selective", "fp32 full": "recompute=full",
    "bf16": "mixed-precision=bf16", "bf16 selective": "mixed-precision=bf16 recompute=selective",
    "bf16 full": "mixed-precision=bf16 recompute=full",
}


def export(args, batch, d):
    """The model at this batch size, imported: the MLIR path."""
    shape = export_args(argparse.Namespace(**{**vars(args), "batch": batch}))
    subprocess.run([sys.executable, os.path.join(root, "examples", "gpt2", "export.py"), "--out-dir", d,
                    "--no-optimize"] + shape, check=True, capture_output=True)
    mlir = os.path.join(d, "gpt2.mlir")
    subprocess.run([os.path.join(args.bin, "accel-translate"), "--import-onnx", os.path.join(d, "gpt2.onnx"),
                    "-o", mlir], check=True)
    return mlir


def estimate(args, mlir, options):
    """Bytes the runtime allocates for the step plus its largest kernel
    workspace."""
    train = mlir.replace(".mlir", "-train.mlir")
    subprocess.run([os.path.join(args.bin, "accel-opt"), mlir, "-o", train,
                    "--accel-make-train-step=loss=cross-entropy optimizer=adamw lr=1e-4 weight-decay=0.01 "
                    f"clip-norm=1.0 {options}"], check=True)
    report = subprocess.run([os.path.join(args.bin, "accel-opt"), train, "--accel-lower-to-runtime",
                             "--accel-estimate-memory", "-o", os.devnull],
                            capture_output=True, text=True, check=True).stderr
    os.remove(train)
    number = lambda label: int(re.search(label + r" +([0-9,]+) bytes", report).group(1).replace(",", ""))
    return number(r"total \(what the runtime allocates\)") + number(r"kernel workspace, at most \(outside the arena\)")


def largest_batch(batches, memory, budget):
    """The largest batch whose memory is within budget, between the compiled
    batches around it, or extrapolated past the last ("~")."""
    fitting = [i for i, m in enumerate(memory) if m <= budget]
    if not fitting:
        return f"< {batches[0]}"
    i = fitting[-1]
    j = i + 1 if i + 1 < len(batches) else i - 1
    slope = (memory[j] - memory[i]) / (batches[j] - batches[i])
    found = batches[i] + int((budget - memory[i]) // slope)
    return f"~{found}" if i == len(batches) - 1 else str(min(found, batches[i + 1] - 1))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_args(p)
    p.add_argument("--budget-gib", type=float, default=8.0)
    p.add_argument("--batches", default="8,16,32,64")
    args = p.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    memory = {name: [] for name in OPTIONS}
    for batch in batches:  # one export at a time: large ones take gigabytes
        d = tempfile.mkdtemp(prefix=f"accel-bench-memory-b{batch}-")
        try:
            mlir = export(args, batch, d)
            for name, options in OPTIONS.items():
                memory[name].append(estimate(args, mlir, options))
        finally:
            shutil.rmtree(d)
    budget = args.budget_gib * 2 ** 30
    print(f"GPT-2 train step memory: {args.layers} layers x {args.hidden} hidden, vocab {args.vocab}, seq {args.seq}, "
          f"AdamW; MiB the runtime allocates plus kernel workspace")
    print(f"{'':16}" + "".join(f"{f'batch {b}':>11}" for b in batches) + f"{f'largest in {args.budget_gib:g} GiB':>20}")
    for name in OPTIONS:
        print(f"{name:16}" + "".join(f"{m / 2**20:11.0f}" for m in memory[name]) +
              f"{largest_batch(batches, memory[name], budget):>20}")


if __name__ == "__main__":
    main()
