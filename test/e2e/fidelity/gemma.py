# RUN: %python %s
# REQUIRES: python-ml
# Training fidelity against float64 (test/helpers/fidelity.py): Gemma (RMSNorm with 1 + w, scaled and tied embedding, padding_idx 0, GELU-tanh gate),
# freshly initialized and perturbed, 20 AdamW steps with clipping and warm-up.
import fidelity

fidelity.check_family("gemma")
