#!/usr/bin/env python3
"""Generate the image-preprocessing fixtures in Tests/CLIPTests/Fixtures/images/.

Re-run (from the repository root):
    python3 -m venv .venv && .venv/bin/pip install torch transformers pillow numpy
    .venv/bin/python tools/make_image_fixtures.py
    # optional: also write large JPEGs for timing (not committed)
    .venv/bin/python tools/make_image_fixtures.py --timing-dir /tmp/clip-timing

Reference: transformers' slow (PIL/NumPy) CLIP image processor. In transformers 5.x that is
`CLIPImageProcessorPil` (what `AutoImageProcessor.from_pretrained(..., use_fast=False)` resolves to;
`CLIPImageProcessor(use_fast=False)` constructed directly is the torchvision backend in 5.x), applied to
`ImageOps.exif_transpose(Image.open(path))`. Note: its `convert_to_rgb` composites transparency (alpha or
tRNS) onto white, and Pillow converts 16-bit gray ("I;16") to RGB by clipping at 255.

Outputs (all seeded, deterministic for a given Pillow/transformers version):
  <name>.jpg|png                 the input image
  expected/<name>.crop.png       the reference 224x224 RGB crop before rescale/normalize (lossless)
  expected/<name>.samples.bin    reference pixel_values (3, 224, 224) float32 at 4096 seeded positions:
                                 little-endian records of (UInt32 flat index, Float32 value)
  resample/<case>.rgb            Pillow's BICUBIC resize of a procedural image (see `procedural`), raw RGB
  manifest.json                  every file above with its sizes, and reference resize/crop geometry
"""

import argparse
import io
import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageDraw, ImageOps
import transformers
from transformers.image_transforms import center_crop, get_resize_output_image_size
from transformers.image_utils import ChannelDimension
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "CLIPTests" / "Fixtures" / "images"
SEED = 20261127
SAMPLES = 4096
CROP = 224


# MARK: - Synthetic, photo-like content


