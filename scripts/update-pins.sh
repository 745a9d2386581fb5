#!/usr/bin/env bash
# Re-resolves scripts/requirements.txt to the newest versions it allows, in
# a fresh virtualenv, writes them to scripts/constraints.txt, installs them
# into .venv/ and runs every test. Pins change only through this script, so
# a new torch, onnx or transformers release reaches the project as a change
# that was tested, never by surprise on a fresh clone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
python3 -m venv "$fresh/venv"
"$fresh/venv/bin/pip" install -q --upgrade pip
"$fresh/venv/bin/pip" install -q -r "$root/scripts/requirements.txt"
{
  head -4 "$root/scripts/constraints.txt"
  "$fresh/venv/bin/pip" freeze --exclude-editable | grep -v " @ "
} >"$fresh/constraints.txt"
mv "$fresh/constraints.txt" "$root/scripts/constraints.txt"
echo "update-pins: the new pins, against the last commit:"
git -C "$root" diff --stat -- scripts/constraints.txt || true
"$root/scripts/setup.sh"
"$root/scripts/test.sh"
