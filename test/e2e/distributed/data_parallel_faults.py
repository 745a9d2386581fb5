# RUN: %python %s
# REQUIRES: python-ml
# Faults during data-parallel training (dp=2, and dp=2 zero=3 whose
# checkpoints every rank writes together; checkpoints every 25 steps): a
# rank killed with SIGKILL mid-run, and a rank stopped with SIGSTOP. Each
# time the launcher names the rank, stops the other and exits non-zero
# within the communication timeout; the save directory holds only complete
# checkpoints; resuming from it reaches bitwise the parameters and
# optimizer state of an uninterrupted run.
import os
import signal
import subprocess
import time

import numpy as np
from safetensors.numpy import load_file

import fidelity
import hf_families
from accel_testing import run, tool, workdir

STEPS, SAVE_EVERY, TIMEOUT = 150, 25, 5
loop = fidelity.Loop(steps=STEPS)
d = workdir("data-parallel-faults")
data_args, _, _ = fidelity._data("gpt2", loop, d)
example = np.zeros((loop.batch, loop.seq), dtype=np.int64)
import torch  # noqa: E402
hf_families.export(hf_families.build("gpt2"), os.path.join(d, "model.onnx"), torch.from_numpy(example),
                   optimize=False, config=True)
run(["accel-translate", "--import-onnx", os.path.join(d, "model.onnx"), "-o", os.path.join(d, "model.mlir")])
train = os.path.join(d, "train.mlir")
run(["accel-opt", os.path.join(d, "model.mlir"), f"--accel-make-train-step={loop.accel_options()}", "-o", train])


def compile_layout(layout):
    name = layout.replace(" ", "-").replace("=", "")
    sharded, accx = os.path.join(d, f"train-{name}.mlir"), os.path.join(d, f"train-{name}.accx")
    run(["accel-opt", train, f"--accel-shard={layout}", "-o", sharded])
    run(["accel-translate", "--mlir-to-executable", sharded, "-o", accx])
    return accx


def command(accx, save_dir, resume=False):
    return [tool("accel-run"), accx, "--nproc-per-node", "2", "--num-threads", "1", "--weights",
            os.path.join(d, "model.safetensors"), *data_args, "--steps", str(STEPS), "--seed", str(loop.seed),
            "--save-dir", save_dir, "--save-every", str(SAVE_EVERY), "--comm-timeout", str(TIMEOUT), "--quiet",
            *(["--resume", save_dir] if resume else [])]


def state(save_dir):
    ck = fidelity.whole_checkpoint(save_dir, STEPS)
    return {**load_file(os.path.join(ck, "model.safetensors")), **load_file(os.path.join(ck, "optimizer.safetensors"))}


def rank_pid(launcher, rank):
    """The pid of `rank` among the launcher's children."""
    for _ in range(500):
        children = subprocess.run(["pgrep", "-P", str(launcher.pid)], capture_output=True, text=True).stdout.split()
        for pid in children:
            try:
                env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
            except OSError:
                continue
            if f"RANK={rank}".encode() in env:
                return int(pid)
        time.sleep(0.01)
    raise SystemExit(f"rank {rank} never started")


for layout in ("dp=2", "dp=2 zero=3"):
    accx = compile_layout(layout)
    reference = os.path.join(d, f"uninterrupted-{layout}")
    subprocess.run(command(accx, reference), check=True, timeout=600)
    want = state(reference)

    for fault in (signal.SIGKILL, signal.SIGSTOP):
        save = os.path.join(d, f"run-{fault.name}-{layout}")
        launcher = subprocess.Popen(command(accx, save), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        victim = rank_pid(launcher, 1)
        log = os.path.join(save, "log.jsonl")
        while not (os.path.exists(log) and open(log).read().count('"loss"') >= 60):
            assert launcher.poll() is None, f"the run ended before the fault: {launcher.communicate()[1]}"
            time.sleep(0.005)
        os.kill(victim, fault)
        hit = time.monotonic()
        _, err = launcher.communicate(timeout=TIMEOUT + 60)
        took = time.monotonic() - hit
        print(f"{layout}: {fault.name} of rank 1: the launcher exited {launcher.returncode} after {took:.1f} s: "
              f"{err.strip().splitlines()[-1] if err.strip() else ''}")
        assert launcher.returncode != 0, f"{fault.name}: the job reported success"
        assert "rank 1" in err, f"{fault.name}: the rank is not named: {err}"
        assert took < TIMEOUT + 30, f"{fault.name}: took {took:.0f} s to stop"
        kept = sorted(os.listdir(save))
        checkpoints = [n for n in kept if n.startswith("checkpoint-")]
        assert checkpoints and all(os.path.exists(os.path.join(save, n, "trainer_state.json")) for n in checkpoints), kept
        # (.lock: the run's lock on its save dir, held while it runs.)
        assert all(n in ("log.jsonl", ".lock") or n.startswith("checkpoint-") for n in kept), \
            f"partial files left: {kept}"
        # A split checkpoint's parts are all there (no rank's files missing).
        for n in checkpoints:
            files = os.listdir(os.path.join(save, n))
            assert "model.safetensors" in files or all(f"{k}-rank-0000{r}.safetensors" in files
                                                       for k in ("model", "optimizer") for r in (0, 1)), (n, files)
        assert f"checkpoint-{STEPS}" not in checkpoints, "the run finished before the fault"
        subprocess.run(command(accx, save, resume=True), check=True, timeout=600)
        got = state(save)
        for name in want:
            assert got[name].tobytes() == want[name].tobytes(), f"{fault.name}: {name} differs after resuming"
        print(f"{layout}: {fault.name}: resumed from {checkpoints[-1]}, {len(want)} tensors bitwise equal to the uninterrupted run")
