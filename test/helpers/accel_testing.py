"""Shared helpers of accel's Python-driven tests (run by lit with the venv)."""
import os
import subprocess
import sys
import tempfile

import numpy as np

TOOLS = os.environ.get("ACCEL_TOOLS_DIR", "")
SRC = os.environ.get("ACCEL_SRC_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))


def tool(name):
    return os.path.join(TOOLS, name) if TOOLS else name


def run(args, check=True, timeout=600):
    """Runs a tool; returns the CompletedProcess. On unexpected failure,
    prints what it said and fails the test."""
    proc = subprocess.run([tool(args[0])] + [str(a) for a in args[1:]],
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        sys.stderr.write(f"command failed ({proc.returncode}): {' '.join(map(str, args))}\n"
                         f"{proc.stdout}\n{proc.stderr}\n")
        raise SystemExit(1)
    return proc


def workdir(name):
    d = tempfile.mkdtemp(prefix=f"accel-{name}-")
    return d


def tiny_lm(vocab, hidden, batch, seq, head_name="head"):
    """MLIR of the smallest language model: an embedding lookup, then a
    linear head (parameters "emb" and `head_name`, input "input_ids")."""
    ids, h, out = f"tensor<{batch}x{seq}xi64>", f"tensor<{batch}x{seq}x{hidden}xf32>", f"tensor<{batch}x{seq}x{vocab}xf32>"
    w = f"tensor<{vocab}x{hidden}xf32>"
    return f"""
func.func @lm(%emb: {w} {{accel.param = "emb"}}, %w: {w} {{accel.param = "{head_name}"}},
              %ids: {ids} {{accel.input = "input_ids"}}) -> {out} {{
  %h = accel.gather %emb, %ids {{axis = 0 : i64}} : ({w}, {ids}) -> {h}
  %l = accel.linear %h, %w : ({h}, {w}) -> {out}
  return %l : {out}
}}
"""


def tiny_lm_step(d, name, vocab, hidden, batch, seq, options, seed):
    """tiny_lm's training step compiled to d/name-train.accx, with random
    initial weights in d/name.safetensors; returns both paths."""
    from safetensors.numpy import save_file
    src, train = os.path.join(d, f"{name}.mlir"), os.path.join(d, f"{name}-train.mlir")
    open(src, "w").write(tiny_lm(vocab, hidden, batch, seq))
    run(["accel-opt", src, f"--accel-make-train-step={options}", "-o", train])
    accx, weights = os.path.join(d, f"{name}-train.accx"), os.path.join(d, f"{name}.safetensors")
    run(["accel-translate", "--mlir-to-executable", train, "-o", accx])
    g = np.random.default_rng(seed)
    save_file({"emb": g.standard_normal((vocab, hidden)).astype(np.float32),
               "head": g.standard_normal((vocab, hidden)).astype(np.float32)}, weights)
    return accx, weights


def import_and_run(onnx_path, inputs, out_dir, input_shapes=None, extra_import=(), extra_run=()):
    """Imports `onnx_path`, runs it on `inputs` (name -> array) with
    accel-run options `extra_run` and returns the outputs as a dict name ->
    array."""
    os.makedirs(out_dir, exist_ok=True)
    mlir = os.path.join(out_dir, "model.mlir")
    args = ["accel-translate", "--import-onnx", onnx_path, "-o", mlir, *extra_import]
    for name, shape in (input_shapes or {}).items():
        args += ["--input-shape", f"{name}={'x'.join(map(str, shape)) or 'scalar'}"]
    run(args)
    run_args = ["accel-run", mlir, "--output-dir", os.path.join(out_dir, "out"), "--quiet", *extra_run]
    for name, value in inputs.items():
        path = os.path.join(out_dir, f"in_{len(run_args)}.npy")
        np.save(path, value)
        run_args += ["--input", f"{name}={path}"]
    run(run_args)
    outs = {}
    for f in os.listdir(os.path.join(out_dir, "out")):
        outs[f[:-4]] = np.load(os.path.join(out_dir, "out", f))
    return outs


def assert_close(name, actual, expected, rtol=1e-4, atol=None):
    """Relative comparison scaled by the reference's magnitude: |a - e| <=
    rtol * max(|e|) elementwise (plus atol), which is what 'equal within 1e-4
    relative' means for tensors with entries near zero."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    if actual.shape != expected.shape:
        raise AssertionError(f"{name}: shape {actual.shape} != reference {expected.shape}")
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    tol = rtol * max(scale, 1e-30) + (atol or 0.0)
    err = float(np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64)))) if expected.size else 0.0
    if not err <= tol:
        raise AssertionError(f"{name}: max abs error {err:.3g} exceeds {tol:.3g} "
                             f"(rtol {rtol} of max |ref| {scale:.3g})")
    print(f"{name}: max abs error {err:.3g} (max |ref| {scale:.3g}) ok")


def train_on_arrays(d, step_file, name, ranks, steps, arrays, seed=5, tool="accel-run"):
    """Trains `step_file` (weights d/model.safetensors) on the arrays
    d/<a>.npy for each input name in `arrays`, `steps` steps on `ranks`
    one-thread ranks, saving to d/name. Returns the logged losses and the
    final parameters as whole tensors (a split checkpoint consolidated).
    `tool` runs the step (accel-node for an executable)."""
    import json
    from safetensors.numpy import load_file
    out = os.path.join(d, name)
    data = [a for name_ in arrays for a in ("--data-array", f"{name_}={d}/{name_}.npy")]
    run([tool, step_file, "--weights", os.path.join(d, "model.safetensors"), *data,
         "--steps", steps, "--seed", seed, "--num-threads", 1, "--save-dir", out, "--quiet",
         *(["--nproc-per-node", ranks] if ranks > 1 else [])])
    losses = np.array([json.loads(line)["loss"] for line in open(os.path.join(out, "log.jsonl"))
                       if "loss" in json.loads(line)])
    saved = os.path.join(out, f"checkpoint-{steps}")
    if not os.path.exists(os.path.join(saved, "model.safetensors")):
        run(["accel-run", "--consolidate", saved, "--save-dir", os.path.join(out, "whole"), "--quiet"])
        saved = os.path.join(out, "whole")
    return losses, load_file(os.path.join(saved, "model.safetensors"))
