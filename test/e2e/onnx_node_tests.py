# RUN: %python %s --jobs 2
# REQUIRES: python-ml
"""Runs ONNX's own backend node tests through accel.

The cases (model, inputs, expected outputs) come from the installed onnx
package (onnx.backend.test.case.node). Each is imported with accel-translate
and run with accel-run, and classified:

  passed       outputs match within the case's tolerances
  unsupported  accel reported an unsupported op, type or attribute (a clear
               message and a non-zero exit, as it must)
  failed       anything else: a crash, a hang, a wrong result, or an error
               that is not an "unsupported" report

The test fails when any case fails. `--filter REGEX` runs a subset, `-v`
prints every case.
"""
import argparse
import collections
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import onnx
import onnx.numpy_helper

from accel_testing import tool

UNSUPPORTED = re.compile(r"unsupported|not supported|must be a constant|has no runtime counterpart")


def file_name(name):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "output"


# The numpy dtypes that .npy files and accel share.
NPY_DTYPES = {np.dtype(t) for t in ("f4", "f8", "f2", "i8", "i4", "i2", "i1", "u1", "?")}


def as_array(value):
    """Case data come as arrays, numpy scalars or TensorProtos."""
    if isinstance(value, onnx.TensorProto):
        return onnx.numpy_helper.to_array(value)
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value)
    return None


def classify(case, root):
    d = os.path.join(root, case.name)
    os.makedirs(d)
    model_path = os.path.join(d, "model.onnx")
    onnx.save(case.model, model_path)
    inputs, expected = case.data_sets[0]
    inputs = [as_array(x) for x in inputs]
    expected = [as_array(x) for x in expected]
    initializers = {t.name for t in case.model.graph.initializer}
    graph_inputs = [i.name for i in case.model.graph.input if i.name not in initializers]
    if len(inputs) != len(graph_inputs) or any(x is None for x in inputs + expected):
        return "unsupported", "sequence, map or optional values"
    if any(x.dtype not in NPY_DTYPES for x in inputs + expected):
        return "unsupported", "element types without a .npy form (strings, bf16, fp8, int4, ...)"
    mlir = os.path.join(d, "model.mlir")
    args = [tool("accel-translate"), "--import-onnx", model_path, "-o", mlir]
    run_args = [tool("accel-run"), mlir, "--output-dir", os.path.join(d, "out"), "--quiet",
                "--num-threads", "1"]
    for name, value in zip(graph_inputs, inputs):
        shape = "x".join(map(str, value.shape)) or "scalar"
        args += ["--input-shape", f"{name}={shape}"]
        path = os.path.join(d, f"in_{len(run_args)}.npy")
        np.save(path, np.require(value, requirements="C"))
        run_args += ["--input", f"{name}={path}"]

    for step, cmd in (("import", args), ("run", run_args)):
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            return "failed", f"{step} timed out"
        if proc.returncode != 0:
            message = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
            if proc.returncode != 1:
                return "failed", f"{step} crashed ({proc.returncode}): {message}"
            if UNSUPPORTED.search(message):
                return "unsupported", message
            return "failed", f"{step}: {message}"

    for out, want in zip(case.model.graph.output, expected):
        path = os.path.join(d, "out", file_name(out.name) + ".npy")
        if not os.path.exists(path):
            return "failed", f"no output {out.name}"
        got = np.load(path)
        want = np.asarray(want)
        if got.shape != want.shape:
            return "failed", f"output {out.name}: shape {got.shape}, expected {want.shape}"
        if got.dtype != want.dtype:
            return "failed", f"output {out.name}: dtype {got.dtype}, expected {want.dtype}"
        try:
            if want.dtype.kind in "fc":
                np.testing.assert_allclose(got, want, rtol=case.rtol, atol=case.atol)
            else:
                np.testing.assert_array_equal(got, want)
        except AssertionError as e:
            return "failed", f"output {out.name}: {str(e).strip().splitlines()[-1]}"
    shutil.rmtree(d)
    return "passed", ""


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--filter", default="", help="only cases whose name matches this regex")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()

    from onnx.backend.test.case import node
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = [c for c in node.collect_testcases(None) if re.search(args.filter, c.name)]
    root = tempfile.mkdtemp(prefix="accel-onnx-node-")
    results = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(classify, c, root): c.name for c in cases}
        for f in concurrent.futures.as_completed(futures):
            results[futures[f]] = f.result()

    by_status = collections.defaultdict(list)
    for name in sorted(results):
        status, why = results[name]
        by_status[status].append((name, why))
        if args.verbose or status == "failed":
            print(f"{status:11s} {name}: {why}")
    # Group by what was unsupported, without file names and node names.
    reasons = collections.Counter(
        re.sub(r"node '[^']*'|'[^']*'|\S*/\S*: ", "", why).replace("accel-translate: error: ", "")[:100]
        for _, why in by_status["unsupported"])
    print("most common unsupported reasons:")
    for why, n in reasons.most_common(15):
        print(f"  {n:4d}  {why}")
    print(f"onnx node tests: {len(by_status['passed'])} passed, {len(by_status['failed'])} failed, "
          f"{len(by_status['unsupported'])} unsupported (of {len(results)})")
    if not by_status["failed"]:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if by_status["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
