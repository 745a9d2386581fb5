# RUN: %python %s
# REQUIRES: python-ml
# An MLP exported by both torch.onnx exporters, imported and run by accel:
# outputs equal PyTorch's and onnxruntime's within 1e-4 relative.
import os
import warnings

import numpy as np
import onnxruntime as ort
import torch

from accel_testing import assert_close, import_and_run, workdir

torch.manual_seed(0)


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(24, 64), torch.nn.GELU(), torch.nn.Linear(64, 64),
            torch.nn.ReLU(), torch.nn.LayerNorm(64), torch.nn.Linear(64, 10))

    def forward(self, x):
        return torch.log_softmax(self.net(x), dim=-1)


model = MLP().eval()
for batch_shape in [(8,), (2, 5)]:
    x = torch.randn(*batch_shape, 24)
    with torch.no_grad():
        expected = model(x).numpy()
    for exporter in ["torchscript", "dynamo"]:
        d = workdir(f"mlp-{exporter}")
        path = os.path.join(d, "mlp.onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (x,), path, input_names=["x"], output_names=["y"],
                              opset_version=18, dynamo=exporter == "dynamo")
        onnx_out = ort.InferenceSession(path).run(None, {"x": x.numpy()})[0]
        outs = import_and_run(path, {"x": x.numpy()}, d)
        tag = f"mlp {exporter} {batch_shape}"
        assert_close(f"{tag} vs torch", outs["y"], expected)
        assert_close(f"{tag} vs onnxruntime", outs["y"], onnx_out)
