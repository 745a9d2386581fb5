"""Makes the example's training text without any download: the license texts
every Debian system ships in /usr/share/common-licenses (package base-files),
about 230 KB of English prose, as byte-level tokens.

    python examples/gpt2/make_corpus.py [--out-dir DIR] [--val-fraction 0.05]

Writes DIR/train.bin and DIR/val.bin: uint16 token ids (one per byte, vocab
256), the layout nanoGPT's prepare scripts write and accel-run --data reads.
"""
import argparse
import os

import numpy as np

LICENSES = "/usr/share/common-licenses"


def corpus_bytes():
    seen, parts = set(), []
    for name in sorted(os.listdir(LICENSES)):
        path = os.path.realpath(os.path.join(LICENSES, name))
        if path in seen or not os.path.isfile(path):
            continue  # GPL -> GPL-3 and the like
        seen.add(path)
        with open(path, "rb") as f:
            parts.append(f.read())
    if not parts:
        raise SystemExit(f"{LICENSES} holds no texts (is this Debian?)")
    return b"\n\n".join(parts)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out-dir", default=os.path.join(os.path.dirname(__file__), "out"))
    p.add_argument("--val-fraction", type=float, default=0.05)
    args = p.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    data = np.frombuffer(corpus_bytes(), dtype=np.uint8).astype(np.uint16)
    split = int(len(data) * (1 - args.val_fraction))
    data[:split].tofile(os.path.join(args.out_dir, "train.bin"))
    data[split:].tofile(os.path.join(args.out_dir, "val.bin"))
    print(f"corpus: {len(data)} bytes of license text -> train.bin ({split} tokens), "
          f"val.bin ({len(data) - split} tokens), vocab 256")


if __name__ == "__main__":
    main()
