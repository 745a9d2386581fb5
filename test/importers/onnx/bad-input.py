# RUN: %python %s
# REQUIRES: python-ml
# Bad input gets one clear message naming the file, node or value, a non-zero
# exit, and leaves no output file behind.
import os
import stat

import numpy as np
import onnx
from onnx import TensorProto, helper

from accel_testing import run, workdir

d = workdir("bad-input")


def expect_error(args, *fragments, absent=()):
    proc = run(args, check=False)
    message = proc.stderr.strip()
    assert proc.returncode == 1, f"exit {proc.returncode} for {args}: {message}"
    assert message.count("\n") == 0, f"more than one line: {message!r}"
    for f in fragments:
        assert f in message, f"{f!r} not in {message!r}"
    for path in absent:
        assert not os.path.exists(path), f"{path} was left behind"
    print("ok:", message)


def model(nodes, inputs, outputs, initializers=(), opset=18):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
good = model([helper.make_node("Relu", ["x"], ["y"], name="relu0")], [x], [y])
good_path = os.path.join(d, "good.onnx")
onnx.save(good, good_path)
out = os.path.join(d, "out.mlir")
weights = os.path.join(d, "out.safetensors")

# A truncated file and a file that is not ONNX at all.
data = open(good_path, "rb").read()
trunc = os.path.join(d, "truncated.onnx")
open(trunc, "wb").write(data[: len(data) // 2])
expect_error(["accel-translate", "--import-onnx", trunc, "-o", out], trunc, "truncated",
             absent=[out, weights])
junk = os.path.join(d, "junk.onnx")
open(junk, "wb").write(b"\xff" * 64)
expect_error(["accel-translate", "--import-onnx", junk, "-o", out], junk, absent=[out, weights])
expect_error(["accel-translate", "--import-onnx", os.path.join(d, "missing.onnx"), "-o", out],
             "missing.onnx", absent=[out])

# A Hugging Face config that cannot be carried into checkpoints.
expect_error(["accel-translate", "--import-onnx", good_path, "-o", out, "--hf-config",
              os.path.join(d, "no-config.json")], "no-config.json", "cannot read", absent=[out, weights])
not_hf = os.path.join(d, "not-hf.json")
open(not_hf, "w").write('{"vocab_size": 3}')
expect_error(["accel-translate", "--import-onnx", good_path, "-o", out, "--hf-config", not_hf],
             not_hf, "model_type", absent=[out, weights])
# A config.json beside the model that is not a Hugging Face one is not ours
# to carry: the import goes on without it.
open(os.path.join(d, "config.json"), "w").write('{"learning_rate": 3}')
run(["accel-translate", "--import-onnx", good_path, "-o", out])
assert "hf_config" not in open(out).read()
os.remove(os.path.join(d, "config.json"))
os.remove(out)
os.remove(weights)

# An unsupported op names the node, the op type and the opset, and lists
# every unsupported op of the model, so one run shows the whole list.
unsup = os.path.join(d, "unsupported.onnx")
onnx.save(model([helper.make_node("Relu", ["x"], ["h"], name="first"),
                 helper.make_node("Hardmax", ["h"], ["h2"], name="the_hardmax"),
                 helper.make_node("Shrink", ["h2"], ["h3"], name="shrink"),
                 helper.make_node("Hardmax", ["h3"], ["y"], name="again")], [x], [y]), unsup)
expect_error(["accel-translate", "--import-onnx", unsup, "-o", out],
             unsup, "node 'the_hardmax'", "Hardmax", "opset 18", "unsupported op",
             "the model's unsupported ops: Hardmax (2 nodes), Shrink (1 node)", absent=[out, weights])

# A symbolic dim needs --input-shape; a wrong --input-shape is named.
sym = os.path.join(d, "symbolic.onnx")
xs = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])
ys = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])
onnx.save(model([helper.make_node("Relu", ["x"], ["y"])], [xs], [ys]), sym)
expect_error(["accel-translate", "--import-onnx", sym, "-o", out], "input 'x'", "'batch'",
             "--input-shape", absent=[out])
expect_error(["accel-translate", "--import-onnx", sym, "-o", out, "--input-shape", "x=4x5"],
             "input 'x'", "fixes it at 3", absent=[out])
expect_error(["accel-translate", "--import-onnx", sym, "-o", out, "--input-shape", "z=4x3"],
             "'z'", "not an input", absent=[out])
expect_error(["accel-translate", "--import-onnx", sym, "-o", out, "--input-shape", "x=4xq"],
             "'q' is not a dimension", absent=[out])

