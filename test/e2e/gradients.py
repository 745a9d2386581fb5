# RUN: %python %s
# REQUIRES: python-ml
# Every op with a gradient rule, on random inputs of several shapes
# (broadcasting included): accel-differentiate's cotangents equal PyTorch
# autograd's within 1e-4 relative. Each case is a one-node ONNX model (or a
# two-node one where the importer forms the op), imported, differentiated
# with --accel-differentiate and run with accel-run --function main_grad.
import os

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper

from accel_testing import assert_close, run, workdir

d = workdir("gradients")
rng = np.random.default_rng(0)


def positive(shape):
    return (rng.random(shape, dtype=np.float32) + 0.5).astype(np.float32)


def normal(shape):
    return rng.standard_normal(shape, dtype=np.float32)


def case(name, nodes, inputs, torch_fn, opset=18, initializers=()):
    """inputs: list of (name, array); the model's output is 'y'."""
    in_infos = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
                for n, a in inputs]
    with torch.no_grad():
        y_shape = torch_fn(*[torch.from_numpy(a) for _, a in inputs]).shape
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, list(y_shape))
    graph = helper.make_graph(nodes, name, in_infos, [out], initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=9)
    base = os.path.join(d, name)
    onnx.save(model, base + ".onnx")
    run(["accel-translate", "--import-onnx", base + ".onnx", "-o", base + ".mlir"])
    run(["accel-opt", base + ".mlir", "--accel-differentiate", "-o", base + ".grad.mlir"])

    seed = normal(tuple(y_shape))
    args = ["accel-run", base + ".grad.mlir", "--function", "main_grad", "--quiet",
            "--output-dir", base + ".out"]
    for n, a in inputs + [("y.grad", seed)]:
        np.save(f"{base}.{n}.npy", a)
        args += ["--input", f"{n}={base}.{n}.npy"]
    run(args)

    tensors = [torch.from_numpy(a.copy()).requires_grad_(a.dtype == np.float32) for _, a in inputs]
    torch_fn(*tensors).backward(torch.from_numpy(seed))
    for (n, _), t in zip(inputs, tensors):
        if not t.requires_grad:  # indices have no cotangent
            assert not os.path.exists(os.path.join(base + ".out", f"{n}.grad.npy"))
            continue
        got = np.load(os.path.join(base + ".out", f"{n}.grad.npy"))
        assert_close(f"{name}: d{n}", got, t.grad.numpy())


def node(op, ins, **attrs):
    return helper.make_node(op, ins, ["y"], **attrs)


# Elementwise with broadcasting.
case("add", [node("Add", ["a", "b"])], [("a", normal((2, 3, 4))), ("b", normal((4,)))], torch.add)
case("sub", [node("Sub", ["a", "b"])], [("a", normal((2, 3, 4))), ("b", normal((3, 1)))], torch.sub)
case("mul", [node("Mul", ["a", "b"])], [("a", normal((2, 3, 4))), ("b", normal((1, 3, 1)))], torch.mul)
case("div", [node("Div", ["a", "b"])], [("a", normal((3, 4))), ("b", positive((4,)))], torch.div)
for op, fn, make in [("Neg", torch.neg, normal), ("Exp", torch.exp, normal), ("Log", torch.log, positive),
                     ("Sqrt", torch.sqrt, positive), ("Reciprocal", torch.reciprocal, positive),
                     ("Tanh", torch.tanh, normal), ("Relu", torch.relu, normal),
                     ("Sigmoid", torch.sigmoid, normal)]:
    for shape in [(7,), (2, 3, 5)]:
        case(f"{op.lower()}_{len(shape)}d", [node(op, ["x"])], [("x", make(shape))], fn)

for op, fn in [("Abs", torch.abs), ("Sin", torch.sin), ("Cos", torch.cos), ("Erf", torch.erf),
               ("Floor", torch.floor), ("Ceil", torch.ceil)]:
    case(op.lower(), [node(op, ["x"])], [("x", normal((3, 5)) * 2)], fn)
# max/min: the winner takes the cotangent, ties split it (integers make ties).
ties = lambda shape: rng.integers(-2, 3, shape).astype(np.float32)  # noqa: E731
case("max", [node("Max", ["a", "b"])], [("a", ties((3, 4))), ("b", ties((4,)))], torch.maximum)
case("min", [node("Min", ["a", "b"])], [("a", ties((2, 3, 4))), ("b", ties((3, 1)))], torch.minimum)

