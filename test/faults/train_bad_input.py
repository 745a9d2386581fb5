# RUN: %python %s
# REQUIRES: python-ml
# Bad input to the training loop: each case gives one clear message naming
# the problem and a non-zero exit, and leaves no partial checkpoint.
import os
import resource
import signal
import subprocess

import numpy as np
from safetensors.numpy import load_file, save_file

from accel_testing import run, tiny_lm, tool, workdir

d = workdir("train-bad-input")
VOCAB, HIDDEN, BATCH, SEQ = 16, 8, 2, 4


def lm(hidden, head_name="head"):
    return tiny_lm(VOCAB, hidden, BATCH, SEQ, head_name)


def make(name, hidden=HIDDEN, head_name="head", options="lr=0.1"):
    src = os.path.join(d, f"{name}.mlir")
    open(src, "w").write(lm(hidden, head_name))
    run(["accel-opt", src, f"--accel-make-train-step={options}", "-o", os.path.join(d, f"{name}-train.mlir")])
    rng = np.random.default_rng(0)
    save_file({"emb": rng.standard_normal((VOCAB, hidden)).astype(np.float32),
               head_name: rng.standard_normal((VOCAB, hidden)).astype(np.float32)},
              os.path.join(d, f"{name}.safetensors"))
    return os.path.join(d, f"{name}-train.mlir"), os.path.join(d, f"{name}.safetensors")


def tokens(name, values):
    path = os.path.join(d, name)
    np.asarray(values, np.uint16).tofile(path)
    return path


def expect_error(args, *needles, preexec_fn=None):
    proc = subprocess.run([tool(args[0])] + [str(a) for a in args[1:]], capture_output=True, text=True,
                          timeout=120, preexec_fn=preexec_fn)
    assert proc.returncode != 0, f"{args} succeeded:\n{proc.stderr}"
    assert "accel-run: error:" in proc.stderr, proc.stderr
    for n in needles:
        assert n in proc.stderr, f"'{n}' not in:\n{proc.stderr}"
    assert "Stack dump" not in proc.stderr and "terminate called" not in proc.stderr, proc.stderr
    print("ok:", proc.stderr.strip().splitlines()[-1])
    return proc


train, weights = make("a")
good = tokens("good.bin", np.arange(200) % VOCAB)

# Counts that make no sense are named, before anything is loaded; an
# absurd thread count is refused instead of exhausting the process limit.
for option, value, message in (("--steps", 0, "--steps: must be at least 1, not 0"),
                               ("--steps", -5, "--steps: must be at least 1, not -5"),
                               ("--generate", -1, "--generate: must be at least 1, not -1"),
                               ("--num-threads", 2147483647, "--num-threads: Value 2147483647 not in range 0 to 1024")):
    expect_error(["accel-run", train, "--weights", weights, option, value, "--data", good], message)

# An output that is one of the inputs is refused before anything is
# written: the token file stays whole.
victim = tokens("victim.bin", np.arange(200) % VOCAB)
before = open(victim, "rb").read()
expect_error(["accel-run", train, "--weights", weights, "--steps", 2, "--data", victim, "--log-file", victim],
             f"--log-file '{victim}' is the --data file: refusing to overwrite an input")
assert open(victim, "rb").read() == before, "the data file was touched"
linked = os.path.join(d, "victim-link.bin")
os.symlink(victim, linked)
expect_error(["accel-run", train, "--weights", weights, "--steps", 2, "--data", victim, "--log-file", linked],
             "is the --data file")
assert open(victim, "rb").read() == before, "the data file was touched through a link"

# A new run into a save dir that holds another run's checkpoints and log
# is refused (it would replace some of them and a later --resume would
# continue the old run); --resume continues it, --overwrite starts over.
first = os.path.join(d, "first")
run(["accel-run", train, "--weights", weights, "--steps", 2, "--data", good, "--save-dir", first, "--quiet"])
kept_log = open(os.path.join(first, "log.jsonl")).read()
kept_ck = load_file(os.path.join(first, "checkpoint-2", "model.safetensors"))
expect_error(["accel-run", train, "--weights", weights, "--steps", 3, "--data", good, "--save-dir", first],
             f"{first}: holds another run (", "--resume", "--overwrite")
