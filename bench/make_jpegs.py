"""Writes N deterministic JPEGs (smooth random colour fields, quality 90, 640x480 unless WxH is given)
for the indexing benchmarks. Re-run: python3 -m venv .venv && .venv/bin/pip install pillow;
.venv/bin/python bench/make_jpegs.py DIR [N] [WxH]
"""
import random
import sys
from pathlib import Path

from PIL import Image


def main() -> None:
    folder = Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    width, height = (int(v) for v in (sys.argv[3] if len(sys.argv) > 3 else "640x480").split("x"))
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261127)
    for i in range(count):
        # A 40x30 field of random colours, upscaled: photo-like smooth areas and edges, not noise
        # (noise would make the JPEGs unusually large and slow to decode).
        small = Image.frombytes("RGB", (40, 30), bytes(rng.randrange(256) for _ in range(40 * 30 * 3)))
        small.resize((width, height), Image.BICUBIC).save(folder / f"bench-{i:05d}.jpg", quality=90)


if __name__ == "__main__":
    main()