# Formed by the importer: silu from x * sigmoid(x), gelu from Gelu (opset 20).
case("silu", [helper.make_node("Sigmoid", ["x"], ["s"]), node("Mul", ["x", "s"])],
     [("x", normal((4, 6)))], F.silu)
for approx in ["none", "tanh"]:
    case(f"gelu_{approx}", [node("Gelu", ["x"], approximate=approx)], [("x", normal((3, 8)) * 2)],
         lambda x, a=approx: F.gelu(x, approximate=a), opset=20)

# Normalizations and reductions.
case("softmax", [node("Softmax", ["x"], axis=1)], [("x", normal((2, 5, 3)))], lambda x: torch.softmax(x, 1))
case("log_softmax", [node("LogSoftmax", ["x"], axis=-1)], [("x", normal((4, 6)))],
     lambda x: torch.log_softmax(x, -1))
axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
case("reduce_sum", [node("ReduceSum", ["x", "axes"], keepdims=0)], [("x", normal((2, 3, 4)))],
     lambda x: x.sum(1), initializers=[axes])
# cumsum in all four modes (torch has no exclusive/reverse flags: build them).
cumsum_axis = helper.make_tensor("axis", TensorProto.INT64, [], [1])
for exclusive in (0, 1):
    for reverse in (0, 1):
        def torch_cumsum(x, exclusive=exclusive, reverse=reverse):
            x = x.flip(1) if reverse else x
            y = x.cumsum(1) - (x if exclusive else 0)
            return y.flip(1) if reverse else y
        case(f"cumsum_e{exclusive}_r{reverse}", [node("CumSum", ["x", "axis"], exclusive=exclusive,
                                                        reverse=reverse)],
             [("x", normal((2, 5, 3)))], torch_cumsum, initializers=[cumsum_axis])
case("reduce_mean", [node("ReduceMean", ["x"], axes=[0, 2], keepdims=1)], [("x", normal((2, 3, 4)))],
     lambda x: x.mean((0, 2), keepdim=True), opset=17)

# amax/amin spread the cotangent evenly over tied extremes.
case("reduce_max", [node("ReduceMax", ["x", "axes"], keepdims=0)], [("x", ties((2, 3, 4)))],
     lambda x: x.amax(1), initializers=[axes])
case("reduce_min", [node("ReduceMin", ["x"], axes=[0, 2], keepdims=1)], [("x", ties((2, 3, 4)))],
     lambda x: x.amin((0, 2), keepdim=True), opset=17)

# Contractions: batched and broadcast matmul, a 2-D weight (a linear op),
# transposed operands, Gemm with bias.
case("matmul_batch", [node("MatMul", ["a", "b"])], [("a", normal((2, 3, 4, 5))), ("b", normal((3, 5, 6)))],
     torch.matmul)
case("matmul_bcast_lhs", [node("MatMul", ["a", "b"])], [("a", normal((4, 5))), ("b", normal((2, 5, 3)))],
     torch.matmul)
case("matmul_weight", [node("MatMul", ["a", "b"])], [("a", normal((2, 3, 5))), ("b", normal((5, 6)))],
     torch.matmul)
case("gemm_linear", [node("Gemm", ["a", "w", "c"], transB=1)],
     [("a", normal((4, 5))), ("w", normal((3, 5))), ("c", normal((3,)))],
     lambda a, w, c: a @ w.T + c)
case("gemm_transposed", [node("Gemm", ["a", "w"], transA=1, transB=1)],
     [("a", normal((5, 4))), ("w", normal((3, 5)))], lambda a, w: a.T @ w.T)

# Data movement.
shape = helper.make_tensor("shape", TensorProto.INT64, [2], [6, 4])
case("reshape", [node("Reshape", ["x", "shape"])], [("x", normal((2, 3, 4)))],
     lambda x: x.reshape(6, 4), initializers=[shape])
case("transpose", [node("Transpose", ["x"], perm=[2, 0, 1])], [("x", normal((2, 3, 4)))],
     lambda x: x.permute(2, 0, 1))
to = helper.make_tensor("to", TensorProto.INT64, [3], [2, 3, 4])
case("expand", [node("Expand", ["x", "to"])], [("x", normal((3, 1)))],
     lambda x: x.expand(2, 3, 4), initializers=[to])
# Powers, selects, slicing and joining.
three = helper.make_tensor("three", TensorProto.FLOAT, [], [3.0])
case("pow_const", [node("Pow", ["x", "three"])], [("x", normal((3, 4)))], lambda x: x ** 3,
     initializers=[three])