assert open(os.path.join(first, "log.jsonl")).read() == kept_log, "the old run's log was touched"
run(["accel-run", train, "--steps", 3, "--data", good, "--save-dir", first, "--resume", first, "--quiet"])
run(["accel-run", train, "--weights", weights, "--steps", 1, "--data", good, "--save-dir", first, "--overwrite",
     "--quiet"])
assert sorted(n for n in os.listdir(first) if n.startswith("checkpoint-")) == ["checkpoint-1"], os.listdir(first)
# A second run on a save dir another run is writing (its lock held) stops
# at once, naming the holder.
import fcntl
with open(os.path.join(first, ".lock"), "r+") as held:
    fcntl.flock(held, fcntl.LOCK_EX)
    held.seek(0)
    held.truncate()
    held.write("4242")
    held.flush()
    expect_error(["accel-run", train, "--steps", 2, "--data", good, "--save-dir", first, "--resume", first],
                 f"{first}: another run (pid 4242) is writing here")
    assert sorted(n for n in os.listdir(first) if n.startswith("checkpoint-")) == ["checkpoint-1"]

# Resuming at or past --steps trains nothing: said, not a silent success.
# A trainer state of another format, or a step no run reaches, is refused.
expect_error(["accel-run", train, "--steps", 1, "--data", good, "--resume", os.path.join(first, "checkpoint-1")],
             "checkpoint-1: is at step 1, not before --steps 1: nothing to train (raise --steps)")
import json
import shutil
for key, value, message in (("format", "accel-checkpoint-2", "format 'accel-checkpoint-2'; this accel reads accel-checkpoint-1"),
                            ("step", 2**62, f"\"step\" {2**62} is beyond any run (at most 2^40)")):
    damaged = os.path.join(d, f"damaged-{key}")
    shutil.copytree(os.path.join(first, "checkpoint-1"), damaged)
    state = json.load(open(os.path.join(damaged, "trainer_state.json")))
    state[key] = value
    json.dump(state, open(os.path.join(damaged, "trainer_state.json"), "w"))
    expect_error(["accel-run", train, "--steps", 3, "--data", good, "--resume", damaged], message)

# An extra tensor in --weights (another model's file) is an error naming it.
extra = os.path.join(d, "extra.safetensors")
w_extra = load_file(weights)
w_extra["stray.bias"] = np.zeros(3, np.float32)
save_file(w_extra, extra)
expect_error(["accel-run", train, "--weights", extra, "--steps", 2, "--data", good],
             "has tensor 'stray.bias', which is no parameter or buffer of the step")

# A directory where a file belongs is named as such.
expect_error(["accel-run", d], f"{d}: is a directory, not an executable (.accx) or a model (.mlir)")
expect_error(["accel-run", train, "--weights", weights, "--steps", 2, "--data", d],
             f"{d}: is a directory, not a token file")

# A data file shorter than one batch.
expect_error(["accel-run", train, "--weights", weights, "--steps", 2, "--data", tokens("short.bin", range(6))],
             "short.bin: holds 1 windows of 5 tokens, fewer than one batch of 2")
# A token id outside the vocabulary, with its position.
bad_ids = np.arange(50) % VOCAB
bad_ids[37] = 40
expect_error(["accel-run", train, "--weights", weights, "--steps", 2, "--data", tokens("big.bin", bad_ids)],
             "big.bin: token 40 at position 37 is outside the vocabulary [0, 16)")
# A file whose size is not a whole number of tokens.
odd = os.path.join(d, "odd.bin")
open(odd, "wb").write(b"\x01\x00\x02")
expect_error(["accel-run", train, "--weights", weights, "--steps", 2, "--data", odd], "odd.bin: 3 bytes")
# The step's compiled batch size is checked against --batch-size.
expect_error(["accel-run", train, "--weights", weights, "--steps", 2, "--data", good, "--batch-size", 8],
             "--batch-size 8 differs from the batch size the step was compiled for (2)")
# An input whose leading dim is not the batch.
extra = os.path.join(d, "extra.mlir")
open(extra, "w").write(lm(HIDDEN).replace(
    '%ids: tensor<2x4xi64> {accel.input = "input_ids"})',
    '%ids: tensor<2x4xi64> {accel.input = "input_ids"}, %pos: tensor<1x4xi64> {accel.input = "position_ids"})'))
