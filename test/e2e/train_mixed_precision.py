# RUN: %python %s
# REQUIRES: python-ml
# bf16 mixed precision (accel-mixed-precision through accel-make-train-step's
# mixed-precision=bf16) tracks torch.autocast: GPT-2 and a Llama-style model
# (small configs, perturbed random init), 50 AdamW steps with clipping and
# warm-up on the same batches, trained by accel in bf16, by PyTorch under
# torch.autocast("cpu", dtype=torch.bfloat16) and by PyTorch in fp32. Both
# bf16 runs are measured against the fp32 run: at every step accel's loss
# deviation stays within 1.5x autocast's at that stage of training (plus 4
# fp32 ulps of the loss), and its mean deviation over the run within 1.5x
# autocast's; the final parameters' distance from the fp32 run's, over the
# model, within 1.5x autocast's (each parameter within 2x). One step's
# deviation is one draw of rounding noise, growing as training goes on, so
# "autocast's at that stage" is the larger of its largest deviation within
# 5 steps either side and its RMS over the run, not one early draw
# (fidelity.low_precision_losses_ok). The curves are printed.
import os

import numpy as np
from safetensors.numpy import load_file

import fidelity
import hf_families
from accel_testing import workdir
from training_reference import read_log


ok = True
for family in ("gpt2", "llama"):
    loop = fidelity.Loop(steps=50, precision="bf16")
    model = hf_families.build(family, perturb=True)
    d = workdir(f"mixed-precision-{family}")
    data_args, batches, loss_fn = fidelity._data(family, loop, d)
    mlir = fidelity.export_and_import(model, loop, d)
    ck = fidelity.accel_train(d, mlir, data_args, loop)
    step_ir = open(os.path.join(d, "train-ck.mlir")).read()
    gemms = step_ir.count("xbf16>) -> tensor<")
    assert gemms > 0, f"{family}: the compiled step has no bf16 op"
    accel = np.array([r["loss"] for r in read_log(os.path.join(ck, "log.jsonl"))])
    fp32, m32 = fidelity.torch_autocast_run(model, loop, batches, loss_fn, autocast=False)
    autocast, mac = fidelity.torch_autocast_run(model, loop, batches, loss_fn, autocast=True)
    ok &= fidelity.low_precision_losses_ok(family, accel, fp32, autocast)
    print(f"{family}: {gemms} ops on bf16 in the step")

    # The parameters: each one's distance from the fp32 run within 2x
    # autocast's, over the whole model within 1.5x.
    final = load_file(os.path.join(fidelity.whole_checkpoint(ck, loop.steps), "model.safetensors"))
    ok &= fidelity.low_precision_parameters_ok(family, model, final, m32, mac)
if not ok:
    raise SystemExit("accel's bf16 training strays further from fp32 than 1.5x torch.autocast's")