case("pow", [node("Pow", ["a", "b"])], [("a", positive((3, 4))), ("b", normal((4,)))], torch.pow)
cond = helper.make_tensor("cond", TensorProto.BOOL, [4], [True, False, True, True])
case("where", [node("Where", ["cond", "a", "b"])], [("a", normal((3, 4))), ("b", normal((1, 4)))],
     lambda a, b: torch.where(torch.tensor([True, False, True, True]), a, b), initializers=[cond])
starts = helper.make_tensor("starts", TensorProto.INT64, [2], [1, 2])
ends = helper.make_tensor("ends", TensorProto.INT64, [2], [3, 5])
axes2 = helper.make_tensor("axes2", TensorProto.INT64, [2], [0, 2])
case("slice", [node("Slice", ["x", "starts", "ends", "axes2"])], [("x", normal((4, 3, 6)))],
     lambda x: x[1:3, :, 2:5], initializers=[starts, ends, axes2])
steps = helper.make_tensor("steps", TensorProto.INT64, [2], [2, -3])
rstarts = helper.make_tensor("rstarts", TensorProto.INT64, [2], [1, 9])
rends = helper.make_tensor("rends", TensorProto.INT64, [2], [6, 0])
axes01 = helper.make_tensor("axes01", TensorProto.INT64, [2], [0, 1])
case("slice_strided_reversed", [node("Slice", ["x", "rstarts", "rends", "axes01", "steps"])],
     [("x", normal((7, 11)))], lambda x: x[1:6:2][:, [9, 6, 3]],
     initializers=[rstarts, rends, axes01, steps])
case("concat", [node("Concat", ["a", "b"], axis=1)], [("a", normal((2, 3))), ("b", normal((2, 5)))],
     lambda a, b: torch.cat([a, b], 1))
sizes = helper.make_tensor("sizes", TensorProto.INT64, [2], [2, 4])
case("split_one_used", [helper.make_node("Split", ["x", "sizes"], ["p", "q"], axis=1), node("Exp", ["q"])],
     [("x", normal((3, 6)))], lambda x: torch.exp(x[:, 2:]), initializers=[sizes])

# Normalizations.
case("layer_norm", [node("LayerNormalization", ["x", "g", "b"], axis=-1, epsilon=1e-5)],
     [("x", normal((2, 3, 8))), ("g", normal((8,))), ("b", normal((8,)))],
     lambda x, g, b: F.layer_norm(x, (8,), g, b, 1e-5), opset=17)
case("rms_norm", [node("RMSNormalization", ["x", "g"], axis=-1, epsilon=1e-6)],
     [("x", normal((2, 3, 8))), ("g", normal((8,)))],
     lambda x, g: F.rms_norm(x, (8,), g, 1e-6), opset=23)

# Embedding lookup (gather): the table's cotangent is a scatter-add, with
# repeated ids accumulating.
ids = np.array([[1, 4, 1], [0, 4, 4]], np.int64)
case("embedding", [node("Gather", ["table", "ids"], axis=0)], [("table", normal((6, 5))), ("ids", ids)],
     lambda table, i: F.embedding(i, table))
case("gather_axis1", [node("Gather", ["x", "ids"], axis=1)], [("x", normal((3, 6, 2))), ("ids", ids)],
     lambda x, i: x[:, i])

# Attention as exporters write it (formed into accel.attention, causal).
causal = helper.make_tensor("causal", TensorProto.BOOL, [5, 5],
                            np.tril(np.ones((5, 5), bool)).flatten().tolist())
fill = helper.make_tensor("fill", TensorProto.FLOAT, [], [-np.inf])
sc = helper.make_tensor("sc", TensorProto.FLOAT, [], [0.25])
case("attention_causal",
     [helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
      helper.make_node("MatMul", ["q", "kt"], ["s"]),
      helper.make_node("Mul", ["s", "sc"], ["ss"]),
      helper.make_node("Where", ["causal", "ss", "fill"], ["m"]),
      helper.make_node("Softmax", ["m"], ["p"], axis=-1),
      node("MatMul", ["p", "v"])],
     [("q", normal((2, 3, 5, 16))), ("k", normal((2, 3, 5, 16))), ("v", normal((2, 3, 5, 16)))],
     lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.25),
     initializers=[causal, fill, sc])
assert "accel.attention" in open(os.path.join(d, "attention_causal.mlir")).read()
print("all gradients match PyTorch")
