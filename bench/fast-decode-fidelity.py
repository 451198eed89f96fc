#!/usr/bin/env python3
"""How far `--fast-decode` moves what the model sees: for each JPEG, the 224x224 crop with and
without it (`clip-server preprocess`: mean and largest absolute difference per byte) and the image
embedding with and without it (`clip-server embed`: cosine), for each model given.

    swift build -c release --product clip-server
    python3 bench/fast-decode-fidelity.py --model Models/parity-vitb32 --model Models/demo PHOTO_DIR...
    python3 bench/fast-decode-fidelity.py --model ... --generate 8 --photo-python /tmp/venv/bin/python

Deterministic (no timing): files or folders of JPEGs; only those at least 896 pixels on their
short side are decoded reduced (see README), so smaller ones are left out. `--generate N` writes N
seeded 4000x3000 photos full of fine detail (thousands of small shapes, sharp edges, sensor-like
noise: harder on a reduced decode than smooth scenes) into a temporary folder and measures those.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


DETAILED = r"""
import sys, numpy as np
from PIL import Image, ImageDraw
folder, count = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(7)
for i in range(count):
    im = Image.new("RGB", (4000, 3000), tuple(int(v) for v in rng.integers(0, 256, 3)))
    d = ImageDraw.Draw(im)
    for _ in range(6000):
        x, y = int(rng.integers(0, 4000)), int(rng.integers(0, 3000))
        w, h = int(rng.integers(2, 60)), int(rng.integers(2, 60))
        c = tuple(int(v) for v in rng.integers(0, 256, 3))
        k = rng.integers(0, 3)
        if k == 0: d.rectangle([x, y, x + w, y + h], fill=c)
        elif k == 1: d.line([x, y, x + w, y + h], fill=c, width=int(rng.integers(1, 4)))
        else: d.ellipse([x, y, x + w, y + h], outline=c)
    a = np.asarray(im, dtype=np.int16) + rng.normal(0, 10, (3000, 4000, 3)).astype(np.int16)
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(f"{folder}/detail-{i}.jpg", quality=92)
"""


def jpegs(paths):
    for path in paths:
        if os.path.isdir(path):
            yield from sorted(os.path.join(path, f) for f in os.listdir(path) if f.lower().endswith((".jpg", ".jpeg")))
        else:
            yield path


def crop(server, image, fast):
    with tempfile.NamedTemporaryFile() as out:
        subprocess.run([server, "preprocess", "--image", image, "--output", out.name] + (["--fast-decode"] if fast else []),
                       check=True)
        return open(out.name, "rb").read()


def embeddings(server, model, images, fast):
    args = [server, "embed", "--model", model] + (["--fast-decode"] if fast else [])
    for image in images:
        args += ["--image", image]
    out = subprocess.run(args, check=True, stdout=subprocess.PIPE, text=True).stdout
    return [json.loads(line)["embedding"] for line in out.splitlines()]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.path.join(ROOT, ".build/release/clip-server"))
    parser.add_argument("--model", action="append", required=True)
    parser.add_argument("--generate", type=int, default=0, help="also measure N generated detailed photos")
    parser.add_argument("--photo-python", default=sys.executable, help="a Python with numpy and Pillow (--generate)")
    parser.add_argument("photos", nargs="*")
    args = parser.parse_args()
    scratch = tempfile.TemporaryDirectory()
    if args.generate:
        subprocess.run([args.photo_python, "-c", DETAILED, scratch.name, str(args.generate)], check=True)
        args.photos.append(scratch.name)
    images = [p for p in jpegs(args.photos)]
    if not images:
        sys.exit("no JPEGs")
    means, maxima, reduced = [], [], []
    for image in images:
        exact, fast = crop(args.server, image, False), crop(args.server, image, True)
        if exact == fast:
            continue  # not reduced (too small), or identical
        diffs = [abs(a - b) for a, b in zip(exact, fast)]
        means.append(sum(diffs) / len(diffs))
        maxima.append(max(diffs))
        reduced.append(image)
    print(json.dumps({"images": len(images), "reduced": len(reduced),
                      "crop_mean_abs_diff": round(sum(means) / max(1, len(means)), 3),
                      "crop_mean_abs_diff_worst": round(max(means, default=0), 3),
                      "crop_max_abs_diff": max(maxima, default=0)}))
    for model in args.model:
        exact, fast = embeddings(args.server, model, reduced, False), embeddings(args.server, model, reduced, True)
        cosines = [sum(a * b for a, b in zip(u, v)) / math.sqrt(sum(a * a for a in u) * sum(b * b for b in v))
                   for u, v in zip(exact, fast)]
        print(json.dumps({"model": model, "images": len(cosines), "min_cosine": round(min(cosines), 6),
                          "mean_cosine": round(sum(cosines) / len(cosines), 6)}))


if __name__ == "__main__":
    main()
