# RUN: %python %s
# REQUIRES: python-ml
# A vocabulary-parallel embedding, split by upstream's partition through
# accel's gather and scatter_add models: the table's rows split over a
# "tp" axis of two ranks, each rank gathers the rows it holds (ids shifted
# to its block, rows outside it zeroed) and an all-reduce adds the parts;
# the weight gradient's rows split the same way, each rank adding the
# updates whose ids fall in its block (a padding id skipped). Negative ids
# count from the end. Both equal numpy exactly, on two ranks.
import os

import numpy as np

from accel_testing import run, workdir

d = workdir("vocab-parallel")
rng = np.random.default_rng(0)
V, H, PAD = 10, 3, 7
table = rng.standard_normal((V, H)).astype(np.float32)
ids = np.array([[0, 9, 4, 5], [7, -1, 5, 2]], dtype=np.int64)  # both halves, a negative, the padding id
g = rng.standard_normal((2, 4, H)).astype(np.float32)


def dense(a):
    flat = ", ".join(repr(float(v)) if a.dtype.kind == "f" else str(int(v)) for v in a.ravel())
    return f"dense<[{flat}]> : tensor<{a.size}x{'f32' if a.dtype.kind == 'f' else 'i64'}>"


mlir = os.path.join(d, "embedding.mlir")
open(mlir, "w").write(f'''
shard.grid @grid(shape = 2) {{accel.axes = ["tp"]}}
func.func @main() -> (tensor<2x4x{H}xf32> {{accel.output = "rows"}}, tensor<{V}x{H}xf32> {{accel.output = "grad"}})
    attributes {{accel.metadata = {{grid_axes = "tp", grid_shape = "2"}}}} {{
  %tf = accel.constant {dense(table)}
  %t0 = accel.reshape %tf : (tensor<{V * H}xf32>) -> tensor<{V}x{H}xf32>
  %if = accel.constant {dense(ids)}
  %i = accel.reshape %if : (tensor<8xi64>) -> tensor<2x4xi64>
  %gf = accel.constant {dense(g)}
  %g = accel.reshape %gf : (tensor<{g.size}xf32>) -> tensor<2x4x{H}xf32>
  %rows = shard.sharding @grid split_axes = [[0]] : !shard.sharding
  %whole = shard.sharding @grid split_axes = [[]] : !shard.sharding
  %t = shard.shard %t0 to %rows annotate_for_users : tensor<{V}x{H}xf32>
  %e = accel.gather %t, %i {{axis = 0 : i64}} : (tensor<{V}x{H}xf32>, tensor<2x4xi64>) -> tensor<2x4x{H}xf32>
  %e1 = shard.shard %e to %whole annotate_for_users : tensor<2x4x{H}xf32>
  %dw = accel.scatter_add %g, %i {{axis = 0 : i64, skip_index = {PAD} : i64}} : (tensor<2x4x{H}xf32>, tensor<2x4xi64>) -> tensor<{V}x{H}xf32>
  %dw1 = shard.shard %dw to %rows : tensor<{V}x{H}xf32>
  %dw2 = shard.shard %dw1 to %whole annotate_for_users : tensor<{V}x{H}xf32>
  return %e1, %dw2 : tensor<2x4x{H}xf32>, tensor<{V}x{H}xf32>
}}
''')
split = os.path.join(d, "embedding-tp2.mlir")
run(["accel-opt", mlir, "-o", split, "--pass-pipeline=builtin.module(func.func(sharding-propagation"
     "{traversal=forward-backward},shard-partition,canonicalize,accel-lower-collectives))"])
text = open(split).read()
assert "accel.group_rank" in text and f"tensor<{V // 2}x{H}xf32>" in text, text
assert "accel.all_reduce" in text and "shard." not in text.split("func.func")[1], text

out = os.path.join(d, "out")
run(["accel-run", split, "--nproc-per-node", 2, "--num-threads", 1, "--output-dir", out, "--comm-timeout", 30])
rows, grad = np.load(os.path.join(out, "rows.npy")), np.load(os.path.join(out, "grad.npy"))
assert np.array_equal(rows, table[ids]), (rows, table[ids])
want = np.zeros_like(table)
for j, i in enumerate(ids.ravel()):
    if i % V != PAD:
        want[i % V] += g.reshape(-1, H)[j]
assert np.array_equal(grad, want), (grad, want)
print("vocabulary-parallel gather and scatter_add over tp=2 = numpy, bitwise")
