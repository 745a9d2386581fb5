# RUN: %python %s
# REQUIRES: python-ml, netns
# Two "nodes" on this machine: two network namespaces joined by a veth pair
# (10.77.0.1 and 10.77.0.2), one accel-run launcher per node
# (--nnodes 2 --node-rank K), meeting by address and port. Each rank must
# advertise the address its peers can reach (not a loopback one).
import os
import subprocess
import uuid

import numpy as np

from accel_testing import tool, workdir

d = workdir("two-nodes")
mlir = os.path.join(d, "sum.mlir")
open(mlir, "w").write('''
func.func @main(%x: tensor<3xf32> {accel.input = "x"}) -> (tensor<3xf32> {accel.output = "sum"}) {
  %0 = accel.all_reduce %x {group = "world", reduction = #accel<reduction sum>} : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
''')
x = np.array([1.0, 2.0, 3.5], np.float32)
np.save(os.path.join(d, "x.npy"), x)

tag = uuid.uuid4().hex[:6]
nodes = [f"accel-a-{tag}", f"accel-b-{tag}"]
veth = [f"va{tag}", f"vb{tag}"]
addrs = ["10.77.0.1", "10.77.0.2"]


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True)


try:
    for n in nodes:
        ip("netns", "add", n)
    ip("link", "add", veth[0], "type", "veth", "peer", "name", veth[1])
    for n, v, a in zip(nodes, veth, addrs):
        ip("link", "set", v, "netns", n)
        ip("-n", n, "addr", "add", f"{a}/24", "dev", v)
        ip("-n", n, "link", "set", v, "up")
        ip("-n", n, "link", "set", "lo", "up")
    procs = []
    for k, n in enumerate(nodes):
        procs.append(subprocess.Popen(
            ["ip", "netns", "exec", n, tool("accel-run"), mlir, "--nnodes", "2", "--node-rank", str(k),
             "--nproc-per-node", "1", "--master-addr", addrs[0], "--master-port", "29533",
             "--input", f"x={d}/x.npy", "--output-dir", os.path.join(d, f"out{k}"), "--comm-timeout", "30"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for k, p in enumerate(procs):
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, f"node {k} failed: {err}"
finally:
    for n in nodes:
        subprocess.run(["ip", "netns", "del", n], capture_output=True)

got = np.load(os.path.join(d, "out0", "sum.npy"))
assert np.array_equal(got, 2 * x), got
assert not os.path.exists(os.path.join(d, "out1")), "only global rank 0 writes outputs"
print("two nodes over a veth pair: all_reduce = 2x, rendezvous at 10.77.0.1:29533")
