# RUN: %python %s
# REQUIRES: python-ml
# ONNX edge cases the importer must get right (compared with onnxruntime) or
# refuse with a message naming the node: empty pieces, zero-size dims,
# broadcast heads in attention, indices past a dim, missing inputs.
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

from accel_testing import assert_close, import_and_run, run, workdir

d = workdir("edge-cases")


def save(name, nodes, inputs, outputs, initializers=()):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=list(initializers))
    path = os.path.join(d, f"{name}.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)], ir_version=9), path)
    return path


def vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def check_same(path, feeds):
    want = ort.InferenceSession(path).run(None, feeds)
    got = import_and_run(path, feeds, os.path.join(d, os.path.basename(path)[:-5]))
    names = [o.name for o in onnx.load(path).graph.output]
    for name, w in zip(names, want):
        assert got[name].shape == w.shape, f"{path}: {name} shape {got[name].shape} != {w.shape}"
        assert_close(f"{os.path.basename(path)} {name}", got[name], w)


def check_refused(path, *fragments):
    proc = run(["accel-translate", "--import-onnx", path, "-o", os.path.join(d, "x.mlir")], check=False)
    assert proc.returncode == 1, proc.stderr
    for f in fragments:
        assert f in proc.stderr, f"{f!r} not in {proc.stderr!r}"
    print("refused:", proc.stderr.strip())


rng = np.random.default_rng(0)

# Concat with an empty piece, and of pieces that are all empty along other dims.
check_same(save("concat_empty", [helper.make_node("Concat", ["a", "b", "c"], ["y"], axis=1)],
                [vi("a", [2, 3]), vi("b", [2, 0]), vi("c", [2, 4])], [vi("y", [2, 7])]),
           {"a": rng.standard_normal((2, 3), np.float32), "b": np.zeros((2, 0), np.float32),
            "c": rng.standard_normal((2, 4), np.float32)})
check_same(save("concat_zero_rows", [helper.make_node("Concat", ["a", "b"], ["y"], axis=1)],
                [vi("a", [0, 2]), vi("b", [0, 3])], [vi("y", [0, 5])]),
           {"a": np.zeros((0, 2), np.float32), "b": np.zeros((0, 3), np.float32)})

# Flatten with a zero leading dim keeps the trailing size.
check_same(save("flatten_zero", [helper.make_node("Flatten", ["x"], ["y"], axis=1)],
                [vi("x", [0, 3, 2])], [vi("y", [0, 6])]), {"x": np.zeros((0, 3, 2), np.float32)})

# Slice with a huge step takes one element; negative steps on a reversed range.
starts = helper.make_tensor("starts", TensorProto.INT64, [2], [0, -1])
ends = helper.make_tensor("ends", TensorProto.INT64, [2], [10, -(2**63)])
steps = helper.make_tensor("steps", TensorProto.INT64, [2], [2**62, -2])
check_same(save("slice_steps", [helper.make_node("Slice", ["x", "starts", "ends", "", "steps"], ["y"])],
                [vi("x", [4, 5])], [vi("y", [1, 3])], [starts, ends, steps]),
           {"x": rng.standard_normal((4, 5), np.float32)})

# GatherElements and GatherND with constant indices.
gi = helper.make_tensor("gi", TensorProto.INT64, [2, 2], [1, 0, -1, 1])
check_same(save("gather_elements", [helper.make_node("GatherElements", ["x", "gi"], ["y"], axis=1)],
                [vi("x", [2, 3])], [vi("y", [2, 2])], [gi]), {"x": rng.standard_normal((2, 3), np.float32)})
ni = helper.make_tensor("ni", TensorProto.INT64, [2, 1, 2], [0, 1, 1, 2])
check_same(save("gather_nd", [helper.make_node("GatherND", ["x", "ni"], ["y"])],
                [vi("x", [2, 3, 4])], [vi("y", [2, 1, 4])], [ni]), {"x": rng.standard_normal((2, 3, 4), np.float32)})

# Multi-query attention (one key/value head broadcast over four query heads)
# is computed correctly; it is not an accel.attention, which needs equal heads.
q, k, v = vi("q", [1, 4, 5, 8]), vi("k", [1, 1, 5, 8]), vi("v", [1, 1, 5, 8])
scale = helper.make_tensor("scale", TensorProto.FLOAT, [], [0.35])
path = save("mqa", [helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
                    helper.make_node("MatMul", ["q", "kt"], ["s"]),
                    helper.make_node("Mul", ["s", "scale"], ["ss"]),
                    helper.make_node("Softmax", ["ss"], ["p"], axis=-1),
                    helper.make_node("MatMul", ["p", "v"], ["y"])],
            [q, k, v], [vi("y", [1, 4, 5, 8])], [scale])
check_same(path, {n: rng.standard_normal(s, np.float32) for n, s in
                  [("q", (1, 4, 5, 8)), ("k", (1, 1, 5, 8)), ("v", (1, 1, 5, 8))]})
assert "accel.attention" not in open(os.path.join(d, "mqa", "model.mlir")).read()

# IsNaN and IsInf (both signs, one sign, none) on NaN, +-inf and finite values.
special = np.array([[np.nan, np.inf, -np.inf, 0.0, -1.5, 3e38]], np.float32)
check_same(save("is_nan_inf", [helper.make_node("IsNaN", ["x"], ["nan"]),
                               helper.make_node("IsInf", ["x"], ["inf"]),
                               helper.make_node("IsInf", ["x"], ["pos"], detect_negative=0),
                               helper.make_node("IsInf", ["x"], ["neg"], detect_positive=0),
                               helper.make_node("IsInf", ["x"], ["none"], detect_positive=0, detect_negative=0)],
                [vi("x", [1, 6])], [vi(n, [1, 6], TensorProto.BOOL) for n in ["nan", "inf", "pos", "neg", "none"]]),
           {"x": special})

# Refused, with the node named: indices past a dim, repeated axes, a missing
# input.
bad = helper.make_tensor("bad", TensorProto.INT64, [2, 3], [0] * 6)
check_refused(save("gather_elements_bad", [helper.make_node("GatherElements", ["x", "bad"], ["y"], axis=0, name="ge")],
                   [vi("x", [2, 2])], [vi("y", [2, 3])], [bad]), "node 'ge'", "exceeds")
axes = helper.make_tensor("axes", TensorProto.INT64, [2], [0, 0])
check_refused(save("unsqueeze_repeat", [helper.make_node("Unsqueeze", ["x", "axes"], ["y"], name="uq")],
                   [vi("x", [3])], [vi("y", [1, 1, 3])], [axes]), "node 'uq'", "repeated axes")
check_refused(save("where_missing", [helper.make_node("Where", ["c", "x"], ["y"], name="w")],
                   [vi("c", [2], TensorProto.BOOL), vi("x", [2])], [vi("y", [2])]),
              "node 'w'", "needs 3 inputs")
print("edge cases ok")
