# RUN: %python %s
# REQUIRES: python-ml
# Training parity on an MLP exported from PyTorch: 20 steps of the compiled
# train step (accel-make-train-step + accel-run's loop) against the same
# loop in PyTorch, from the same exported weights and the same batches.
# Every step's loss, the final parameters and the held-out evaluation
# (--eval-array) agree within 1e-5 relative:
#   * cross-entropy + AdamW (weight decay, clipping, linear warm-up);
#   * MSE + SGD (momentum, Nesterov, weight decay; cosine schedule; clipping);
#   * cross-entropy with label smoothing and ignored labels + SGD with
#     momentum and dampening (constant schedule with warm-up).
import json
import os

import numpy as np
import torch
from safetensors.numpy import load_file

from accel_testing import assert_close, run, workdir
from training_reference import batch_ids, read_log, train_torch

STEPS, BATCH, IN, HIDDEN, CLASSES, EXAMPLES = 20, 8, 12, 32, 5, 100


class MLP(torch.nn.Module):
    def __init__(self, out):
        super().__init__()
        self.fc1 = torch.nn.Linear(IN, HIDDEN)
        self.fc2 = torch.nn.Linear(HIDDEN, HIDDEN)
        self.head = torch.nn.Linear(HIDDEN, out)

    def forward(self, x):
        return self.head(torch.tanh(self.fc2(torch.nn.functional.gelu(self.fc1(x)))))


def check(name, out, labels, loss_fn, torch_optimizer, pass_options, clip, schedule, warmup):
    d = workdir(f"train-mlp-{name}")
    torch.manual_seed(0)
    model = MLP(out)
    x = np.random.default_rng(1).standard_normal((EXAMPLES, IN)).astype(np.float32)
    np.save(os.path.join(d, "x.npy"), x)
    np.save(os.path.join(d, "labels.npy"), labels)
    onnx_path = os.path.join(d, "mlp.onnx")
    torch.onnx.export(model.eval(), (torch.from_numpy(x[:BATCH]),), onnx_path, input_names=["x"],
                      output_names=["out"], dynamo=True, optimize=False, external_data=False)
    run(["accel-translate", "--import-onnx", onnx_path, "-o", os.path.join(d, "m.mlir")])
    options = f"{pass_options} clip-norm={clip} schedule={schedule} warmup-steps={warmup} total-steps={STEPS}"
    run(["accel-opt", os.path.join(d, "m.mlir"), f"--accel-make-train-step={options}",
         "-o", os.path.join(d, "train.mlir")])
    # Held-out examples for the evaluation at the last step; --save is the
    # brief's spelling of --save-dir.
    held = np.random.default_rng(3).standard_normal((3 * BATCH + 2, IN)).astype(np.float32)
    held_labels = labels[:len(held)]
    np.save(os.path.join(d, "hx.npy"), held)
    np.save(os.path.join(d, "hy.npy"), held_labels)
    run(["accel-run", os.path.join(d, "train.mlir"), "--weights", os.path.join(d, "m.safetensors"),
         "--data-array", f"x={d}/x.npy", "--data-array", f"labels={d}/labels.npy", "--steps", STEPS,
         "--seed", 7, "--save", os.path.join(d, "ck"), "--eval-array", f"x={d}/hx.npy",
         "--eval-array", f"labels={d}/hy.npy", "--quiet"])

    def batches():
        for ids in batch_ids(EXAMPLES, BATCH, STEPS, seed=7):
            yield torch.from_numpy(x[ids]), torch.from_numpy(labels[ids])

    losses = train_torch(model, batches(), loss_fn, torch_optimizer(model.parameters()), clip,
                         schedule, warmup, STEPS)
    log = read_log(os.path.join(d, "ck", "log.jsonl"))
    assert len(log) == STEPS, len(log)
    assert_close(f"{name}: losses", [r["loss"] for r in log], losses, rtol=1e-5)
    final = load_file(os.path.join(d, "ck", f"checkpoint-{STEPS}", "model.safetensors"))
    for pname, p in model.named_parameters():
        assert_close(f"{name}: {pname}", final[pname], p.detach().numpy(), rtol=1e-5)
    # Evaluation after the last step: the mean of the whole held-out
    # batches' losses (the last, incomplete one left out).
    evals = [json.loads(line) for line in open(os.path.join(d, "ck", "log.jsonl"))]
    evals = [r["eval_loss"] for r in evals if "eval_loss" in r]
    model.eval()
    with torch.no_grad():
        reference = np.mean([loss_fn(model(torch.from_numpy(held[b * BATCH:(b + 1) * BATCH])),
                                     torch.from_numpy(held_labels[b * BATCH:(b + 1) * BATCH])).item()
                             for b in range(len(held) // BATCH)])
    assert len(evals) == 1, evals
    assert_close(f"{name}: eval loss", evals[0], reference, rtol=1e-5)


rng = np.random.default_rng(2)
classes = rng.integers(0, CLASSES, EXAMPLES).astype(np.int64)
check("adamw", CLASSES, classes, torch.nn.functional.cross_entropy,
      lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1, betas=(0.9, 0.95), eps=1e-8),
      "loss=cross-entropy optimizer=adamw lr=1e-2 weight-decay=0.1 beta2=0.95",
      clip=0.5, schedule="linear", warmup=5)

targets = rng.standard_normal((EXAMPLES, 3)).astype(np.float32)
check("sgd-nesterov", 3, targets, torch.nn.functional.mse_loss,
      lambda p: torch.optim.SGD(p, lr=5e-2, momentum=0.9, nesterov=True, weight_decay=1e-3),
      "loss=mse optimizer=sgd lr=5e-2 momentum=0.9 nesterov=true weight-decay=1e-3",
      clip=1.0, schedule="cosine", warmup=3)

ignored = classes.copy()
ignored[::7] = -100
check("smoothing", CLASSES, ignored,
      lambda out, y: torch.nn.functional.cross_entropy(out, y, label_smoothing=0.1),
      lambda p: torch.optim.SGD(p, lr=1e-1, momentum=0.5, dampening=0.2),
      "loss=cross-entropy label-smoothing=0.1 optimizer=sgd lr=1e-1 momentum=0.5 dampening=0.2",
      clip=0.0, schedule="constant_with_warmup", warmup=4)
print("MLP training matches PyTorch")