def photo_like(width, height, seed, noise_sigma=2.0, texture=True):
    """Gradients + sinusoids + hard-edged shapes + a fine grating + Gaussian noise, as uint8 (h, w, 3)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = x / max(width - 1, 1), y / max(height - 1, 1)
    ph = rng.uniform(0, 2 * np.pi, 3)
    img = np.stack(
        [
            50 + 150 * u + 25 * np.sin(2 * np.pi * (2.5 * u + 1.5 * v) + ph[0]),
            40 + 140 * v + 30 * np.cos(2 * np.pi * (3.0 * u * v + 0.7 * u) + ph[1]),
            200 - 120 * (u + v) / 2 + 20 * np.sin(2 * np.pi * (4.0 * v - 1.0 * u) + ph[2]),
        ],
        axis=-1,
    )
    # Hard-edged shapes (the resampler's ringing/overshoot shows on these).
    layer = Image.new("RGB", (width, height))
    mask = Image.new("L", (width, height), 0)
    draw, mdraw = ImageDraw.Draw(layer), ImageDraw.Draw(mask)
    scale = min(width, height)
    for _ in range(7):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.08, 0.3) * scale
        box = [cx - r, cy - r * rng.uniform(0.5, 1.5), cx + r, cy + r * rng.uniform(0.5, 1.5)]
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        kind = rng.integers(0, 3)
        if kind == 0:
            draw.ellipse(box, fill=color)
            mdraw.ellipse(box, fill=255)
        elif kind == 1:
            draw.rectangle(box, fill=color)
            mdraw.rectangle(box, fill=255)
        else:
            pts = [(float(rng.uniform(0, width)), float(rng.uniform(0, height))) for _ in range(3)]
            draw.polygon(pts, fill=color)
            mdraw.polygon(pts, fill=255)
    m = np.asarray(mask, dtype=np.float64)[..., None] / 255.0 * 0.85
    img = img * (1 - m) + np.asarray(layer, dtype=np.float64) * m
    if texture:
        # A fine grating in one quadrant: aliasing and clipping stress for the antialiasing filter.
        gx0, gy0 = width // 2, height // 2
        period = rng.uniform(2.5, 7.0)
        grating = 60 * np.sin(2 * np.pi * (x + 0.3 * y) / period)
        sel = (x >= gx0) & (y >= gy0)
        img[sel] += grating[sel][:, None]
    img += rng.normal(0, noise_sigma, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# MARK: - PNG writer for what Pillow cannot save (16-bit RGB, Adam7 interlace)


def _chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def write_png(path, arr, color_type, bit_depth=8, interlace=False):
    h, w = arr.shape[:2]
    arr = arr.reshape(h, w, -1)
    dtype = ">u2" if bit_depth == 16 else "u1"

    def scanlines(sub):  # PNG filter 2 ("Up") on every row: smaller files, and the decoder must unfilter
        rows = [np.frombuffer(sub[row].astype(dtype).tobytes(), dtype=np.uint8) for row in range(sub.shape[0])]
        prev = np.zeros_like(rows[0])
        out = []
        for row in rows:
            out.append(b"\x02" + (row - prev).astype(np.uint8).tobytes())
            prev = row
        return b"".join(out)

    if interlace:
        raw = b""
        for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
            sub = arr[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += scanlines(sub)
    else:
        raw = scanlines(arr)
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b""))


def exif_with_orientation(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


# MARK: - The fixture images


def make_images(out):
    """Write every input image; return [(name, kind)] in a fixed order."""
    made = []

    def jpeg(name, arr, mode="RGB", **kw):
        im = Image.fromarray(arr)
        if mode == "L":
            im = im.convert("L")
        elif mode == "CMYK":
            im = im.convert("CMYK")
            # Give K real content (PIL's RGB->CMYK leaves K at 0).
            c, m, y, k = [np.asarray(b, dtype=np.int32) for b in im.split()]
            kk = np.minimum(np.minimum(c, m), y) // 2
            im = Image.merge("CMYK", [Image.fromarray((ch - kk).astype(np.uint8)) for ch in (c, m, y)] + [Image.fromarray(kk.astype(np.uint8))])
        im.save(out / name, "JPEG", **kw)
        made.append((name, "jpeg"))

    def png(name, im, **kw):
        im.save(out / name, "PNG", optimize=True, **kw)
        made.append((name, "png"))

    jpeg("jpeg-baseline-landscape-640x480.jpg", photo_like(640, 480, SEED + 1), quality=90)
    jpeg("jpeg-progressive-portrait-480x640.jpg", photo_like(480, 640, SEED + 2), quality=90, progressive=True)
    jpeg("jpeg-exact-224x224.jpg", photo_like(224, 224, SEED + 3), quality=92)
    jpeg("jpeg-wide-1600x150.jpg", photo_like(1600, 150, SEED + 4), quality=88)
    jpeg("jpeg-large-2400x1800.jpg", photo_like(2400, 1800, SEED + 5, noise_sigma=0.8, texture=False), quality=85)
    jpeg("jpeg-gray-300x400.jpg", photo_like(300, 400, SEED + 6), mode="L", quality=90)
    jpeg("jpeg-cmyk-320x240.jpg", photo_like(320, 240, SEED + 7), mode="CMYK", quality=92)
    # Stored sideways; the EXIF orientation tag makes them upright.
    jpeg("jpeg-exif6-400x300.jpg", photo_like(400, 300, SEED + 8), quality=90, exif=exif_with_orientation(6))
    jpeg("jpeg-exif3-360x270.jpg", photo_like(360, 270, SEED + 9), quality=90, exif=exif_with_orientation(3))
    jpeg("jpeg-exif8-260x390.jpg", photo_like(260, 390, SEED + 10), quality=90, exif=exif_with_orientation(8))

    png("png-rgb-odd-333x517.png", Image.fromarray(photo_like(333, 517, SEED + 11, noise_sigma=0.5)))
    png("png-rgb-tiny-50x37.png", Image.fromarray(photo_like(50, 37, SEED + 12)))
    png("png-gray-250x250.png", Image.fromarray(photo_like(250, 250, SEED + 13, noise_sigma=0.5)).convert("L"))

    rgb = photo_like(300, 200, SEED + 14, noise_sigma=0.5)
    yy, xx = np.mgrid[0:200, 0:300]
    alpha = np.clip(255 * (xx / 299.0) * 1.4 - 40 * np.sin(yy / 9.0), 0, 255).astype(np.uint8)
    png("png-rgba-300x200.png", Image.fromarray(np.dstack([rgb, alpha]), "RGBA"))

    yy, xx = np.mgrid[0:192, 0:256]
    low = ((xx * 5 + yy * 3) % 256).astype(np.uint16)[..., None]  # real low bytes, so rounding vs truncation shows
    arr16 = (photo_like(256, 192, SEED + 15, noise_sigma=0.5).astype(np.uint16) << 8) | low
    write_png(out / "png-rgb16-256x192.png", arr16, color_type=2, bit_depth=16)
    made.append(("png-rgb16-256x192.png", "png"))

    pal = Image.fromarray(photo_like(240, 180, SEED + 16, noise_sigma=0.5)).quantize(colors=64, dither=Image.Dither.NONE)
    trns = bytes(255 if i % 4 else (i * 3) % 200 for i in range(64))  # some entries transparent or partial
    png("png-palette-trns-240x180.png", pal, transparency=trns)

    gray = Image.fromarray(photo_like(200, 260, SEED + 17, noise_sigma=0.5)).convert("L")
    yy, xx = np.mgrid[0:260, 0:200]
    la_alpha = Image.fromarray(np.clip(255 - (yy * 1.3) + 30 * np.cos(xx / 7.0), 0, 255).astype(np.uint8))
    png("png-gray-alpha-200x260.png", Image.merge("LA", [gray, la_alpha]))

    write_png(out / "png-interlaced-300x300.png", photo_like(300, 300, SEED + 18, noise_sigma=0.5), color_type=2, interlace=True)
    made.append(("png-interlaced-300x300.png", "png"))
    return made


# MARK: - Reference pipeline


def has_transparency(im):
    return "A" in im.getbands() or im.info.get("transparency") is not None


def reference_crop_and_pixels(processor, image):
    crop = processor(images=image, do_rescale=False, do_normalize=False, return_tensors="np").pixel_values[0]
    pixels = processor(images=image, return_tensors="np").pixel_values[0]
    assert crop.dtype == np.uint8 and crop.shape == (3, CROP, CROP), (crop.dtype, crop.shape)
    assert pixels.dtype == np.float32 and pixels.shape == (3, CROP, CROP), (pixels.dtype, pixels.shape)
    return np.ascontiguousarray(crop.transpose(1, 2, 0)), pixels  # (224, 224, 3) uint8, (3, 224, 224) f32


def reference_geometry(width, height):
    """Resized size and crop offsets, computed by transformers' own functions on a coordinate image."""
    dummy = np.zeros((1, height, width), dtype=np.uint8)
    new_h, new_w = get_resize_output_image_size(dummy, size=CROP, default_to_square=False, input_data_format=ChannelDimension.FIRST)
    coords = np.stack(np.mgrid[0:new_h, 0:new_w]).astype(np.int64)  # (2, new_h, new_w): row, column
    cropped = center_crop(coords, (CROP, CROP), input_data_format=ChannelDimension.FIRST)
    return {"width": width, "height": height, "resizedWidth": int(new_w), "resizedHeight": int(new_h),
            "cropLeft": int(cropped[1, 0, 0]), "cropTop": int(cropped[0, 0, 0])}


