# RUN: %python %s
# REQUIRES: python-ml
# Data parallelism on every other family of the fidelity standard (GPT-2
# and Llama: data_parallel.py). Their exports carry what DP must split
# differently: constant position/type ids and masks held whole with each
# rank keeping its block (BERT, RoBERTa, OPT), padding rows, grouped
# key/value heads and attention biases (Qwen2, Mistral), q/k norms (Qwen3),
# partial rotary (GPT-NeoX, Phi-3), scaled embeddings (Gemma). dp=2 on two
# ranks of one thread meets the float64 fidelity standard.
import fidelity
import hf_families
from accel_testing import workdir

loop = fidelity.Loop(steps=10)
ok = True
for family in ("qwen2", "mistral", "qwen3", "gemma", "phi3", "gpt_neox", "opt", "bert", "roberta"):
    d = workdir(f"data-parallel-{family}")
    result = fidelity.train_three_ways(family, hf_families.build(family, perturb=True), d, loop, layout="dp=2")
    ok &= fidelity.report(result, "dp=2")
if not ok:
    raise SystemExit("data parallelism is further from float64 than PyTorch fp32")
