# RUN: %python %s
# REQUIRES: python-ml
# Training fidelity against float64 (test/helpers/fidelity.py): OPT (learned positions with offset, ReLU, padding_idx 1),
# freshly initialized and perturbed, 20 AdamW steps with clipping and warm-up.
import fidelity

fidelity.check_family("opt")
