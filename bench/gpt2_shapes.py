"""The model shape and run options the GPT-2 benchmarks share: a
GPT-2-small-shaped model (6 layers x 384 hidden, GPT-2's vocabulary), a
batch of 8 x 256 tokens, 2 threads."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def add_model_args(p):
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--hidden", type=int, default=384)
    p.add_argument("--heads", type=int, default=6)
    p.add_argument("--vocab", type=int, default=50257)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))


def export_args(args):
    """The export.py flags for this shape."""
    return [str(a) for a in ["--layers", args.layers, "--hidden", args.hidden, "--heads", args.heads,
                             "--vocab", args.vocab, "--seq", args.seq, "--batch", args.batch]]
