# RUN: %python %s
# REQUIRES: python-ml
# A Hugging Face GPT-2 (small config, random init, fixed seed) exported with
# both torch.onnx exporters, imported and run by accel: logits equal
# PyTorch's and onnxruntime's within 1e-4 relative. The importer must form
# one causal attention op per layer and linear ops for the projections.
import os
import re
import subprocess
import sys

import numpy as np
import onnxruntime as ort

from accel_testing import SRC, assert_close, import_and_run, workdir

for exporter, layers, hidden, heads, seq, batch in [("dynamo", 2, 64, 4, 32, 1), ("dynamo", 3, 96, 6, 24, 2),
                                                    ("torchscript", 2, 64, 4, 32, 2),
                                                    ("dynamo-no-optimize", 2, 64, 4, 32, 2)]:
    d = workdir("gpt2")
    subprocess.run([sys.executable, os.path.join(SRC, "examples", "gpt2", "export.py"),
                    "--out-dir", d, "--layers", str(layers), "--hidden", str(hidden),
                    "--heads", str(heads), "--seq", str(seq), "--batch", str(batch),
                    "--exporter", exporter.split("-")[0], "--perturb"]
                   + (["--no-optimize"] if exporter.endswith("no-optimize") else []),
                   check=True, capture_output=True)
    feeds = {"input_ids": np.load(os.path.join(d, "input_ids.npy"))}
    if os.path.exists(os.path.join(d, "attention_mask.npy")):
        feeds["attention_mask"] = np.load(os.path.join(d, "attention_mask.npy"))
    expected = np.load(os.path.join(d, "logits_torch.npy"))
    onnx_out = ort.InferenceSession(os.path.join(d, "gpt2.onnx")).run(None, feeds)[0]
    outs = import_and_run(os.path.join(d, "gpt2.onnx"), feeds, d)
    tag = f"gpt2 {exporter} {layers}x{hidden} seq {seq} batch {batch}"
    assert_close(f"{tag} vs torch", outs["logits"], expected)
    assert_close(f"{tag} vs onnxruntime", outs["logits"], onnx_out)
    ir = open(os.path.join(d, "model.mlir")).read()
    assert ir.count("accel.attention") == layers, "one attention op per layer"
    if "attention_mask" not in feeds:
        # With only constants behind it, the mask is recognized as causal.
        # (With a mask input it stays an operand: correct, not yet as fast.)
        assert ir.count("{causal") == layers, "the causal mask became the causal flag"
    assert "accel.softmax" not in ir
    assert ir.count("accel.linear") >= 4 * layers
    if exporter == "dynamo-no-optimize":
        # Every parameter keeps its name, the position embedding included:
        # wte (tied with lm_head), wpe, ln_f weight and bias, and per layer
        # ln_1, c_attn, c_proj, ln_2, c_fc, mlp c_proj, each weight and bias.
        params = set(re.findall(r'accel.param = "([^"]+)"', ir))
        assert "transformer.wpe.weight" in params, sorted(params)
        assert len(params) == 4 + 12 * layers, (len(params), sorted(params))
    print(f"{tag}: {layers} attention ops")
