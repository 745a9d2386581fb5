# RUN: %python %s
# REQUIRES: python-ml
# Training fidelity against float64 (test/helpers/fidelity.py): Qwen3 (q/k RMSNorm per head, explicit head_dim),
# freshly initialized and perturbed, 20 AdamW steps with clipping and warm-up.
import fidelity

fidelity.check_family("qwen3")
