# RUN: %python %s
# REQUIRES: python-ml
# Training fidelity against float64 (test/helpers/fidelity.py): Qwen2 (Llama with q/k/v biases),
# freshly initialized and perturbed, 20 AdamW steps with clipping and warm-up.
import fidelity

fidelity.check_family("qwen2")
