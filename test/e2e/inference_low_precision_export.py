# RUN: %python %s
# REQUIRES: python-ml
# A model exported in bf16 or fp16 (model.to(torch.bfloat16), then a default
# export): GPT-2 and a Llama-style model (small configs, perturbed random
# init) import with every activation in the low type and run end to end in
# it: layer and RMS norms, softmax, GELU/SiLU, elementwise ops and attention
# store the low type and compute in fp32, GEMMs sum in fp32. The logits are
# measured against the float64 model of the same (rounded) weights: their
# deviation is within 1.5x that of PyTorch running the low-precision model,
# largest and RMS.
import os
import re

import numpy as np
import torch

import hf_families
from accel_testing import import_and_run, workdir

ids = torch.randint(2, hf_families.VOCAB, (2, 16), generator=torch.Generator().manual_seed(5))
ok = True
for family in ("gpt2", "llama"):
    for name, dtype, element in (("bf16", torch.bfloat16, "bf16"), ("fp16", torch.float16, "f16")):
        model = hf_families.build(family, perturb=True).eval().to(dtype)
        d = workdir(f"inference-export-{family}-{name}")
        onnx = os.path.join(d, "model.onnx")
        hf_families.export(model, onnx, ids)
        with torch.no_grad():
            pt = model(ids).logits.double().numpy()
            want = model.double()(ids).logits.numpy()
        got = import_and_run(onnx, {"input_ids": ids.numpy()}, os.path.join(d, "run"))["logits"]
        mlir = open(os.path.join(d, "run", "model.mlir")).read()
        low_ops = set(re.findall(r"accel\.(\w+) [^\n]*-> tensor<[0-9x]*x" + element + ">", mlir))
        # (Llama's RMS norm casts to fp32 in the model's own code.)
        expected = {"linear", "attention", "layer_norm" if family == "gpt2" else "silu"}
        assert expected <= low_ops, f"{family} {name}: ops on {element}: {sorted(low_ops)}"
        dev, dev_pt = np.abs(got - want), np.abs(pt - want)
        rms, rms_pt = np.sqrt(np.mean(dev ** 2)), np.sqrt(np.mean(dev_pt ** 2))
        print(f"{family} exported in {name}: logits' deviation from float64, largest: accel {dev.max():.3e}, "
              f"PyTorch {name} {dev_pt.max():.3e}; RMS: accel {rms:.3e}, PyTorch {rms_pt:.3e}; "
              f"ops on {name}: {', '.join(sorted(low_ops))}")
        ok &= dev.max() <= 1.5 * dev_pt.max() and rms <= 1.5 * rms_pt
if not ok:
    raise SystemExit("accel runs a low-precision export further from float64 than 1.5x PyTorch")
print("ok")
