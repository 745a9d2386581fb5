"""Exports a small Hugging Face GPT-2 (freshly initialized, fixed seed) to ONNX.

    python examples/gpt2/export.py [--out-dir DIR] [--layers 2] [--hidden 64]
        [--heads 4] [--vocab 256] [--seq 32] [--batch 1] [--exporter torchscript|dynamo]
        [--no-optimize] [--perturb]

Writes DIR/<name>.onnx (default gpt2.onnx), DIR/config.json (its Hugging Face config, which
accel-translate carries into training checkpoints so they load with from_pretrained),
DIR/input_ids.npy (a fixed batch of token ids) and DIR/logits_torch.npy (PyTorch's logits for
it), so that a run of accel can be checked against PyTorch. No download: the model is built
from a config.
"""
import argparse
import os
import warnings

import numpy as np
import torch
import transformers


class GPT2Logits(transformers.GPT2LMHeadModel):
    """GPT-2 as a function of token ids (and optionally an attention mask),
    returning logits. A subclass rather than a wrapper, so that exported
    parameters keep Hugging Face's names ("transformer.h.0.attn.c_attn.weight",
    the tied embedding as "lm_head.weight") and accel's checkpoints load with
    GPT2LMHeadModel.from_pretrained."""

    def forward(self, input_ids, attention_mask=None):
        return super().forward(input_ids=input_ids, attention_mask=attention_mask,
                               use_cache=False).logits


def gpt2_config(args):
    config = transformers.GPT2Config(
        vocab_size=args.vocab, n_positions=max(128, args.seq), n_embd=args.hidden,
        n_layer=args.layers, n_head=args.heads, resid_pdrop=0.0, embd_pdrop=0.0,
        attn_pdrop=0.0, use_cache=False, bos_token_id=0, eos_token_id=0)
    return config


def build_model(args, perturb=False):
    """The model as a user pretraining from scratch has it: Hugging Face's
    initialization (zero biases, unit norms) and its default attention
    (sdpa). `perturb` adds noise to every parameter, for tests that need
    each one non-trivial (a wrong bias must show)."""
    torch.manual_seed(args.seed)
    model = GPT2Logits(gpt2_config(args)).eval()
    if perturb:
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p) * 0.02)
    return model


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out-dir", default=os.path.join(os.path.dirname(__file__), "out"))
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--vocab", type=int, default=256)
    p.add_argument("--seq", type=int, default=32)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default="gpt2", help="basename of the .onnx file written")
    p.add_argument("--opset", type=int, default=18)
    p.add_argument("--exporter", choices=["torchscript", "dynamo"], default="dynamo",
                   help="dynamo (the default of torch.onnx.export) or the legacy TorchScript exporter")
    p.add_argument("--no-optimize", action="store_true",
                   help="skip the dynamo exporter's ONNX optimizer, which merges equal weights, removes "
                        "zero biases and folds or transposes weights; needed to train the export")
    p.add_argument("--perturb", action="store_true",
                   help="add noise to every parameter (tests that need non-trivial biases and norms)")
    p.add_argument("--attention-mask", action="store_true",
                   help="give the model an attention_mask input (all ones); the TorchScript exporter "
                        "needs it, as transformers builds a missing mask with aten::diff, which it lacks")
    args = p.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)

    model = build_model(args, args.perturb)
    ids = torch.randint(0, args.vocab, (args.batch, args.seq),
                        generator=torch.Generator().manual_seed(args.seed + 1))
    inputs, names = (ids,), ["input_ids"]
    if args.attention_mask or args.exporter == "torchscript":
        mask = torch.ones_like(ids)
        inputs, names = (ids, mask), ["input_ids", "attention_mask"]
        np.save(os.path.join(args.out_dir, "attention_mask.npy"), mask.numpy())
    path = os.path.join(args.out_dir, f"{args.name}.onnx")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, inputs, path, input_names=names,
                          output_names=["logits"], opset_version=args.opset,
                          dynamo=args.exporter == "dynamo", external_data=False,
                          **({"optimize": not args.no_optimize} if args.exporter == "dynamo" else {}))
        logits = model(*inputs)
    # The config as GPT2LMHeadModel's (the subclass only narrows forward).
    model.config.architectures = ["GPT2LMHeadModel"]
    model.config.save_pretrained(args.out_dir)
    np.save(os.path.join(args.out_dir, "input_ids.npy"), ids.numpy())
    np.save(os.path.join(args.out_dir, "logits_torch.npy"), logits.numpy())
    print(f"wrote {path} ({args.layers} layers x {args.hidden} hidden, vocab {args.vocab}, "
          f"seq {args.seq}, {args.exporter} exporter, opset {args.opset})")


if __name__ == "__main__":
    main()