# An old opset is refused with what to do instead.
old = os.path.join(d, "old.onnx")
onnx.save(model([helper.make_node("Relu", ["x"], ["y"])], [x], [y], opset=11), old)
expect_error(["accel-translate", "--import-onnx", old, "-o", out], "opset 11", absent=[out])
# The newest opset of the pinned ONNX release imports; one past it (or 99)
# is refused. When the pin moves this fails until the converters have been
# checked against the new opsets and ModelValidity.h's bound is raised.
newest = onnx.defs.onnx_opset_version()
for opset, ok in [(newest, True), (newest + 1, False), (99, False)]:
    path = os.path.join(d, f"opset{opset}.onnx")
    onnx.save(model([helper.make_node("Relu", ["x"], ["y"])], [x], [y], opset=opset), path)
    if ok:
        run(["accel-translate", "--import-onnx", path, "-o", os.path.join(d, "newest.mlir")])
    else:
        expect_error(["accel-translate", "--import-onnx", path, "-o", out], f"opset {opset} is not supported",
                     f"13 to {newest}", absent=[out])


# A Range or ConstantOfShape folded into a constant past 1 GiB names the
# node and the size before anything is allocated (it used to abort the
# process); so does a Range without a finite length.
def constant_node(name, op, inputs, *fragments):
    inits = [onnx.numpy_helper.from_array(np.array(v, dtype=dt), n) for n, v, dt in inputs]
    path = os.path.join(d, f"{name}.onnx")
    onnx.save(model([helper.make_node(op, [n for n, _, _ in inputs], ["y"], name=name)], [],
                    [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits), path)
    expect_error(["accel-translate", "--import-onnx", path, "-o", out], path, f"node '{name}' ({op}", *fragments,
                 absent=[out])


f32 = np.float32
constant_node("range_huge", "Range", [("s", 0, f32), ("l", 2.0 ** 31, f32), ("d", 1, f32)],
              "its result (2147483648) would be a constant of 8589934592 bytes", "at most 1 GiB")
constant_node("range_inf", "Range", [("s", 0, f32), ("l", np.inf, f32), ("d", 1, f32)], "no finite length")
constant_node("fill_huge", "ConstantOfShape", [("shape", [2 ** 20, 2 ** 20], np.int64)],
              "its result (1048576x1048576) would be a constant of 4398046511104 bytes")
constant_node("fill_overflow", "ConstantOfShape", [("shape", [2 ** 40, 2 ** 40], np.int64)],
              "a constant of over 2^63 bytes")


# What onnx.checker and onnxruntime reject is refused, naming the node and
# value: a value defined twice (the last definition would win), a graph
# input listed twice, a use before definition, an output nothing defines.
def invalid(name, nodes, inputs, outputs, *fragments, initializers=()):
    m = model(nodes, inputs, outputs, initializers)
    try:
        onnx.checker.check_model(m, full_check=True)
        raise AssertionError(f"onnx.checker accepts {name}")
    except onnx.checker.ValidationError:
        pass
    path = os.path.join(d, f"{name}.onnx")
    onnx.save(m, path)
    expect_error(["accel-translate", "--import-onnx", path, "-o", out], path, *fragments, absent=[out])


invalid("twice-defined", [helper.make_node("Relu", ["x"], ["y"], name="a"),
                          helper.make_node("Neg", ["x"], ["y"], name="b")], [x], [y],
        "node 'b' (Neg): output 'y' is already defined by node 'a' (Relu)")
invalid("input-twice", [helper.make_node("Relu", ["x"], ["y"], name="a")], [x, x], [y],
        "graph input 'x' is listed twice")
invalid("input-redefined", [helper.make_node("Relu", ["x"], ["x"], name="a")], [x], [x],
        "node 'a' (Relu): output 'x' is already defined by graph input")
invalid("use-before-definition", [helper.make_node("Relu", ["t"], ["y"], name="a"),
                                  helper.make_node("Neg", ["x"], ["t"], name="b")], [x], [y],
        "node 'a' (Relu): input 't' is not defined before it")
w = onnx.numpy_helper.from_array(np.ones((2, 3), np.float32), "w")
invalid("initializer-twice", [helper.make_node("Add", ["x", "w"], ["y"], name="a")], [x], [y],
        "initializer 'w' is listed twice", initializers=[w, w])
invalid("undefined-output", [helper.make_node("Relu", ["x"], ["t"], name="a")], [x], [y],
        "graph output 'y' is not defined")

# Run time: a missing input, a wrong shape, a weights file that does not
# match the IR, a gather index out of range.
lin = os.path.join(d, "linear.onnx")
w = helper.make_tensor("fc.weight", TensorProto.FLOAT, [4, 3], np.ones(12, np.float32))
yl = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])
onnx.save(model([helper.make_node("Gemm", ["x", "fc.weight"], ["y"], transB=1)], [x], [yl], [w]), lin)
lin_mlir = os.path.join(d, "linear.mlir")
run(["accel-translate", "--import-onnx", lin, "-o", lin_mlir])
outdir = os.path.join(d, "run-out")
expect_error(["accel-run", lin_mlir, "--output-dir", outdir], "missing input 'x'", "f32 2x3",
             absent=[outdir])
