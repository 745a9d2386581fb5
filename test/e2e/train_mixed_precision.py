# RUN: %python %s
# REQUIRES: python-ml
# bf16 mixed precision (accel-mixed-precision through accel-make-train-step's
# mixed-precision=bf16) tracks torch.autocast: GPT-2 and a Llama-style model
# (small configs, perturbed random init), 50 AdamW steps with clipping and
# warm-up on the same batches, trained by accel in bf16, by PyTorch under
# torch.autocast("cpu", dtype=torch.bfloat16) and by PyTorch in fp32. Both
# bf16 runs are measured against the fp32 run: at every step accel's loss
# deviation stays within 1.5x the largest autocast has shown up to that step
# (plus 4 fp32 ulps of the loss), and its mean deviation over the run within
# 1.5x autocast's; the final parameters' distance from the fp32 run's, over
# the model, within 1.5x autocast's (each parameter within 2x). One step's
# deviation is one draw of rounding noise, so a
# step is judged against the larger of autocast's largest deviation so far
# and its typical one (the RMS over the run), not against one or two early
# draws. The curves are printed.
import copy
import os

import numpy as np
import torch
from safetensors.numpy import load_file

import fidelity
import hf_families
from accel_testing import run, workdir
from training_reference import read_log


def torch_losses(model, loop, batches, loss_fn, autocast):
    """The fidelity loop in PyTorch, the forward pass and loss under
    autocast when asked."""
    import transformers
    m = copy.deepcopy(model)
    opt = torch.optim.AdamW(m.parameters(), lr=loop.lr, weight_decay=loop.weight_decay)
    sched = transformers.get_scheduler("linear", opt, num_warmup_steps=loop.warmup, num_training_steps=loop.steps)
    losses = []
    for inputs, labels in batches():
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = loss_fn(m(inputs), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), loop.clip)
        opt.step()
        sched.step()
        losses.append(loss.item())
    return np.array(losses), m


ok = True
for family in ("gpt2", "llama"):
    loop = fidelity.Loop(steps=50, precision="bf16")
    model = hf_families.build(family, perturb=True)
    d = workdir(f"mixed-precision-{family}")
    data_args, batches, loss_fn = fidelity._data(family, loop, d)
    onnx, mlir = os.path.join(d, "model.onnx"), os.path.join(d, "model.mlir")
    hf_families.export(model, onnx, torch.zeros((loop.batch, loop.seq), dtype=torch.int64), optimize=False,
                       config=True)
    run(["accel-translate", "--import-onnx", onnx, "-o", mlir])
    ck = fidelity.accel_train(d, mlir, data_args, loop)
    step_ir = open(os.path.join(d, "train-ck.mlir")).read()
    gemms = step_ir.count("xbf16>) -> tensor<")
    assert gemms > 0, f"{family}: the compiled step has no bf16 op"
    accel = np.array([r["loss"] for r in read_log(os.path.join(ck, "log.jsonl"))])
    fp32, m32 = torch_losses(model, loop, batches, loss_fn, autocast=False)
    autocast, mac = torch_losses(model, loop, batches, loss_fn, autocast=True)
    dev_accel, dev_autocast = np.abs(accel - fp32), np.abs(autocast - fp32)
    seen = np.maximum(np.maximum.accumulate(dev_autocast), np.sqrt(np.mean(dev_autocast ** 2)))
    bound = 1.5 * seen + 4 * np.spacing(np.abs(fp32).astype(np.float32))
    print(f"{family}: step, fp32 loss, |accel bf16 - fp32|, |autocast - fp32|")
    for t in range(loop.steps):
        print(f"  {t + 1:3d} {fp32[t]:.6f} {dev_accel[t]:.3e} {dev_autocast[t]:.3e}"
              f"{'  FAIL' if dev_accel[t] > bound[t] else ''}")
    worst = float(np.max(dev_accel / bound))
    print(f"{family}: deviation from fp32, largest: accel bf16 {dev_accel.max():.3e}, autocast "
          f"{dev_autocast.max():.3e}; mean: accel bf16 {dev_accel.mean():.3e}, autocast {dev_autocast.mean():.3e}; "
          f"worst step at {worst:.2f} of the bound; {gemms} ops on bf16 in the step")
    ok &= worst <= 1.0 and dev_accel.mean() <= 1.5 * dev_autocast.mean()

    # The parameters: each one's distance from the fp32 run within 2x
    # autocast's, over the whole model within 1.5x.
    final = load_file(os.path.join(fidelity.whole_checkpoint(ck, loop.steps), "model.safetensors"))
    ok &= fidelity.low_precision_parameters_ok(family, model, final, m32, mac)
if not ok:
    raise SystemExit("accel's bf16 training strays further from fp32 than 1.5x torch.autocast's")
