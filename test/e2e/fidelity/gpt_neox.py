# RUN: %python %s
# REQUIRES: python-ml
# Training fidelity against float64 (test/helpers/fidelity.py): GPT-NeoX (partial rotary, parallel residual, fused QKV with biases),
# freshly initialized and perturbed, 20 AdamW steps with clipping and warm-up.
import fidelity

fidelity.check_family("gpt_neox")
