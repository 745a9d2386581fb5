# RUN: %python %s
# REQUIRES: python-ml
# Exactly PyTorch's trainable set. Freshly initialized models (zero biases,
# unit norms, buffers), exported as users export them:
#   * training exports (optimize=False) of GPT-2, Llama and BERT import with
#     the parameters of named_parameters() as accel.param and nothing else;
#     the rotary frequencies (a buffer) are not a parameter; embeddings keep
#     their padding_idx (a row without gradient);
#   * a module with a zero bias, a persistent and a non-persistent buffer:
#     the bias is a parameter, the persistent buffer an accel.buffer (saved,
#     never trained); training it with one layer frozen updates exactly the
#     tensors that require grad, as PyTorch does;
#   * a default export (the optimizer on, which merges and removes
#     parameters) imports but refuses training, saying what to change;
#   * a TorchScript export carries no record: the step asks for trainable=.
import os
import re
import warnings

import numpy as np
import torch
from safetensors.numpy import load_file

import hf_families
from accel_testing import assert_close, run, workdir
from training_reference import batch_ids, read_log, train_torch

warnings.simplefilter("ignore")
d = workdir("trainable-set")


def imported_args(mlir_path):
    ir = open(mlir_path).read()
    header = ir[ir.index("func.func @main"):ir.index("{\n", ir.index("func.func @main"))]
    return (re.findall(r'accel\.param = "([^"]+)"', header),
            re.findall(r'accel\.buffer = "([^"]+)"', header))


def import_model(path, name):
    mlir = os.path.join(d, f"{name}.mlir")
    run(["accel-translate", "--import-onnx", path, "-o", mlir])
    return mlir


# 1. Training exports of Hugging Face families: the parameter set.
ids = torch.randint(0, hf_families.VOCAB, (2, 16), generator=torch.Generator().manual_seed(1))
for family in ["gpt2", "llama", "bert"]:
    model = hf_families.build(family)
    path = os.path.join(d, f"{family}.onnx")
    hf_families.export(model, path, ids, optimize=False)
    params, buffers = imported_args(import_model(path, family))
    # Tied weights (GPT-2's head and embedding) are one parameter with two
    # names; the export keeps one of them.
    got = {id(model.get_parameter(n)) for n in params}
    want = {id(p) for _, p in model.named_parameters()}
    assert len(params) == len(got), f"{family}: a parameter imported twice: {params}"
    assert got == want, (f"{family}: imported parameters differ from named_parameters(): missing "
                         f"{[n for n, p in model.named_parameters() if id(p) not in got]}")
    assert not buffers, f"{family}: non-persistent buffers must be constants, not {buffers}"
    # nn.Embedding(padding_idx=) is read from the exporter's record: that
    # row gets no gradient (BERT's pad token 0; GPT-2 has none).
    paddings = re.findall(r"accel\.gather .*padding_idx = (\d+)", open(os.path.join(d, f"{family}.mlir")).read())
    want_pad = [str(m.padding_idx) for m in model.modules()
                if isinstance(m, torch.nn.Embedding) and m.padding_idx is not None]
    assert paddings == want_pad, f"{family}: padding indices {paddings}, the model has {want_pad}"
    print(f"{family}: {len(params)} parameters = named_parameters(), buffers as constants")


