# RUN: %python %s
# REQUIRES: python-ml
# accel's collectives across processes, started the three ways users start
# ranks: accel-run --nproc-per-node, torchrun, and by hand with torchrun's
# environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) per rank. Checks:
#   * all_reduce (sum), all_gather and reduce_scatter (max; along dim 0
#     and along dim 1) give numpy's results, with different inputs per
#     rank; all_slice keeps each rank's
#     own block (gathered to check both);
#   * on a 2 x 2 grid (dp x tp), each axis's groups and the world reduce
#     and gather over the right ranks;
#   * ranks started with different runs are refused at start-up;
#   * one process alone refuses a model with collectives, naming the group;
#   * a rank killed mid-run makes the launcher say which rank died, stop
#     the other and exit non-zero, within the communication timeout.
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np

from accel_testing import run, tool, workdir

d = workdir("collectives")
mlir = os.path.join(d, "collectives.mlir")
open(mlir, "w").write('''
func.func @main(%x: tensor<4x3xf32> {accel.input = "x"}) -> (
    tensor<4x3xf32> {accel.output = "sum"}, tensor<8x3xf32> {accel.output = "gathered"},
    tensor<2x3xf32> {accel.output = "scattered"}, tensor<4x3xf32> {accel.output = "blocks"},
    tensor<4x6xf32> {accel.output = "gathered1"}, tensor<4x3xf32> {accel.output = "scattered1"}) {
  %0 = accel.all_reduce %x {group = "world", reduction = #accel<reduction sum>} : (tensor<4x3xf32>) -> tensor<4x3xf32>
  %1 = accel.all_gather %x {group = "world"} : (tensor<4x3xf32>) -> tensor<8x3xf32>
  %2 = accel.reduce_scatter %x {group = "world", reduction = #accel<reduction max>} : (tensor<4x3xf32>) -> tensor<2x3xf32>
  %3 = accel.all_slice %x {group = "world", axis = 0 : i64} : (tensor<4x3xf32>) -> tensor<2x3xf32>
  %4 = accel.all_gather %3 {group = "world"} : (tensor<2x3xf32>) -> tensor<4x3xf32>
  %5 = accel.all_gather %x {group = "world", axis = 1 : i64} : (tensor<4x3xf32>) -> tensor<4x6xf32>
  %6 = accel.mul %5, %5 : (tensor<4x6xf32>, tensor<4x6xf32>) -> tensor<4x6xf32>
  %7 = accel.reduce_scatter %6 {group = "world", reduction = #accel<reduction sum>, axis = 1 : i64} : (tensor<4x6xf32>) -> tensor<4x3xf32>
  return %0, %1, %2, %4, %5, %7 : tensor<4x3xf32>, tensor<8x3xf32>, tensor<2x3xf32>, tensor<4x3xf32>, tensor<4x6xf32>, tensor<4x3xf32>
}
''')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_ranks(model, inputs, name):
    """Runs `model` on len(inputs) ranks started by hand with torchrun's
    environment, rank r on inputs[r]; rank r writes to <d>/<name><r>."""
    port = free_port()
    procs = []
    for rank, x in enumerate(inputs):
        np.save(os.path.join(d, f"{name}-x{rank}.npy"), x)
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE=str(len(inputs)), LOCAL_RANK=str(rank),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        procs.append(subprocess.Popen([tool("accel-run"), model, "--input", f"x={d}/{name}-x{rank}.npy",
                                       "--num-threads", "1", "--output-dir", os.path.join(d, f"{name}{rank}"),
                                       "--comm-timeout", "30"],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for rank, p in enumerate(procs):
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, f"{name}: rank {rank} failed: {err}"


rng = np.random.default_rng(0)
xs = [rng.standard_normal((4, 3)).astype(np.float32) for _ in range(2)]
np.save(os.path.join(d, "x0.npy"), xs[0])
run_ranks(mlir, xs, "out")
assert not os.path.exists(os.path.join(d, "out1")), "only rank 0 writes outputs"
got = {n: np.load(os.path.join(d, "out0", f"{n}.npy"))
       for n in ["sum", "gathered", "scattered", "blocks", "gathered1", "scattered1"]}
assert np.array_equal(got["blocks"], np.concatenate([xs[0][:2], xs[1][2:]])), "all_slice"
assert np.array_equal(got["sum"], xs[0] + xs[1]), "all_reduce sum"
assert np.array_equal(got["gathered"], np.concatenate(xs)), "all_gather"
assert np.array_equal(got["scattered"], np.maximum(xs[0], xs[1])[:2]), "reduce_scatter max, rank 0's block"
# Along dim 1 (an embedding table of an odd vocabulary split by its
# features under ZeRO): the same on blocks of columns.
joined = np.concatenate(xs, axis=1)
assert np.array_equal(got["gathered1"], joined), "all_gather along dim 1"
assert np.array_equal(got["scattered1"], (joined * joined + joined * joined)[:, :3]), "reduce_scatter along dim 1"
print("torchrun-style ranks: all_reduce, all_gather, reduce_scatter (dims 0 and 1) = numpy")

# A 2 x 2 grid (dp x tp; ranks row-major, tp fastest): each axis has its
# own communicators, "dp,tp" is the world. Each rank's sums over its tp
# and dp groups, gathered over the world, show every group's members.
grid = os.path.join(d, "grid.mlir")
open(grid, "w").write('''
func.func @main(%x: tensor<2x3xf32> {accel.input = "x"}) -> (
    tensor<8x3xf32> {accel.output = "tp_sums"}, tensor<8x3xf32> {accel.output = "dp_sums"},
    tensor<2x3xf32> {accel.output = "total"}, tensor<4x3xf32> {accel.output = "tp_gathered"})
    attributes {accel.metadata = {grid_axes = "dp,tp", grid_shape = "2,2"}} {
  %tp = accel.all_reduce %x {group = "tp", reduction = #accel<reduction sum>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %dp = accel.all_reduce %x {group = "dp", reduction = #accel<reduction sum>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %all = accel.all_reduce %x {group = "dp,tp", reduction = #accel<reduction sum>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %tps = accel.all_gather %tp {group = "world"} : (tensor<2x3xf32>) -> tensor<8x3xf32>
  %dps = accel.all_gather %dp {group = "world"} : (tensor<2x3xf32>) -> tensor<8x3xf32>
  %g = accel.all_gather %x {group = "tp"} : (tensor<2x3xf32>) -> tensor<4x3xf32>
  return %tps, %dps, %all, %g : tensor<8x3xf32>, tensor<8x3xf32>, tensor<2x3xf32>, tensor<4x3xf32>
}
''')
gx = [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(4)]
run_ranks(grid, gx, "grid")
got = {n: np.load(os.path.join(d, "grid0", f"{n}.npy")) for n in ["tp_sums", "dp_sums", "total", "tp_gathered"]}
tp_sum = [gx[2 * (r // 2)] + gx[2 * (r // 2) + 1] for r in range(4)]
dp_sum = [gx[r % 2] + gx[2 + r % 2] for r in range(4)]
assert np.array_equal(got["tp_sums"], np.concatenate(tp_sum)), "all_reduce over tp groups {0,1}, {2,3}"
assert np.array_equal(got["dp_sums"], np.concatenate(dp_sum)), "all_reduce over dp groups {0,2}, {1,3}"
assert np.allclose(got["total"], sum(gx), rtol=1e-6), "all_reduce over dp,tp (the world)"
assert np.array_equal(got["tp_gathered"], np.concatenate(gx[:2])), "all_gather over rank 0's tp group"
print("2 x 2 grid: all_reduce over tp, dp and dp,tp, all_gather over tp = numpy, on every rank")

# accel's own launcher: the same inputs on both ranks.
out = os.path.join(d, "launched")
run(["accel-run", mlir, "--nproc-per-node", 2, "--master-port", free_port(), "--input", f"x={d}/x0.npy",
     "--output-dir", out, "--comm-timeout", 20])
assert np.array_equal(np.load(os.path.join(out, "sum.npy")), 2 * xs[0])
assert np.array_equal(np.load(os.path.join(out, "gathered.npy")), np.concatenate([xs[0], xs[0]]))
print("accel-run --nproc-per-node 2: the same results")

# Under torchrun itself (its agent holds MASTER_PORT; accel uses the next).
torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
out = os.path.join(d, "torchrun")
proc = subprocess.run([torchrun, "--nproc-per-node", "2", "--master-port", str(free_port()), "--no-python",
                       tool("accel-run"), mlir, "--input", f"x={d}/x0.npy", "--output-dir", out,
                       "--comm-timeout", "20"], capture_output=True, text=True, timeout=300)
assert proc.returncode == 0, proc.stderr
assert np.array_equal(np.load(os.path.join(out, "sum.npy")), 2 * xs[0])
print("torchrun --nproc-per-node 2 --no-python accel-run: the same results")

# Ranks started with different runs are stopped before they exchange
# anything, each saying which rank differs.
port = free_port()
mismatched = []
for rank, repeat in enumerate(["1", "2"]):
    env = dict(os.environ, RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    mismatched.append(subprocess.Popen([tool("accel-run"), mlir, "--input", f"x={d}/x0.npy", "--repeat", repeat,
                                        "--comm-timeout", "20"], env=env, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True))
for rank, p in enumerate(mismatched):
    _, err = p.communicate(timeout=120)
    assert p.returncode == 1 and "rank 1 runs another executable or function than rank 0" in err, err
print("mismatched ranks:", err.strip())

# One process: the collectives have no communicator.
proc = run(["accel-run", mlir, "--input", f"x={d}/x0.npy"], check=False)
assert proc.returncode == 1 and "group 'world'" in proc.stderr and "--nproc-per-node" in proc.stderr, proc.stderr
print("one process:", proc.stderr.strip())

# A rank killed mid-run: the launcher names it and stops the other.
launcher = subprocess.Popen([tool("accel-run"), mlir, "--nproc-per-node", "2", "--master-port", str(free_port()),
                             "--input", f"x={d}/x0.npy", "--repeat", "100000000", "--comm-timeout", "5",
                             "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
children = []
deadline = time.time() + 30
while len(children) < 2 and time.time() < deadline:
    time.sleep(0.5)
    children = subprocess.run(["pgrep", "-P", str(launcher.pid)], capture_output=True,
                              text=True).stdout.split()
assert len(children) == 2, f"the launcher started {children}"
time.sleep(1.0)  # both are running collectives now
start = time.time()
os.kill(int(children[1]), signal.SIGKILL)
_, err = launcher.communicate(timeout=60)
took = time.time() - start
assert launcher.returncode != 0, "the launcher succeeded after losing a rank"
assert "rank 1 was killed by signal 9" in err, err
assert took < 30, f"the job took {took:.1f} s to stop"
summary = next(line for line in err.splitlines() if "was killed" in line)
print(f"killed rank 1: the job stopped in {took:.1f} s: {summary}")
