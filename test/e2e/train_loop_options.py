# RUN: %python %s
# REQUIRES: python-ml
# The training loop's options, each checked against a computation in
# PyTorch on a tiny language model (an embedding and a linear head):
#   * the batches: --no-shuffle takes windows in file order, --seed N the
#     documented permutation; uint16 .bin, uint32 .bin (--token-bits 32) and
#     .npy token files give the same run;
#   * evaluation (--eval-every, --eval-batches) equals the loss of the
#     held-out windows under the checkpointed weights of that step;
#   * --log-every, --profile and --seq-len;
#   * --generate/--prompt: greedy decoding equals argmax decoding in PyTorch.
import json
import os
import subprocess

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import load_file, save_file

from accel_testing import assert_close, run, tool, workdir
from training_reference import batch_ids

d = workdir("train-loop-options")
VOCAB, HIDDEN, SEQ = 128, 8, 6


def lm(batch):
    return f"""
func.func @lm(%emb: tensor<{VOCAB}x{HIDDEN}xf32> {{accel.param = "emb"}},
              %w: tensor<{VOCAB}x{HIDDEN}xf32> {{accel.param = "head"}},
              %ids: tensor<{batch}x{SEQ}xi64> {{accel.input = "input_ids"}}) -> tensor<{batch}x{SEQ}x{VOCAB}xf32> {{
  %h = accel.gather %emb, %ids {{axis = 0 : i64}} : (tensor<{VOCAB}x{HIDDEN}xf32>, tensor<{batch}x{SEQ}xi64>) -> tensor<{batch}x{SEQ}x{HIDDEN}xf32>
  %t = accel.tanh %h : (tensor<{batch}x{SEQ}x{HIDDEN}xf32>) -> tensor<{batch}x{SEQ}x{HIDDEN}xf32>
  %l = accel.linear %t, %w : (tensor<{batch}x{SEQ}x{HIDDEN}xf32>, tensor<{VOCAB}x{HIDDEN}xf32>) -> tensor<{batch}x{SEQ}x{VOCAB}xf32>
  return %l : tensor<{batch}x{SEQ}x{VOCAB}xf32>
}}
"""


def torch_logits(w, ids):
    return F.linear(torch.tanh(F.embedding(torch.from_numpy(ids), torch.from_numpy(w["emb"]))),
                    torch.from_numpy(w["head"]))


def torch_loss(w, tokens, window_ids):
    x = np.stack([tokens[i * SEQ:i * SEQ + SEQ] for i in window_ids]).astype(np.int64)
    y = np.stack([tokens[i * SEQ + 1:i * SEQ + SEQ + 1] for i in window_ids]).astype(np.int64)
    return F.cross_entropy(torch_logits(w, x).flatten(0, 1), torch.from_numpy(y).flatten()).item()


BATCH = 3
open(os.path.join(d, "lm.mlir"), "w").write(lm(BATCH))
run(["accel-opt", os.path.join(d, "lm.mlir"), "--accel-make-train-step=optimizer=sgd lr=0.5",
     "-o", os.path.join(d, "train.mlir")])
rng = np.random.default_rng(0)
init = {"emb": rng.standard_normal((VOCAB, HIDDEN)).astype(np.float32),
        "head": rng.standard_normal((VOCAB, HIDDEN)).astype(np.float32)}
save_file(init, os.path.join(d, "init.safetensors"))
tokens = rng.integers(0, VOCAB, 30 * SEQ + 1)
tokens.astype(np.uint16).tofile(os.path.join(d, "t16.bin"))
tokens.astype(np.uint32).tofile(os.path.join(d, "t32.bin"))
np.save(os.path.join(d, "t.npy"), tokens.astype(np.int64))
held_out = rng.integers(0, VOCAB, 8 * SEQ + 1)
held_out.astype(np.uint16).tofile(os.path.join(d, "val.bin"))
windows = (len(tokens) - 1) // SEQ


def train(name, *extra):
    out = os.path.join(d, name)
    proc = run(["accel-run", os.path.join(d, "train.mlir"), "--weights", os.path.join(d, "init.safetensors"),
                "--steps", 4, "--save-dir", out, "--save-every", 2, *extra])
    log = [json.loads(line) for line in open(os.path.join(out, "log.jsonl"))]
    return proc, log, [r["loss"] for r in log if "loss" in r]


# The first step's batch: file order, or the seed's permutation.
_, _, in_order = train("in-order", "--data", os.path.join(d, "t16.bin"), "--no-shuffle", "--quiet")
assert_close("first batch in file order", in_order[0], torch_loss(init, tokens, [0, 1, 2]), rtol=1e-6)
_, _, seeded = train("seeded", "--data", os.path.join(d, "t16.bin"), "--seed", 42, "--quiet")
first = next(batch_ids(windows, BATCH, 1, seed=42))
assert first != [0, 1, 2]
assert_close("first batch of seed 42", seeded[0], torch_loss(init, tokens, first), rtol=1e-6)

