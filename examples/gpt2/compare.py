"""Compares accel's logits with PyTorch's: python compare.py accel.npy torch.npy"""
import sys

import numpy as np

accel, torch_ = np.load(sys.argv[1]), np.load(sys.argv[2])
err = float(np.max(np.abs(accel - torch_)))
scale = float(np.max(np.abs(torch_)))
same_argmax = float(np.mean(accel.argmax(-1) == torch_.argmax(-1)))
print(f"logits {accel.shape}: max |accel - torch| = {err:.3g} (max |logit| {scale:.3g}), "
      f"same next-token choice at {same_argmax:.0%} of positions")
if not err <= 1e-4 * scale:
    sys.exit("accel and PyTorch disagree")
