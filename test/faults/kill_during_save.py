# RUN: %python %s
# REQUIRES: python-ml
# kill -9 at seeded random moments of a run that saves a checkpoint every
# step (saves of 3 MiB, so many kills land inside one). Each time, every
# checkpoint directory left is complete: the newest resumes, and resuming
# reaches bitwise the state of an uninterrupted run; what a killed save
# left half-written is a hidden temporary that the next run removes.
import os
import random
import signal
import subprocess
import time

import numpy as np
from safetensors.numpy import load_file

from accel_testing import run, tiny_lm_step, tool, workdir

d = workdir("kill-during-save")
rng = random.Random(7)
VOCAB, HIDDEN = 512, 256
accx, weights = tiny_lm_step(d, "lm", VOCAB, HIDDEN, 2, 8, "lr=0.01", seed=0)
g = np.random.default_rng(0)
tokens = os.path.join(d, "tokens.bin")
g.integers(0, VOCAB, 20000).astype(np.uint16).tofile(tokens)
common = ["--weights", weights, "--data", tokens, "--num-threads", "1", "--quiet"]


def checkpoints(save):
    return sorted(int(n.split("-")[1]) for n in os.listdir(save) if n.startswith("checkpoint-"))


def state(checkpoint):
    return {**load_file(os.path.join(checkpoint, "model.safetensors")),
            **load_file(os.path.join(checkpoint, "optimizer.safetensors"))}


for trial in range(5):
    save = os.path.join(d, f"save{trial}")
    proc = subprocess.Popen([tool("accel-run"), accx, *common, "--steps", "100000", "--save-dir", save,
                             "--save-every", "1"], stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not (os.path.isdir(save) and len(checkpoints(save)) >= 2):
        assert proc.poll() is None and time.time() < deadline, proc.stderr.read()
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 0.3))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    left = checkpoints(save)
    temporaries = [n for n in os.listdir(save) if n.startswith(".checkpoint-")]
    # Every checkpoint is whole: both files load, with every tensor.
    for n in left:
        s = state(os.path.join(save, f"checkpoint-{n}"))
        assert set(s) == {"emb", "head", "emb.exp_avg", "head.exp_avg", "emb.exp_avg_sq", "head.exp_avg_sq"}, s.keys()
    newest = left[-1]
    # Resuming the newest two steps further equals an uninterrupted run.
    run(["accel-run", accx, *common, "--steps", newest + 2, "--save-dir", save, "--resume", save])
    assert not [n for n in os.listdir(save) if n.startswith(".checkpoint-")], os.listdir(save)
    straight = os.path.join(d, f"straight{trial}")
    run(["accel-run", accx, *common, "--steps", newest + 2, "--save-dir", straight])
    a, b = state(os.path.join(save, f"checkpoint-{newest + 2}")), state(os.path.join(straight, f"checkpoint-{newest + 2}"))
    assert all(np.array_equal(a[k], b[k]) for k in b)
    print(f"ok: killed after checkpoint-{newest} ({len(temporaries)} half-written save left hidden); "
          f"resumed to step {newest + 2} bitwise equal to an uninterrupted run")
