"""The PyTorch side of accel's training tests: the same batches accel's
runtime draws (its documented sampler, re-implemented) fed to the same loop
written with torch.optim, clip_grad_norm_ and transformers.get_scheduler."""
import json

import numpy as np
import torch
import transformers

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def epoch_permutation(n, seed, epoch, shuffle=True):
    """accel::rt::EpochSampler::permutation: Fisher-Yates driven by
    splitmix64 seeded with seed + epoch * golden."""
    perm = list(range(n))
    if not shuffle:
        return perm
    state = (seed + epoch * GOLDEN) & MASK64

    def next_u64():
        nonlocal state
        state = (state + GOLDEN) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    for i in range(n - 1, 0, -1):
        j = next_u64() % (i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def batch_ids(n, batch, steps, seed=0, shuffle=True):
    """The example ids of each of `steps` batches, epoch after epoch, the
    last incomplete batch of an epoch dropped."""
    epoch, cursor, order = 0, 0, epoch_permutation(n, seed, 0, shuffle)
    for _ in range(steps):
        if cursor + batch > n:
            epoch, cursor = epoch + 1, 0
            order = epoch_permutation(n, seed, epoch, shuffle)
        yield order[cursor:cursor + batch]
        cursor += batch


def token_batches(tokens, batch, seq, steps, seed=0):
    """(input, target) int64 batches of non-overlapping windows of a token
    array, as accel-run --data cuts them."""
    windows = (len(tokens) - 1) // seq
    for ids in batch_ids(windows, batch, steps, seed):
        x = np.stack([tokens[i * seq:i * seq + seq] for i in ids]).astype(np.int64)
        y = np.stack([tokens[i * seq + 1:i * seq + seq + 1] for i in ids]).astype(np.int64)
        yield torch.from_numpy(x), torch.from_numpy(y)


def train_torch(model, batches, loss_fn, optimizer, clip_norm=0.0, schedule="constant",
                warmup_steps=0, total_steps=None, train_mode=True, after_backward=None):
    """The loop accel's train step compiles, eagerly: returns per-step losses.
    `train_mode=False` keeps the model in eval mode (no dropout), as an
    export made in eval mode computes; `after_backward(model)` sees each
    step's gradients before clipping."""
    scheduler = transformers.get_scheduler(schedule, optimizer, num_warmup_steps=warmup_steps,
                                           num_training_steps=total_steps)
    losses = []
    model.train(train_mode)
    for inputs, labels in batches:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), labels)
        loss.backward()
        if after_backward:
            after_backward(model)
        if clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    return losses


def read_log(path):
    """Per-step records of accel-run's JSON-lines log (eval and checkpoint
    records dropped)."""
    records = [json.loads(line) for line in open(path)]
    return [r for r in records if "loss" in r]
