# RUN: %python %s
# REQUIRES: python-ml
# BERT- and Llama-style Hugging Face models (small configs, random init)
# exported with both torch.onnx exporters, imported and run by accel. accel
# equals onnxruntime within 1e-4 relative, and PyTorch too except where the
# export itself differs from PyTorch (the dynamo export of a padded batch,
# which is the exporter's business, not ours).
import os
import warnings

import numpy as np
import onnxruntime as ort
import torch
import transformers

from accel_testing import assert_close, import_and_run, workdir

warnings.simplefilter("ignore")


def build(kind):
    torch.manual_seed(0)
    if kind == "llama":
        cfg = transformers.LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128,
                                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                       max_position_embeddings=64, use_cache=False)
        cfg._attn_implementation = "eager"
        model = transformers.LlamaForCausalLM(cfg)
    else:
        cfg = transformers.BertConfig(vocab_size=128, hidden_size=64, intermediate_size=128,
                                      num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=64,
                                      hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
        cfg._attn_implementation = "eager"
        model = transformers.BertModel(cfg, add_pooling_layer=False)
    model.eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)

    class Wrapped(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = model

        def forward(self, ids, mask):
            out = self.m(input_ids=ids, attention_mask=mask)
            return out.logits if kind == "llama" else out.last_hidden_state

    return Wrapped().eval()


for kind, exporter in [(k, e) for k in ["bert", "llama"] for e in ["dynamo", "torchscript"]]:
    model = build(kind)
    ids = torch.randint(0, 128, (2, 16), generator=torch.Generator().manual_seed(1))
    full = torch.ones(2, 16, dtype=torch.int64)
    padded = full.clone()
    padded[1, 12:] = 0
    d = workdir(kind)
    path = os.path.join(d, f"{kind}.onnx")
    with torch.no_grad():
        torch.onnx.export(model, (ids, full), path, input_names=["ids", "mask"], output_names=["out"],
                          dynamo=exporter == "dynamo", opset_version=18)
    session = ort.InferenceSession(path)
    for name, mask in [("full mask", full), ("padded", padded)]:
        feeds = {"ids": ids.numpy(), "mask": mask.numpy()}
        outs = import_and_run(path, feeds, d)
        tag = f"{kind} {exporter} {name}"
        assert_close(f"{tag} vs onnxruntime", outs["out"], session.run(None, feeds)[0])
        if name == "full mask" or exporter == "torchscript":
            with torch.no_grad():
                assert_close(f"{tag} vs torch", outs["out"], model(ids, mask).numpy())
    ir = open(os.path.join(d, "model.mlir")).read()
    # The exporters' spelled-out formulas became accel's ops.
    expected = {"bert": ["accel.attention", "accel.layer_norm", "accel.gelu"],
                "llama": ["accel.attention", "accel.rms_norm", "accel.silu"]}[kind]
    for op in expected:
        assert ir.count(op) >= 2, f"{kind}: expected {op} per layer"
    assert "accel.softmax" not in ir and "accel.sigmoid" not in ir
    print(f"{kind} {exporter}: {ir.count('accel.attention')} attention, {ir.count('accel.linear')} linear ops")