run(["accel-opt", extra, "--accel-make-train-step", "-o", os.path.join(d, "extra-train.mlir")])
expect_error(["accel-run", os.path.join(d, "extra-train.mlir"), "--weights", weights, "--steps", 2, "--data", good],
             "input 'position_ids' 1x4 does not lead with the batch size 2")
# A training step run as a plain function.
expect_error(["accel-run", train, "--weights", weights, "--function", "train_step"],
             "is a training step", "accel-run --steps")

# A good run with checkpoints.
save = os.path.join(d, "ck")
run(["accel-run", train, "--weights", weights, "--steps", 2, "--data", good, "--save-dir", save, "--quiet"])
ckpt = os.path.join(save, "checkpoint-2")
before = {f: open(os.path.join(ckpt, f), "rb").read() for f in os.listdir(ckpt)}

# A damaged trainer state names the file and the field.
broken = os.path.join(d, "broken")
import shutil  # noqa: E402
shutil.copytree(ckpt, broken)
state_file = os.path.join(broken, "trainer_state.json")
text = open(state_file).read()
assert '"cursor": 4' in text, text
open(state_file, "w").write(text.replace('"cursor": 4', '"cursor": -4'))
expect_error(["accel-run", train, "--steps", 4, "--data", good, "--resume", broken],
             "trainer_state.json: \"cursor\" is not a valid value: -4")

# Resuming into a model of another shape, or with other parameter names.
other, other_weights = make("b", hidden=6)
expect_error(["accel-run", other, "--steps", 4, "--data", good, "--resume", ckpt],
             "model.safetensors: tensor 'emb' is f32 16x8, the model expects f32 16x6")
renamed, renamed_weights = make("c", head_name="lm_head")
expect_error(["accel-run", renamed, "--steps", 4, "--data", good, "--resume", ckpt],
             "tensor 'head' is no parameter of this model")
# Another optimizer: its state is not in the checkpoint.
sgd, _ = make("d", options="optimizer=sgd momentum=0.9")
expect_error(["accel-run", sgd, "--steps", 4, "--data", good, "--resume", ckpt],
             "optimizer.safetensors: tensor 'emb.exp_avg' is no optimizer state of this model")
# A directory without checkpoints.
expect_error(["accel-run", train, "--steps", 4, "--data", good, "--resume", d], "no checkpoint to resume from")
# Weights that do not fit the model.
expect_error(["accel-run", other, "--weights", weights, "--steps", 2, "--data", good],
             "tensor 'emb' is f32 16x8, the model expects f32 16x6")


# A full disk during a save: files may not grow past 600 bytes (the model's
# weights are 1 KiB). The save fails with a message; the previous
# checkpoint is intact and nothing half-written is left.
def small_disk():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (600, 600))


expect_error(["accel-run", train, "--steps", 4, "--data", good, "--resume", ckpt, "--save-dir", save,
              "--save-every", 2, "--log-file", os.path.join(d, "small.jsonl")],
             "checkpoint-4: cannot save the checkpoint", "the previous checkpoint is untouched",
             preexec_fn=small_disk)
assert sorted(os.listdir(save)) == [".lock", "checkpoint-2", "log.jsonl"], os.listdir(save)
assert {f: open(os.path.join(ckpt, f), "rb").read() for f in os.listdir(ckpt)} == before
print("ok: the previous checkpoint is intact after a failed save")

# A full disk while logging: every record is checked, so the run stops with
# the reason instead of finishing with a log that silently ends.
expect_error(["accel-run", train, "--weights", weights, "--steps", 2, "--data", good, "--log-file", "/dev/full"],
             "/dev/full: cannot write the log: No space left on device")


def tiny_files():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1500, 1500))


expect_error(["accel-run", train, "--weights", weights, "--steps", 50, "--data", good, "--log-file",
              os.path.join(d, "tiny.jsonl")], "tiny.jsonl: cannot write the log: File too large",
             preexec_fn=tiny_files)


# A non-finite loss or gradient norm stops the run, naming the step, before
# that step's update: the parameters and the newest checkpoint stay finite.
# Here a token the first steps do not see has an embedding so large that
# its logits overflow.
def checkpoints(save_dir):
    return sorted(int(n.split("-")[1]) for n in os.listdir(save_dir) if n.startswith("checkpoint-"))


