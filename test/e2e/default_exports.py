# RUN: %python %s
# REQUIRES: python-ml
# Exports as users make them: torch.onnx.export(model, (input_ids,)) with
# default arguments (the dynamo exporter, its ONNX optimizer on, the family's
# default attention, sdpa), with and without an attention mask, of freshly
# initialized models of the decoder and encoder families transformers
# ships. Each imports, its forward equals onnxruntime's within 1e-4, and the
# exporter's sdpa decomposition (Where(IsNaN(softmax), 0, softmax)) became
# one accel.attention per layer (from opset 23, ONNX's Attention op does).
# Training exports (optimize=False) of the
# same models import too. Position ids the exporter computes at run time
# (RoBERTa's from the non-pad tokens, OPT's from the mask) run as
# accel.cumsum. The import table is printed.
import os
import warnings

import onnx
import onnxruntime as ort
import torch

import hf_families
from accel_testing import assert_close, import_and_run, workdir

warnings.simplefilter("ignore")
ort.set_default_logger_severity(3)
LAYERS = 2

ids = torch.randint(2, hf_families.VOCAB, (2, 16), generator=torch.Generator().manual_seed(1))
padded = torch.ones_like(ids)
padded[1, 11:] = 0
table = []


def check(family, model, with_mask, tag, **export_args):
    """Exports, imports and runs one combination against onnxruntime;
    returns the imported IR."""
    d = workdir(family)
    path = os.path.join(d, "model.onnx")
    mask = padded if with_mask else None
    # A padded batch has the family's pad token where the mask is 0
    # (RoBERTa's position ids count the other tokens at run time).
    x = ids.clone()
    if with_mask and model.config.pad_token_id is not None:
        x[padded == 0] = model.config.pad_token_id
    hf_families.export(model, path, x, mask, **export_args)
    feeds = {"input_ids": x.numpy()}
    if with_mask:
        feeds["attention_mask"] = mask.numpy()
    outs = import_and_run(path, feeds, d)
    want = ort.InferenceSession(path).run(None, feeds)[0]
    assert_close(f"{tag}: logits vs onnxruntime", outs["logits"], want, rtol=1e-4)
    ir = open(os.path.join(d, "model.mlir")).read()
    attention = ir.count("accel.attention")
    assert attention == LAYERS, f"{tag}: {attention} accel.attention ops, want {LAYERS}"
    assert "accel.softmax" not in ir, f"{tag}: a softmax was left outside attention"
    return path


for family in hf_families.FAMILIES:
    model = hf_families.build(family)
    for with_mask in [False, True]:
        for optimize in [True, False]:
            tag = f"{family} {'mask' if with_mask else 'no mask'} optimize={optimize}"
            check(family, model, with_mask, tag, optimize=optimize)
            table.append((tag, f"imports, = onnxruntime, {LAYERS} attention"))

# Opset 23 and later: the exporter writes sdpa as ONNX's Attention op (with
# grouped-query heads for Llama), which imports as accel.attention directly.
for family in ["gpt2", "llama", "bert"]:
    model = hf_families.build(family)
    for with_mask in [False, True]:
        tag = f"{family} {'mask' if with_mask else 'no mask'} opset 23"
        path = check(family, model, with_mask, tag, opset=23)
        ops = {n.op_type for n in onnx.load(path, load_external_data=False).graph.node}
        assert "Attention" in ops, f"{tag}: the export has no Attention op"
        table.append((tag, f"imports (ONNX Attention), = onnxruntime, {LAYERS} attention"))

print("\nimport table (fresh init, default torch.onnx.export arguments):")
for tag, result in table:
    print(f"  {tag:40s} {result}")