# 2. Zero bias, persistent and non-persistent buffers; frozen layer.
class Scaled(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Linear(6, 8)
        self.norm = torch.nn.LayerNorm(8)
        self.head = torch.nn.Linear(8, 3)
        torch.nn.init.zeros_(self.head.bias)
        self.register_buffer("scale", torch.full((3,), 1.5))          # persistent
        self.register_buffer("shift", torch.full((3,), 0.25), persistent=False)

    def forward(self, x):
        return self.head(self.norm(torch.tanh(self.body(x)))) * self.scale + self.shift


torch.manual_seed(0)
model = Scaled()
STEPS, BATCH, EXAMPLES = 6, 4, 24
x = np.random.default_rng(1).standard_normal((EXAMPLES, 6)).astype(np.float32)
y = np.random.default_rng(2).integers(0, 3, EXAMPLES).astype(np.int64)
np.save(os.path.join(d, "x.npy"), x)
np.save(os.path.join(d, "y.npy"), y)
path = os.path.join(d, "scaled.onnx")
torch.onnx.export(model.eval(), (torch.from_numpy(x[:BATCH]),), path, input_names=["x"],
                  output_names=["out"], dynamo=True, optimize=False)
mlir = import_model(path, "scaled")
params, buffers = imported_args(mlir)
assert sorted(params) == sorted(n for n, _ in model.named_parameters()), params
assert buffers == ["scale"], buffers
weights = load_file(os.path.join(d, "scaled.safetensors"))
assert "shift" not in weights and np.array_equal(weights["scale"], model.scale.numpy())
assert not weights["head.bias"].any(), "the zero bias must be imported as it is"

train = os.path.join(d, "scaled-train.mlir")
proc = run(["accel-opt", mlir, "--accel-make-train-step=optimizer=adamw lr=1e-2 weight-decay=0.01 freeze=^body\\. "
            "report-trainable=true", "-o", train])
assert "trains 4 of 6 parameters" in proc.stderr and "buffers: 1" in proc.stderr, proc.stderr
run(["accel-run", train, "--weights", os.path.join(d, "scaled.safetensors"), "--data-array",
     f"x={d}/x.npy", "--data-array", f"labels={d}/y.npy", "--steps", STEPS, "--seed", 3,
     "--save", os.path.join(d, "ck"), "--quiet"])
model.body.requires_grad_(False)
batches = ((torch.from_numpy(x[i]), torch.from_numpy(y[i])) for i in batch_ids(EXAMPLES, BATCH, STEPS, 3))
losses = train_torch(model, batches, torch.nn.functional.cross_entropy,
                     torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2,
                                      weight_decay=0.01))
assert_close("losses", [r["loss"] for r in read_log(os.path.join(d, "ck", "log.jsonl"))], losses, rtol=1e-5)
final = load_file(os.path.join(d, "ck", f"checkpoint-{STEPS}", "model.safetensors"))
for name, tensor in list(model.named_parameters()) + [("scale", model.scale)]:
    assert_close(name, final[name], tensor.detach().numpy(), rtol=1e-5)
for name in ["body.weight", "body.bias", "scale"]:
    assert np.array_equal(final[name], weights[name]), f"{name} must not change"
assert np.abs(final["head.bias"]).max() > 1e-4, "the zero-initialized bias must train"
print("frozen layer and buffer unchanged, zero bias trained, as in PyTorch")

# 3. A default export: the optimizer removed the zero bias.
default = os.path.join(d, "default.onnx")
torch.onnx.export(Scaled().eval(), (torch.from_numpy(x[:BATCH]),), default)
mlir = import_model(default, "default")
proc = run(["accel-opt", mlir, "--accel-make-train-step", "-o", os.devnull], check=False)
assert proc.returncode != 0 and "optimize=False" in proc.stderr and "head_bias" in proc.stderr, proc.stderr
print("default export: refused for training:", proc.stderr.strip().splitlines()[0][:160], "...")

# 4. TorchScript export: no record of parameters.
legacy = os.path.join(d, "legacy.onnx")
torch.onnx.export(Scaled().eval(), (torch.from_numpy(x[:BATCH]),), legacy, dynamo=False,
                  input_names=["x"], output_names=["out"])
mlir = import_model(legacy, "legacy")
proc = run(["accel-opt", mlir, "--accel-make-train-step", "-o", os.devnull], check=False)
assert proc.returncode != 0 and "trainable=" in proc.stderr, proc.stderr
run(["accel-opt", mlir, "--accel-make-train-step=trainable=^(body|norm|head)\\.", "-o", os.devnull])
print("TorchScript export: trainable= required and accepted")