w = load_file(weights)
w["emb"][15] = 1e38
save_file(w, os.path.join(d, "overflow.safetensors"))
late = np.arange(200) % 15
late[7::41] = 15
proc = expect_error(["accel-run", train, "--weights", os.path.join(d, "overflow.safetensors"), "--steps", 30,
                     "--data", tokens("late.bin", late), "--save-dir", os.path.join(d, "overflow"),
                     "--save-every", 1],
                    "the loss is NaN and the gradient norm NaN; stopping before this step's update")
stopped = int(proc.stderr.split("error: step ")[1].split(":")[0])
assert stopped > 1 and checkpoints(os.path.join(d, "overflow")) == list(range(1, stopped)), proc.stderr
newest = load_file(os.path.join(d, "overflow", f"checkpoint-{stopped - 1}", "model.safetensors"))
assert all(np.isfinite(t).all() for t in newest.values())
print(f"ok: stopped at step {stopped} before its update; checkpoint-{stopped - 1} is the newest")

# A finite loss with a non-finite gradient norm stops the run too (the
# update would have made every parameter NaN): sqrt's gradient at 0.
sqrt_src = os.path.join(d, "sqrt.mlir")
open(sqrt_src, "w").write(lm(HIDDEN).replace(
    "%l = accel.linear %h, %w :",
    f"%r = accel.sqrt %w : (tensor<{VOCAB}x{HIDDEN}xf32>) -> tensor<{VOCAB}x{HIDDEN}xf32>\n"
    "  %l = accel.linear %h, %r :"))
sqrt_weights = os.path.join(d, "sqrt.safetensors")
w = load_file(weights)
w["head"] = np.abs(w["head"])
w["head"][3, 2] = 0
save_file(w, sqrt_weights)
for options, name in [("lr=0.1", "sqrt-train.mlir"), ("lr=0.1 skip-nonfinite=true", "sqrt-skip.mlir")]:
    run(["accel-opt", sqrt_src, f"--accel-make-train-step={options}", "-o", os.path.join(d, name)])
proc = expect_error(["accel-run", os.path.join(d, "sqrt-train.mlir"), "--weights", sqrt_weights, "--steps", 3,
                     "--data", good, "--save-dir", os.path.join(d, "sqrt")],
                    "step 1: the loss is ", "and the gradient norm Infinity; stopping before this step's update")
assert "the loss is NaN" not in proc.stderr and checkpoints(os.path.join(d, "sqrt")) == [], proc.stderr

# With skip-nonfinite such steps are skipped: parameters and optimizer
# state stay as they were, the log says so, and the run finishes.
run(["accel-run", os.path.join(d, "sqrt-skip.mlir"), "--weights", sqrt_weights, "--steps", 3, "--data", good,
     "--save-dir", os.path.join(d, "skip"), "--quiet"])
log = open(os.path.join(d, "skip", "log.jsonl")).read()
assert log.count('"skipped": true') == 3, log
kept = load_file(os.path.join(d, "skip", "checkpoint-3", "model.safetensors"))
assert all(np.array_equal(kept[k], w[k]) for k in w), "a skipped step changed the parameters"
state = load_file(os.path.join(d, "skip", "checkpoint-3", "optimizer.safetensors"))
assert int(state["optimizer.applied_steps"]) == 0, state["optimizer.applied_steps"]
print("ok: non-finite steps skipped with skip-nonfinite=true")

# A parameter that is not finite (a NaN in the embedding of a token the data
# never holds: loss and gradients stay finite) is never written to a
# checkpoint.
w = load_file(weights)
w["emb"][15, 1] = np.nan
save_file(w, os.path.join(d, "nan-row.safetensors"))
expect_error(["accel-run", train, "--weights", os.path.join(d, "nan-row.safetensors"), "--steps", 2,
              "--data", tokens("no15.bin", np.arange(200) % 15), "--save-dir", os.path.join(d, "nan-row")],
             "step 2: parameter emb is not finite; not writing checkpoint-2")
assert checkpoints(os.path.join(d, "nan-row")) == []
print("ok: no checkpoint with a non-finite parameter")