# Resuming twice without repeating --seed continues the checkpoint's data
# order: the same bytes as the uninterrupted run (the first resume starts a
# new save dir from another run's checkpoint, the second continues it).
chain = os.path.join(d, "chain")
for start, stop in [(2, 3), (3, 4)]:
    run(["accel-run", os.path.join(d, "train.mlir"), "--steps", stop, "--data", os.path.join(d, "t16.bin"),
         "--resume", os.path.join(d, "seeded" if start == 2 else "chain", f"checkpoint-{start}"), "--save-dir", chain,
         "--save-every", 1, "--quiet"])
for f in ["model.safetensors", "optimizer.safetensors"]:
    a = open(os.path.join(d, "seeded", "checkpoint-4", f), "rb").read()
    b = open(os.path.join(chain, "checkpoint-4", f), "rb").read()
    assert a == b, f"{f} after two resumes differs from the uninterrupted run's"
print("ok: two resumes reach the uninterrupted run's bytes")

# Token files of every width give the same run.
_, _, wide = train("wide", "--data", os.path.join(d, "t32.bin"), "--token-bits", 32, "--seed", 42, "--quiet")
_, _, npy = train("npy", "--data", os.path.join(d, "t.npy"), "--seed", 42, "--quiet")
assert wide == seeded and npy == seeded, (seeded, wide, npy)
print("ok: uint16, uint32 and .npy token files train alike")

# Evaluation at step 2 on the first two held-out batches, with the weights
# saved at step 2.
proc, log, _ = train("eval", "--data", os.path.join(d, "t16.bin"), "--eval-data", os.path.join(d, "val.bin"),
                     "--eval-every", 2, "--eval-batches", 2, "--log-every", 1, "--profile")
evals = {r["step"]: r["eval_loss"] for r in log if "eval_loss" in r}
assert sorted(evals) == [2, 4], evals
at2 = load_file(os.path.join(d, "eval", "checkpoint-2", "model.safetensors"))
assert_close("eval loss at step 2", evals[2], np.mean([torch_loss(at2, held_out, [0, 1, 2]),
                                                        torch_loss(at2, held_out, [3, 4, 5])]), rtol=1e-6)
progress = [line for line in proc.stderr.splitlines() if line.startswith("step ") and "| loss" in line]
assert len(progress) == 4 and "tokens/s" in progress[0] and "ETA" in progress[0], proc.stderr
assert "linear_cross_entropy" in proc.stderr and "sgd" in proc.stderr, "no kernel profile:\n" + proc.stderr
print("ok: evaluation, progress lines and the kernel profile")

bad = subprocess.run([tool("accel-run"), os.path.join(d, "train.mlir"), "--weights", os.path.join(d, "init.safetensors"),
                      "--steps", "1", "--data", os.path.join(d, "t16.bin"), "--seq-len", "7"],
                     capture_output=True, text=True)
assert bad.returncode != 0 and "--seq-len 7 differs from the sequence length the step was compiled for (6)" \
    in bad.stderr, bad.stderr

# Greedy decoding with the trained weights and a batch-1 forward function.
open(os.path.join(d, "lm1.mlir"), "w").write(lm(1))
trained = os.path.join(d, "eval", "checkpoint-4", "model.safetensors")
prompt = "ab"
gen = subprocess.run([tool("accel-run"), os.path.join(d, "lm1.mlir"), "--weights", trained, "--generate", "9",
                      "--prompt", prompt], capture_output=True, check=True)
w = load_file(trained)
ids = list(prompt.encode())
for _ in range(9):  # the last SEQ tokens, right-padded; the last real position's argmax
    window = ids[-SEQ:]
    logits = torch_logits(w, np.array([window + [0] * (SEQ - len(window))], np.int64))
    ids.append(int(logits[0, len(window) - 1].argmax()))
assert gen.stdout == bytes(ids) + b"\n", (gen.stdout, bytes(ids))
print("ok: greedy decoding equals PyTorch's argmax decoding")
# A prompt byte the model has no token for is named as the prompt's.
bad = subprocess.run([tool("accel-run"), os.path.join(d, "lm1.mlir"), "--weights", trained, "--generate", "2",
                      "--prompt", b"a\xff"], capture_output=True, text=True)
assert bad.returncode == 1 and "the prompt's token 255 at position 1 is outside the model's vocabulary of" \
    in bad.stderr, bad.stderr
print("ok:", bad.stderr.strip())