x_bad = os.path.join(d, "x_bad.npy")
np.save(x_bad, np.zeros((3, 3), np.float32))
expect_error(["accel-run", lin_mlir, "--input", f"x={x_bad}", "--output-dir", outdir],
             "input 'x' is f32 3x3, the model expects f32 2x3", absent=[outdir])
other = os.path.join(d, "other.safetensors")
import safetensors.numpy
safetensors.numpy.save_file({"fc.weight": np.ones((4, 4), np.float32)}, other)
x_ok = os.path.join(d, "x.npy")
np.save(x_ok, np.ones((2, 3), np.float32))
expect_error(["accel-run", lin_mlir, "--weights", other, "--input", f"x={x_ok}", "--output-dir", outdir],
             other, "'fc.weight'", "4x4", "4x3", absent=[outdir])
safetensors.numpy.save_file({"other.weight": np.ones((4, 3), np.float32)}, other)
expect_error(["accel-run", lin_mlir, "--weights", other, "--input", f"x={x_ok}", "--output-dir", outdir],
             other, "fc.weight", absent=[outdir])

emb = os.path.join(d, "embedding.onnx")
table = helper.make_tensor("wte.weight", TensorProto.FLOAT, [5, 2], np.arange(10, dtype=np.float32))
ids = helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 3])
ye = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 2])
onnx.save(model([helper.make_node("Gather", ["wte.weight", "ids"], ["y"], name="embed")], [ids], [ye], [table]), emb)
emb_mlir = os.path.join(d, "embedding.mlir")
run(["accel-translate", "--import-onnx", emb, "-o", emb_mlir])
ids_bad = os.path.join(d, "ids.npy")
np.save(ids_bad, np.array([[0, 7, 1]], np.int64))
expect_error(["accel-run", emb_mlir, "--input", f"ids={ids_bad}", "--output-dir", outdir],
             "kernel 'gather' at node 'embed'", "index 7", "size 5", absent=[outdir])

# An executable cut short, and one from another format version.
accx = os.path.join(d, "linear.accx")
run(["accel-translate", "--mlir-to-executable", lin_mlir, "-o", accx])
blob = open(accx, "rb").read()
cut = os.path.join(d, "cut.accx")
open(cut, "wb").write(blob[: len(blob) - 40])
expect_error(["accel-run", cut, "--input", f"x={x_ok}", "--output-dir", outdir], cut, absent=[outdir])
# The version is the root table's first field; bump it in place.
import struct
root = struct.unpack_from("<I", blob, 0)[0]
vtable = root - struct.unpack_from("<i", blob, root)[0]
version_at = root + struct.unpack_from("<H", blob, vtable + 4)[0]
current = struct.unpack_from("<I", blob, version_at)[0]
assert 0 < current < 99, current
bumped = bytearray(blob)
struct.pack_into("<I", bumped, version_at, 99)
future = os.path.join(d, "future.accx")
open(future, "wb").write(bytes(bumped))
expect_error(["accel-run", future, "--input", f"x={x_ok}", "--output-dir", outdir], future,
             "format version 99", f"reads version {current}", absent=[outdir])
# Outputs that would destroy an input, or a file that is not one, are
# refused: -o equal to the model, --weights equal to -o, and -o naming a
# pipe (atomic replacement would have turned it into a regular file).
before = open(good_path, "rb").read()
expect_error(["accel-translate", "--import-onnx", good_path, "-o", good_path],
             f"-o '{good_path}' is the input file: refusing to overwrite an input")
assert open(good_path, "rb").read() == before, "the model was overwritten"
same = os.path.join(d, "same.mlir")
expect_error(["accel-translate", "--import-onnx", good_path, "-o", same, "--weights", same],
             f"--weights '{same}' is the -o file", absent=[same])
pipe = os.path.join(d, "pipe")
os.mkfifo(pipe)
expect_error(["accel-translate", "--import-onnx", good_path, "-o", pipe, "--weights", os.path.join(d, "p.safetensors")],
             "not a regular file (a device, pipe, socket or directory): refusing to replace it",
             absent=[os.path.join(d, "p.safetensors")])
assert stat.S_ISFIFO(os.stat(pipe).st_mode), "the pipe was replaced by a file"
print("all bad inputs reported")
