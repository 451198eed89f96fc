"""Writes N deterministic 640x480 JPEGs (smooth random colour fields, quality 90) for the indexing
benchmark. Re-run: python3 -m venv .venv && .venv/bin/pip install pillow; .venv/bin/python bench/make_jpegs.py DIR [N]
"""
import random
import sys
from pathlib import Path

from PIL import Image


def main() -> None:
    folder = Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261127)
    for i in range(count):
        # A 40x30 field of random colours, upscaled: photo-like smooth areas and edges, not noise
        # (noise would make the JPEGs unusually large and slow to decode).
        small = Image.frombytes("RGB", (40, 30), bytes(rng.randrange(256) for _ in range(40 * 30 * 3)))
        small.resize((640, 480), Image.BICUBIC).save(folder / f"bench-{i:05d}.jpg", quality=90)


if __name__ == "__main__":
    main()
