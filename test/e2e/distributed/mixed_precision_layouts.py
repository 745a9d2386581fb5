# RUN: %python %s
# REQUIRES: python-ml
# bf16 mixed precision under the distributed layouts: GPT-2 and a
# Llama-style model (small configs, perturbed random init) built with
# mixed-precision=bf16 and sharded dp=2 zero=3 and tp=2 train 50 AdamW
# steps (clipping, warm-up) on two ranks and meet the standard the
# single-process bf16 run meets (test/e2e/train_mixed_precision.py): losses
# and final parameters measured against PyTorch fp32, within 1.5x the
# deviation of torch.autocast. How: every sum over ranks of a bf16 value is
# completed in fp32 and only the fp32 gradient is kept (DDP reduces fp32
# gradients; no bf16 all-reduce or reduce-scatter is left in the step), and
# ZeRO-3 gathers each parameter in the type its readers take (FSDP's
# param_dtype: bf16 gathers for the GEMM weights).
import os
import re

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
    d = workdir(f"mixed-precision-layouts-{family}")
    data_args, batches, loss_fn = fidelity._data(family, loop, d)
    mlir = fidelity.export_and_import(model, loop, d)
    fp32, m32 = fidelity.torch_autocast_run(model, loop, batches, loss_fn, autocast=False)
    autocast, mac = fidelity.torch_autocast_run(model, loop, batches, loss_fn, autocast=True)
    single = None
    for layout in (None, "dp=2 zero=3", "tp=2"):
        name = re.sub(r"\W+", "-", layout) if layout else "single"
        ck = fidelity.accel_train(d, mlir, data_args, loop, layout=layout, name=name)
        label = f"{family} {layout or 'one process'}"
        accel = np.array([r["loss"] for r in read_log(os.path.join(ck, "log.jsonl"))])
        if layout:
            step = open(os.path.join(d, f"sharded-{name}.mlir")).read()
            step = step[step.index("@train_step"):]
            low = re.findall(r"accel\.(?:all_reduce|reduce_scatter)\w* .*xbf16>\)", step)
            assert not low, f"{label}: bf16 values are summed across ranks in bf16: {low[0]}"
            if "zero=3" in layout:
                gathers = re.findall(r"accel\.all_gather_start .*-> tensor<[0-9x]*(bf16|f32)>", step)
                print(f"{label}: {gathers.count('bf16')} gathers in bf16, {gathers.count('f32')} in fp32")
                assert gathers.count("bf16") > 0, f"{label}: ZeRO-3 gathers no parameter in bf16"
            print(f"{label}: largest loss difference from the one-process bf16 run "
                  f"{np.abs(accel - single).max():.3e}")
        else:
            single = accel
        ok &= fidelity.low_precision_losses_ok(label, accel, fp32, autocast)
        final = load_file(os.path.join(fidelity.whole_checkpoint(ck, loop.steps), "model.safetensors"))
        ok &= fidelity.low_precision_parameters_ok(label, model, final, m32, mac)
if not ok:
    raise SystemExit("a layout's bf16 training strays further from fp32 than 1.5x torch.autocast's")
print("ok")
