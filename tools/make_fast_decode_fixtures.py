#!/usr/bin/env python3
"""Expected `--fast-decode` output for the JPEG fixtures: Pillow's own reduced decode (`draft()`,
libjpeg's DCT scaling), then `ImageOps.exif_transpose` and `convert("RGB")`, as a SHA-256 of the
upright RGB bytes with the sizes, in Tests/CLIPTests/Fixtures/images/expected/fast-decode.json.

Re-run (from the repository root):
    python3 -m venv .venv && .venv/bin/pip install pillow
    .venv/bin/python tools/make_fast_decode_fixtures.py

The denominator is ours (ImageDecoder: the largest of 8, 4, 2 that keeps the short side at least
`minShortSide`); Pillow is asked for that scale and must give it.
"""
import hashlib
import json
from pathlib import Path

import PIL
from PIL import Image, ImageOps

FOLDER = Path(__file__).resolve().parent.parent / "Tests/CLIPTests/Fixtures/images"


def denominator(width, height, min_short_side):
    short = min(width, height)
    for d in (8, 4, 2):
        if (short + d - 1) // d >= min_short_side:
            return d
    return 1


def main():
    manifest = json.loads((FOLDER / "manifest.json").read_text())
    cases = []
    for entry in manifest["images"]:
        if entry["format"] != "jpeg":
            continue
        for min_short_side in (448, 100):
            path = FOLDER / entry["file"]
            image = Image.open(path)
            width, height = image.size
            d = denominator(width, height, min_short_side)
            if d > 1:
                image.draft(image.mode, (width // d, height // d))
            assert image.size == ((width + d - 1) // d, (height + d - 1) // d), (entry["file"], d, image.size)
            upright = ImageOps.exif_transpose(image).convert("RGB")
            full = ImageOps.exif_transpose(Image.open(path)).size
            cases.append({
                "file": entry["file"], "minShortSide": min_short_side, "denominator": d,
                "width": upright.size[0], "height": upright.size[1],
                "fullWidth": full[0], "fullHeight": full[1],
                "sha256": hashlib.sha256(upright.tobytes()).hexdigest(),
            })
    out = {"generator": "tools/make_fast_decode_fixtures.py", "reference": f"Pillow {PIL.__version__} draft()", "cases": cases}
    (FOLDER / "expected/fast-decode.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"{len(cases)} cases, {sum(c['denominator'] > 1 for c in cases)} reduced")


if __name__ == "__main__":
    main()
