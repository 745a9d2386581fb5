# RUN: %python %s
# REQUIRES: python-ml
# Training parity on a Hugging Face GPT-2 (small config, random init),
# exported with parameter names kept: 20 AdamW steps with clipping and a
# linear warm-up schedule, compiled by accel-make-train-step and run by
# accel-run's loop on a token file, against the same loop in PyTorch on the
# same batches. Then:
#   * every step's loss and every final parameter agree within 1e-5
#     relative;
#   * resuming from the step-10 checkpoint reaches bitwise the same
#     parameters and optimizer state at step 20;
#   * the checkpoint directory loads with AutoModelForCausalLM.from_pretrained
#     as it is (config.json included) and gives the logits accel computes.
import argparse
import filecmp
import os
import subprocess
import sys

import numpy as np
import torch
import transformers
from safetensors.numpy import load_file

from accel_testing import SRC, assert_close, run, workdir
from training_reference import read_log, token_batches, train_torch

sys.path.insert(0, os.path.join(SRC, "examples", "gpt2"))
from export import build_model  # noqa: E402

STEPS, LR, WD, CLIP, WARMUP, SEED = 20, 3e-3, 0.01, 1.0, 5, 11
cfg = dict(layers=2, hidden=64, heads=4, seq=32, batch=4, vocab=128)
d = workdir("train-gpt2")
subprocess.run([sys.executable, os.path.join(SRC, "examples", "gpt2", "export.py"), "--out-dir", d,
                "--no-optimize", "--perturb"] + [f"--{k}={v}" for k, v in cfg.items()], check=True, capture_output=True)
run(["accel-translate", "--import-onnx", os.path.join(d, "gpt2.onnx"), "-o", os.path.join(d, "m.mlir")])
options = (f"loss=cross-entropy optimizer=adamw lr={LR} weight-decay={WD} clip-norm={CLIP} "
           f"schedule=linear warmup-steps={WARMUP} total-steps={STEPS}")
run(["accel-opt", os.path.join(d, "m.mlir"), f"--accel-make-train-step={options}", "-o", os.path.join(d, "train.mlir")])

# Tokens with structure (a noisy repeating pattern), enough for two epochs.
rng = np.random.default_rng(5)
pattern = rng.integers(0, cfg["vocab"], 37)
tokens = np.resize(pattern, 12 * cfg["batch"] * cfg["seq"] + 1).astype(np.uint16)
tokens[rng.random(tokens.size) < 0.1] = rng.integers(0, cfg["vocab"], 1)[0]
tokens.tofile(os.path.join(d, "tokens.bin"))

common = ["accel-run", os.path.join(d, "train.mlir"), "--data", os.path.join(d, "tokens.bin"),
          "--steps", STEPS, "--seed", SEED, "--num-threads", 2, "--quiet"]
run(common + ["--weights", os.path.join(d, "m.safetensors"), "--save-dir", os.path.join(d, "ck"),
              "--save-every", 10])

# PyTorch, from the weights accel started from.
model = build_model(argparse.Namespace(seed=0, **{k: v for k, v in cfg.items() if k != "batch"}), perturb=True)
init = load_file(os.path.join(d, "m.safetensors"))
for name, p in model.named_parameters():
    onnx_name = "lm_head.weight" if name == "transformer.wte.weight" else name
    assert np.array_equal(init[onnx_name], p.detach().numpy()), name
optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WD)
losses = train_torch(model, token_batches(tokens, cfg["batch"], cfg["seq"], STEPS, SEED),
                     lambda logits, y: torch.nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten()),
                     optimizer, CLIP, "linear", WARMUP, STEPS)
log = read_log(os.path.join(d, "ck", "log.jsonl"))
assert_close("losses", [r["loss"] for r in log], losses, rtol=1e-5)
assert losses[-1] < losses[0] - 0.5, f"the loss did not fall: {losses}"
final_dir = os.path.join(d, "ck", f"checkpoint-{STEPS}")
final = load_file(os.path.join(final_dir, "model.safetensors"))
H = cfg["hidden"]
for name, p in model.named_parameters():
    onnx_name = "lm_head.weight" if name == "transformer.wte.weight" else name
    got, want = final[onnx_name], p.detach().numpy()
    if name.endswith("attn.c_attn.bias"):
        # The key bias adds the same amount to every score of a query, which
        # softmax ignores: its gradient is exactly zero, and what both
        # frameworks compute is summation rounding (~1e-9), which AdamW
        # normalizes into lr-sized steps of arbitrary sign. Those steps
        # cannot agree; the query and value parts must.
        for part in (slice(0, H), slice(2 * H, 3 * H)):
            assert_close(f"{name}[{part.start}:{part.stop}]", got[part], want[part], rtol=1e-5)
        noise = np.abs(got[H:2 * H] - want[H:2 * H]).max()
        assert noise <= LR * STEPS * 0.05, f"{name} key part differs by {noise}, more than rounding noise"
        continue
    assert_close(name, got, want, rtol=1e-5)

# Exact resume: from step 10 to 20 again, into another directory.
run(common + ["--resume", os.path.join(d, "ck", "checkpoint-10"), "--save-dir", os.path.join(d, "resumed")])
for f in ["model.safetensors", "optimizer.safetensors"]:
    assert filecmp.cmp(os.path.join(final_dir, f), os.path.join(d, "resumed", f"checkpoint-{STEPS}", f),
                       shallow=False), f"resumed {f} differs from the uninterrupted run's"
resumed_log = read_log(os.path.join(d, "resumed", "log.jsonl"))
assert [r["loss"] for r in resumed_log] == [r["loss"] for r in log[10:]], "resumed losses differ"
print("resume from step 10: bitwise the same parameters and optimizer state at step 20")

# The checkpoint is a Hugging Face model directory: the export's config.json
# travelled through the import into every checkpoint.
assert os.path.exists(os.path.join(final_dir, "config.json")), os.listdir(final_dir)
hf = transformers.AutoModelForCausalLM.from_pretrained(final_dir).eval()
assert type(hf) is transformers.GPT2LMHeadModel, type(hf)
ids = np.load(os.path.join(d, "input_ids.npy"))
run(["accel-run", os.path.join(d, "m.mlir"), "--weights", os.path.join(final_dir, "model.safetensors"),
     "--input", f"input_ids={os.path.join(d, 'input_ids.npy')}", "--output-dir", os.path.join(d, "out"), "--quiet"])
with torch.no_grad():
    hf_logits = hf(torch.from_numpy(ids)).logits.numpy()
assert_close("from_pretrained logits", np.load(os.path.join(d, "out", "logits.npy")), hf_logits, rtol=1e-4)
print("GPT-2 training matches PyTorch")
