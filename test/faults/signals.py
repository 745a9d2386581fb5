# RUN: %python %s
# REQUIRES: python-ml
# SIGINT and SIGTERM during training (what Ctrl-C and a preempting cluster
# send): the first one finishes the current step, saves it, says so and
# exits with 128 + the signal; resuming from that checkpoint reaches
# bitwise the parameters of an uninterrupted run. A second signal ends the
# run at once. Under the launcher (dp=2) the ranks agree on the step they
# stop after and save it together.
import os
import signal
import subprocess
import time

import numpy as np
from safetensors.numpy import load_file, save_file

from accel_testing import run, tiny_lm, tool, workdir

d = workdir("signals")
VOCAB, HIDDEN, BATCH, SEQ = 16, 8, 4, 4
src = os.path.join(d, "lm.mlir")
open(src, "w").write(tiny_lm(VOCAB, HIDDEN, BATCH, SEQ))
train = os.path.join(d, "train.mlir")
run(["accel-opt", src, "--accel-make-train-step=lr=0.01", "-o", train])
dp2 = os.path.join(d, "train-dp2.mlir")
run(["accel-opt", train, "--accel-shard=dp=2", "-o", dp2])
rng = np.random.default_rng(0)
weights = os.path.join(d, "w.safetensors")
save_file({"emb": rng.standard_normal((VOCAB, HIDDEN)).astype(np.float32),
           "head": rng.standard_normal((VOCAB, HIDDEN)).astype(np.float32)}, weights)
data = os.path.join(d, "tokens.bin")
rng.integers(0, VOCAB, 4000).astype(np.uint16).tofile(data)
common = ["--weights", weights, "--data", data, "--num-threads", "1"]


def log_steps(log):
    if not os.path.exists(log):
        return 0
    return sum(1 for line in open(log) if '"loss"' in line)


def start(step_file, save_dir, *extra):
    return subprocess.Popen([tool("accel-run"), step_file, *common, "--steps", "1000000", "--save-dir", save_dir,
                             *extra], stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_for_steps(proc, log, n):
    deadline = time.time() + 120
    while log_steps(log) < n:
        assert proc.poll() is None, proc.stderr.read()
        assert time.time() < deadline, "the run made no progress"
        time.sleep(0.02)


def state(checkpoint):
    return {**load_file(os.path.join(checkpoint, "model.safetensors")),
            **load_file(os.path.join(checkpoint, "optimizer.safetensors"))}


def stopped_step(stderr, name):
    line = [ln for ln in stderr.splitlines() if f"stopped by {name} after step" in ln]
    assert len(line) == 1, stderr
    return int(line[0].split("after step ")[1].split(";")[0])


# Ctrl-C at a terminal signals the whole foreground process group (here:
# the launcher's session), a cluster's SIGTERM the process.
launcher = ["--nproc-per-node", "2"]
for sig, name, step_file, extra, group in [(signal.SIGTERM, "SIGTERM", train, [], False),
                                           (signal.SIGINT, "SIGINT", train, [], True),
                                           (signal.SIGTERM, "SIGTERM", dp2, launcher, False),
                                           (signal.SIGINT, "SIGINT", dp2, launcher, True)]:
    save = os.path.join(d, f"{name}-{len(extra)}")
    proc = start(step_file, save, *extra)
    wait_for_steps(proc, os.path.join(save, "log.jsonl"), 20)
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, (proc.returncode, err)
    assert "stopping after the current step" in err, err
    n = stopped_step(err, name)
    assert f"saved checkpoint-{n}, continue with --resume {save}" in err, err
    records = open(os.path.join(save, "log.jsonl")).read().splitlines()
    assert records[-1] == f'{{"step": {n}, "stopped": "{name}"}}', records[-3:]
    assert sorted(os.listdir(save)) == [".lock", f"checkpoint-{n}", "log.jsonl"], os.listdir(save)
    # Resuming and running two more steps reaches the state of an
    # uninterrupted run of n + 2 steps.
    run(["accel-run", step_file, *common, "--steps", n + 2, "--save-dir", save, "--resume", save, "--quiet", *extra])
    straight = os.path.join(d, f"straight-{name}-{len(extra)}")
    run(["accel-run", step_file, *common, "--steps", n + 2, "--save-dir", straight, "--quiet", *extra])
    resumed, whole = state(os.path.join(save, f"checkpoint-{n + 2}")), state(os.path.join(straight, f"checkpoint-{n + 2}"))
    assert resumed.keys() == whole.keys()
    for key in whole:
        assert np.array_equal(resumed[key], whole[key]), key
    print(f"ok: {name}{' under the launcher (dp=2)' if extra else ''} stopped after step {n}, saved it, "
          f"exit {proc.returncode}; the resumed run matches an uninterrupted one")

# Slurm signals every process of a job step, so a rank gets the same
# request twice within moments, from two senders: that is one request, and
# the run still stops after its step and saves.
save = os.path.join(d, "twice-from-two")
proc = start(train, save)
wait_for_steps(proc, os.path.join(save, "log.jsonl"), 5)
proc.send_signal(signal.SIGTERM)
subprocess.run(["kill", "-TERM", str(proc.pid)], check=True)  # another sender
_, err = proc.communicate(timeout=120)
assert proc.returncode == 128 + signal.SIGTERM, (proc.returncode, err)
n = stopped_step(err, "SIGTERM")
assert os.path.isdir(os.path.join(save, f"checkpoint-{n}")), os.listdir(save)
print(f"ok: SIGTERM from two senders at once is one request: stopped after step {n} and saved it")

# A second signal (from the sender of the first) ends the run at once: the
# process dies of it, without the save of the first. Both are delivered
# together (the process is stopped while they are sent) so that the run
# cannot finish in between.
save = os.path.join(d, "twice")
proc = start(train, save)
wait_for_steps(proc, os.path.join(save, "log.jsonl"), 5)
proc.send_signal(signal.SIGSTOP)
proc.send_signal(signal.SIGINT)
proc.send_signal(signal.SIGTERM)
proc.send_signal(signal.SIGCONT)
_, err = proc.communicate(timeout=60)
assert proc.returncode in (-signal.SIGINT, -signal.SIGTERM), (proc.returncode, err)
assert not [n for n in os.listdir(save) if n.startswith("checkpoint-")], os.listdir(save)
print(f"ok: a second signal ends the run at once (killed by {signal.Signals(-proc.returncode).name})")
