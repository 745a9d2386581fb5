# RUN: %python %s
# REQUIRES: python-ml
# Inference with the weights stored in bf16 (accel-run --weights-dtype bf16,
# the accel-store-weights pass): GPT-2 and a Llama-style model (small
# configs, perturbed random init, default exports with their buffers) run
# on the fp32 weights file; every parameter is stored in bf16 (the runtime
# rounds the file's tensors as it loads them) and the GEMMs run in bf16.
# The logits are measured against PyTorch fp32: their deviation is within
# 1.5x that of PyTorch running the model in bf16 (model.to(torch.bfloat16),
# what users do for bf16 inference), largest and RMS; and it is bf16's (far
# above the fp32 run's), so the option did change the arithmetic. fp16
# weights likewise against model.to(torch.float16).
import os
import re

import numpy as np
import torch

import hf_families
from accel_testing import import_and_run, run, workdir

ids = torch.randint(2, hf_families.VOCAB, (2, 16), generator=torch.Generator().manual_seed(3))
ok = True
for family in ("gpt2", "llama"):
    model = hf_families.build(family, perturb=True).eval()
    d = workdir(f"inference-weights-{family}")
    onnx = os.path.join(d, "model.onnx")
    hf_families.export(model, onnx, ids)
    with torch.no_grad():
        want = model(ids).logits.double().numpy()
    fp32 = import_and_run(onnx, {"input_ids": ids.numpy()}, os.path.join(d, "fp32"))["logits"]
    dev32 = np.abs(fp32 - want).max()
    for dtype, torch_dtype in (("bf16", torch.bfloat16), ("fp16", torch.float16)):
        low = import_and_run(onnx, {"input_ids": ids.numpy()}, os.path.join(d, dtype),
                             extra_run=["--weights-dtype", dtype])["logits"]
        with torch.no_grad():
            theirs = hf_families.build(family, perturb=True).eval()
            theirs.load_state_dict(model.state_dict())
            theirs = theirs.to(torch_dtype)
            pt = theirs(ids).logits.double().numpy()
        dev, dev_pt = np.abs(low - want), np.abs(pt - want)
        rms, rms_pt = np.sqrt(np.mean(dev ** 2)), np.sqrt(np.mean(dev_pt ** 2))
        print(f"{family} {dtype}: logits' deviation from PyTorch fp32, largest: accel {dev.max():.3e}, PyTorch "
              f"{dtype} {dev_pt.max():.3e}; RMS: accel {rms:.3e}, PyTorch {rms_pt:.3e} (accel fp32: {dev32:.3e})")
        ok &= dev.max() <= 1.5 * dev_pt.max() and rms <= 1.5 * rms_pt
        assert dev.max() > 10 * dev32, f"{family} {dtype}: the logits are fp32's; the weights were not stored in {dtype}"
    # The stored types: every parameter of a training export (optimize=False,
    # the model accel trains and checkpoints) in bf16; a default export's
    # folded weights are constants, which the lowering folds to bf16.
    train_onnx, train_mlir = os.path.join(d, "train.onnx"), os.path.join(d, "train.mlir")
    hf_families.export(model, train_onnx, ids, optimize=False)
    run(["accel-translate", "--import-onnx", train_onnx, "-o", train_mlir])
    stored = os.path.join(d, "stored.mlir")
    run(["accel-opt", train_mlir, "--accel-store-weights=dtype=bf16", "-o", stored])
    params = re.findall(r"tensor<[0-9x]*x(\w+)> \{accel\.param", open(stored).read())
    assert len(params) == len(list(model.parameters())) and set(params) == {"bf16"}, \
        f"{family}: parameters stored as {params}"
    print(f"{family}: {len(params)} parameters stored in bf16")
if not ok:
    raise SystemExit("accel's low-precision inference strays further from fp32 than 1.5x PyTorch's")
print("ok")
