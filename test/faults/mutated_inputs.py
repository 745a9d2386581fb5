# RUN: %python %s
# REQUIRES: python-ml
# The standing fault suite's corpus of damaged inputs (seeded, so every run
# tries the same cases): valid ONNX, MLIR, .accx, safetensors, .npy and
# trainer-state files with bytes flipped, cut, inserted or lines swapped,
# given to the tool that reads each. Every case ends in one of two ways: a
# clear error (exit 1, "<tool>: error:" or a diagnostic naming the file, no
# crash, no output left behind), or success. Damage the format can detect
# (an executable's checksum) must always be an error; success is then
# checked against the undamaged run where the format cannot tell (a flipped
# weight value is a different, valid model).
import json
import os
import random
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from accel_testing import run, tiny_lm_step, tool, workdir

d = workdir("mutated-inputs")
rng = random.Random(20261202)
SEED_CASES = int(os.environ.get("ACCEL_FAULT_CASES", "40"))  # per format
counts = {}


def mutate(data: bytes, text=False) -> bytes:
    """One to three random edits: flip, set, delete, insert, cut, or (for
    text) swap two lines."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["flip", "set", "delete", "insert", "cut"] + (["swap"] if text else []))
        pos = rng.randrange(max(1, len(data)))
        if kind == "flip" and data:
            data[pos] ^= 1 << rng.randrange(8)
        elif kind == "set" and data:
            data[pos] = rng.randrange(256) if not text else ord(rng.choice("{}[]()<>:,%@\"0123456789x- \n"))
        elif kind == "delete" and data:
            del data[pos:pos + rng.randint(1, 8)]
        elif kind == "insert":
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        elif kind == "cut":
            data = data[:pos]
        elif kind == "swap":
            lines = bytes(data).split(b"\n")
            if len(lines) > 2:
                i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
            data = bytearray(b"\n".join(lines))
    return bytes(data)


def attempt(fmt, args, must_fail=False, outputs=()):
    """Runs one case; returns the CompletedProcess. Asserts the outcome is a
    clean success or a clean error."""
    proc = subprocess.run([tool(args[0])] + [str(a) for a in args[1:]], capture_output=True, text=True,
                          errors="replace", timeout=120)
    where = f"{fmt} case {counts.get(fmt, 0)}: {' '.join(map(str, args))}"
    assert proc.returncode in (0, 1), f"{where}: exit {proc.returncode} (a crash?)\n{proc.stderr[-2000:]}"
    for bad in ("Stack dump", "terminate called", "Assertion", "Segmentation", "AddressSanitizer"):
        assert bad not in proc.stderr, f"{where}: {bad}\n{proc.stderr[-2000:]}"
    if proc.returncode == 1:
        assert "error" in proc.stderr, f"{where}: exit 1 without an error message\n{proc.stderr}"
        for out in outputs:
            assert not os.path.exists(out), f"{where}: {out} left behind after an error"
    elif must_fail:
        raise AssertionError(f"{where}: damage the format detects was accepted\n{proc.stderr}")
    counts[fmt] = counts.get(fmt, 0) + 1
    return proc


def summary(fmt, refused):
    print(f"ok: {counts[fmt]} damaged {fmt} inputs, {refused} refused with a message, the rest read cleanly")


# The undamaged inputs: a small ONNX MLP with buffers and biases, its IR,
# its executable and weights, a token file, a training checkpoint.
W1 = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)
W2 = np.random.default_rng(1).standard_normal((3, 8)).astype(np.float32)
graph = helper.make_graph(
    [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1, name="fc1"),
     helper.make_node("Relu", ["h"], ["r"], name="act"),
     helper.make_node("Gemm", ["r", "w2", "b2"], ["y"], transB=1, name="fc2")],
    "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
    initializer=[numpy_helper.from_array(W1, "w1"), numpy_helper.from_array(np.zeros(8, np.float32), "b1"),
                 numpy_helper.from_array(W2, "w2"), numpy_helper.from_array(np.ones(3, np.float32), "b2")])
model_path = os.path.join(d, "mlp.onnx")
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), model_path)
mlir = os.path.join(d, "mlp.mlir")
run(["accel-translate", "--import-onnx", model_path, "-o", mlir])
weights = os.path.join(d, "mlp.safetensors")
accx = os.path.join(d, "mlp.accx")
run(["accel-translate", "--mlir-to-executable", mlir, "-o", accx])
x = np.random.default_rng(2).standard_normal((2, 4)).astype(np.float32)
x_path = os.path.join(d, "x.npy")
np.save(x_path, x)
reference_dir = os.path.join(d, "reference")
run(["accel-run", accx, "--weights", weights, "--input", f"x={x_path}", "--output-dir", reference_dir, "--quiet"])
reference = np.load(os.path.join(reference_dir, "y.npy"))
assert np.allclose(reference, np.maximum(x @ W1.T, 0) @ W2.T + 1, atol=1e-5)

case_dir = os.path.join(d, "cases")
os.makedirs(case_dir)


def damaged(name, data):
    path = os.path.join(case_dir, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


# ONNX: imported, or refused naming the file; a model that imports is run.
onnx_bytes = open(model_path, "rb").read()
refused = 0
for i in range(SEED_CASES):
    bad = damaged(f"m{i}.onnx", mutate(onnx_bytes))
    out, w = os.path.join(case_dir, f"m{i}.mlir"), os.path.join(case_dir, f"m{i}.safetensors")
    proc = attempt("ONNX", ["accel-translate", "--import-onnx", bad, "-o", out], outputs=[out, w])
    if proc.returncode:
        assert bad in proc.stderr, proc.stderr
        refused += 1
summary("ONNX", refused)

# MLIR text: parsed and compiled, or refused with a diagnostic.
mlir_text = open(mlir, "rb").read()
refused = 0
for i in range(SEED_CASES):
    bad = damaged(f"m{i}.mlir", mutate(mlir_text, text=True))
    out = os.path.join(case_dir, f"m{i}-from-mlir.accx")
    proc = attempt("MLIR", ["accel-translate", "--mlir-to-executable", bad, "-o", out], outputs=[out])
    refused += proc.returncode != 0
summary("MLIR", refused)

# Executables: every damage is caught (checksum or verifier), never run.
accx_bytes = open(accx, "rb").read()
for i in range(SEED_CASES):
    data = bytearray(accx_bytes)
    data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)  # one bit: always detectable
    bad = damaged(f"e{i}.accx", bytes(data) if i % 2 == 0 else mutate(accx_bytes))
    out = os.path.join(case_dir, f"e{i}-out")
    proc = attempt("executable", ["accel-run", bad, "--weights", weights, "--input", f"x={x_path}",
                                  "--output-dir", out], must_fail=True, outputs=[out])
    assert bad in proc.stderr, proc.stderr
summary("executable", counts["executable"])


# Weights (safetensors) and inputs (.npy): refused, or run; a run whose
# header survived but whose bytes changed is a valid other model, so only a
# run on byte-identical files is compared with the reference.
def run_with(weights_file, input_file, fmt):
    out = os.path.join(case_dir, f"{fmt}-{counts.get(fmt, 0)}-out")
    proc = attempt(fmt, ["accel-run", accx, "--weights", weights_file, "--input", f"x={input_file}",
                         "--output-dir", out, "--quiet"], outputs=[out])
    return proc, out


for fmt, original, make_args in [("safetensors", weights, lambda p: (p, x_path)),
                                 ("npy", x_path, lambda p: (weights, p))]:
    data = open(original, "rb").read()
    refused = 0
    for i in range(SEED_CASES):
        changed = mutate(data)
        bad = damaged(f"{fmt}{i}", changed)
        proc, out = run_with(*make_args(bad), fmt)
        refused += proc.returncode != 0
        if proc.returncode == 0 and changed == data:
            assert np.array_equal(np.load(os.path.join(out, "y.npy")), reference)
    summary(fmt, refused)

# Trainer state: a training run's checkpoint with trainer_state.json
# damaged; resuming either refuses naming the file or goes on.
train_accx, lm_weights = tiny_lm_step(d, "lm", 16, 8, 2, 4, "lr=0.1", seed=3)
tokens = os.path.join(d, "tokens.bin")
(np.arange(400) % 16).astype(np.uint16).tofile(tokens)
save = os.path.join(d, "save")
run(["accel-run", train_accx, "--weights", lm_weights, "--data", tokens, "--steps", 2, "--save-dir", save,
     "--quiet"])
checkpoint = os.path.join(save, "checkpoint-2")
state_text = open(os.path.join(checkpoint, "trainer_state.json"), "rb").read()
json.loads(state_text)
refused = 0
for i in range(SEED_CASES):
    resume = os.path.join(case_dir, f"ckpt{i}")
    shutil.copytree(checkpoint, resume)
    open(os.path.join(resume, "trainer_state.json"), "wb").write(mutate(state_text, text=True))
    proc = attempt("trainer-state", ["accel-run", train_accx, "--data", tokens, "--steps", 4, "--resume", resume,
                                     "--quiet"])
    if proc.returncode:
        assert "trainer_state.json" in proc.stderr, proc.stderr
        refused += 1
summary("trainer-state", refused)
total = sum(counts.values())
print(f"ok: {total} damaged inputs in all, none crashed")
sys.exit(0)
