# RUN: %python %s
# REQUIRES: python-ml
# A Hugging Face GPT-2 (small config, random init, fixed seed) exported with
# torch.onnx (dynamo), imported and run by accel: logits equal PyTorch's and
# onnxruntime's within 1e-4 relative. The importer must form one attention
# op per layer and linear ops for the projections.
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort

from accel_testing import SRC, assert_close, import_and_run, workdir

for layers, hidden, heads, seq, batch in [(2, 64, 4, 32, 1), (3, 96, 6, 24, 2)]:
    d = workdir("gpt2")
    subprocess.run([sys.executable, os.path.join(SRC, "examples", "gpt2", "export.py"),
                    "--out-dir", d, "--layers", str(layers), "--hidden", str(hidden),
                    "--heads", str(heads), "--seq", str(seq), "--batch", str(batch)],
                   check=True, capture_output=True)
    ids = np.load(os.path.join(d, "input_ids.npy"))
    expected = np.load(os.path.join(d, "logits_torch.npy"))
    onnx_out = ort.InferenceSession(os.path.join(d, "gpt2.onnx")).run(None, {"input_ids": ids})[0]
    outs = import_and_run(os.path.join(d, "gpt2.onnx"), {"input_ids": ids}, d)
    tag = f"gpt2 {layers}x{hidden} seq {seq} batch {batch}"
    assert_close(f"{tag} vs torch", outs["logits"], expected)
    assert_close(f"{tag} vs onnxruntime", outs["logits"], onnx_out)
    ir = open(os.path.join(d, "model.mlir")).read()
    assert ir.count("accel.attention") == layers, "one attention op per layer"
    assert ir.count("{causal") == layers, "the causal mask became the causal flag"
    assert "accel.softmax" not in ir
    assert ir.count("accel.linear") >= 4 * layers
    print(f"{tag}: {layers} attention ops, causal")
