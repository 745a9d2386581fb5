# RUN: %python %s
# REQUIRES: python-ml
# Exports as users make them: torch.onnx.export(model, (input_ids,)) with
# default arguments (the dynamo exporter, its ONNX optimizer on, the family's
# default attention, sdpa), with and without an attention mask, of freshly
# initialized models of the decoder and encoder families transformers
# ships. Each imports, its forward equals onnxruntime's within 1e-4, and the
# exporter's sdpa decomposition (Where(IsNaN(softmax), 0, softmax)) became
# one accel.attention per layer. Training exports (optimize=False) of the
# same models import too. The import table is printed.
import os
import warnings

import numpy as np
import onnxruntime as ort
import torch

import hf_families
from accel_testing import assert_close, import_and_run, run, workdir

warnings.simplefilter("ignore")
ort.set_default_logger_severity(3)
LAYERS = 2
# Position ids computed at run time by a cumulative sum over the input
# (RoBERTa's padding-aware positions, OPT's positions from the mask) need a
# runtime CumSum, which accel does not have yet: the import must say so,
# naming the node and op.
NEEDS_RUNTIME_CUMSUM = {("roberta", False), ("roberta", True), ("opt", True)}

ids = torch.randint(2, hf_families.VOCAB, (2, 16), generator=torch.Generator().manual_seed(1))
padded = torch.ones_like(ids)
padded[1, 11:] = 0
table = []
for family in hf_families.FAMILIES:
    model = hf_families.build(family)
    for with_mask in [False, True]:
        for optimize in [True, False]:
            d = workdir(f"{family}")
            path = os.path.join(d, "model.onnx")
            mask = padded if with_mask else None
            hf_families.export(model, path, ids, mask, optimize=optimize)
            tag = f"{family} {'mask' if with_mask else 'no mask'} optimize={optimize}"
            if (family, with_mask) in NEEDS_RUNTIME_CUMSUM:
                proc = run(["accel-translate", "--import-onnx", path, "-o", os.path.join(d, "m.mlir")],
                           check=False)
                assert proc.returncode == 1 and "(CumSum, opset" in proc.stderr, proc.stderr
                table.append((tag, "refused: runtime CumSum"))
                continue
            feeds = {"input_ids": ids.numpy()}
            if with_mask:
                feeds["attention_mask"] = mask.numpy()
            outs = import_and_run(path, feeds, d)
            want = ort.InferenceSession(path).run(None, feeds)[0]
            assert_close(f"{tag}: logits vs onnxruntime", outs["logits"], want, rtol=1e-4)
            ir = open(os.path.join(d, "model.mlir")).read()
            attention = ir.count("accel.attention")
            assert attention == LAYERS, f"{tag}: {attention} accel.attention ops, want {LAYERS}"
            assert "accel.softmax" not in ir, f"{tag}: a softmax was left outside attention"
            table.append((tag, f"imports, = onnxruntime, {attention} attention"))

print("\nimport table (fresh init, default torch.onnx.export arguments):")
for tag, result in table:
    print(f"  {tag:40s} {result}")