def procedural(width, height):
    """Integer hash noise over a coarse ramp; Tests/CLIPTests/ImagePreprocessorTests.swift computes the same."""
    y, x = np.mgrid[0:height, 0:width].astype(np.uint32)
    out = np.empty((height, width, 3), dtype=np.uint8)
    for c in range(3):
        h = (x * np.uint32(0x9E3779B1)) ^ (y * np.uint32(0x85EBCA77)) ^ np.uint32(0xC2B2AE3D * (c + 1) & 0xFFFFFFFF)
        h ^= h >> np.uint32(15)
        h *= np.uint32(0x2C1B3C6D)
        h ^= h >> np.uint32(12)
        ramp = ((x * np.uint32(7) + y * np.uint32(3) + np.uint32(c * 50)) % np.uint32(256))
        # Half the image: pure noise (clipping stress); half: ramp with small noise.
        noisy = (h & np.uint32(255))
        smooth = (ramp + (h & np.uint32(15))) & np.uint32(255)
        out[..., c] = np.where(x < width // 2, noisy, smooth).astype(np.uint8)
    return out


RESAMPLE_CASES = [  # (input w, h) -> (output w, h): down, up, mixed, one axis only, extreme ratios
    (640, 480, 71, 53), (37, 23, 96, 61), (333, 517, 40, 90), (1000, 10, 50, 10),
    (10, 1000, 10, 45), (5, 3, 64, 48), (2000, 1500, 22, 17), (61, 59, 60, 58), (1, 1, 7, 5), (97, 2, 13, 29),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timing-dir", type=Path, help="also write 640x480 and 4000x3000 JPEGs here (not fixtures)")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "expected").mkdir(exist_ok=True)
    (OUT / "resample").mkdir(exist_ok=True)
    for old in list(OUT.glob("*.jpg")) + list(OUT.glob("*.png")) + list((OUT / "expected").glob("*")) + list((OUT / "resample").glob("*")):
        old.unlink()

    processor = CLIPImageProcessorPil()
    rng = np.random.default_rng(SEED)
    manifest = {"generator": "tools/make_image_fixtures.py",
                "reference": f"transformers {transformers.__version__} CLIPImageProcessorPil, Pillow {PIL.__version__}, numpy {np.__version__}",
                "cropSize": CROP, "images": [], "geometry": [], "resample": []}

    for name, kind in make_images(OUT):
        path = OUT / name
        opened = Image.open(path)
        stored_w, stored_h = opened.size
        mode = opened.mode
        orientation = opened.getexif().get(0x0112, 1)
        image = ImageOps.exif_transpose(opened)
        crop, pixels = reference_crop_and_pixels(processor, image)

        # The normalized tensor must be the rescale+normalize of this same crop (same code path).
        mean = np.array(processor.image_mean, dtype=np.float32)[:, None, None]
        std = np.array(processor.image_std, dtype=np.float32)[:, None, None]
        again = (crop.transpose(2, 0, 1).astype(np.float64) * processor.rescale_factor).astype(np.float32)
        assert np.array_equal((again - mean) / std, pixels), name

        stem = name.rsplit(".", 1)[0]
        Image.fromarray(crop).save(OUT / "expected" / f"{stem}.crop.png", optimize=True)
        entry = {"file": name, "format": kind, "pilMode": mode, "storedWidth": stored_w, "storedHeight": stored_h,
                 "exifOrientation": orientation, "expectedCrop": f"expected/{stem}.crop.png",
                 "samples": f"expected/{stem}.samples.bin"}
        entry.update({k: v for k, v in reference_geometry(*image.size).items()})
        entry["transparency"] = has_transparency(image)  # the reference composites it onto white

        flat = pixels.reshape(-1)
        idx = np.sort(rng.choice(flat.size, SAMPLES, replace=False)).astype("<u4")
        records = np.empty(SAMPLES, dtype=[("i", "<u4"), ("v", "<f4")])
        records["i"], records["v"] = idx, flat[idx]
        (OUT / entry["samples"]).write_bytes(records.tobytes())
        manifest["images"].append(entry)

    for w, h in [(333, 517), (517, 333), (50, 37), (37, 50), (1600, 150), (150, 1600), (224, 224), (225, 224),
                 (224, 225), (223, 224), (1, 1), (2, 3), (1, 300), (999, 1000), (1000, 999), (2400, 1800),
                 (4000, 3000), (3000, 4000), (225, 449), (449, 225), (301, 603), (640, 480)]:
        manifest["geometry"].append(reference_geometry(w, h))

    for iw, ih, ow, oh in RESAMPLE_CASES:
        src = Image.fromarray(procedural(iw, ih))
        out = np.asarray(src.resize((ow, oh), Image.Resampling.BICUBIC))  # Pillow's default: no reducing_gap
        fname = f"resample/{iw}x{ih}-to-{ow}x{oh}.rgb"
        (OUT / fname).write_bytes(np.ascontiguousarray(out).tobytes())
        manifest["resample"].append({"inWidth": iw, "inHeight": ih, "outWidth": ow, "outHeight": oh, "file": fname})

    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")

    if args.timing_dir:
        args.timing_dir.mkdir(parents=True, exist_ok=True)
        Image.fromarray(photo_like(640, 480, SEED + 100)).save(args.timing_dir / "photo-640x480.jpg", quality=90)
        Image.fromarray(photo_like(4000, 3000, SEED + 101, noise_sigma=3.0)).save(args.timing_dir / "photo-4000x3000.jpg", quality=90)

    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {len(manifest['images'])} images to {OUT} ({total / 1e6:.2f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
