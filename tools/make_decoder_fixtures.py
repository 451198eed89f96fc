#!/usr/bin/env python3
"""Writes the image-decoder parity fixtures: small JPEG/PNG files plus the reference decode of each.

Re-run (from the repository root):
    python3 -m venv .venv && .venv/bin/pip install pillow numpy transformers
    .venv/bin/python tools/make_decoder_fixtures.py

Reference decode = what Hugging Face `CLIPImageProcessor` (transformers 5.x, both backends) sees for a
file: `convert_to_rgb(ImageOps.exif_transpose(Image.open(path)), return_numpy=True)`, i.e. Pillow's
`convert("RGB")`, except that images with an alpha band or a `transparency` entry (PNG tRNS) are
alpha-composited onto white first. Written as raw interleaved RGB (`<name>.rgb`, height x width x 3)
and listed in `manifest.json` with the upright width/height.

Files Pillow cannot write (2/4-bit gray, 16-bit color, gray+alpha 16, tRNS on gray/RGB, Adam7
interlacing, eXIf) are assembled chunk by chunk below, and YCCK / arithmetic-coded JPEGs come from
tools/write_special_jpeg.c (compiled here with `cc ... -ljpeg`, needs libjpeg-dev); Pillow still
produces every reference.
"""
import io
import json
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, __version__ as pil_version
from transformers.image_transforms import convert_to_rgb

OUT = Path(__file__).resolve().parent.parent / "Tests" / "CLIPTests" / "Fixtures" / "decoder"
rng = np.random.RandomState(20261127)


# MARK: - Test pictures

def picture(w, h, channels=3):
    """Smooth gradients, a hard edge and some noise: exercises DCT, chroma upsampling and edges."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    planes = [
        255 * x / max(w - 1, 1),
        255 * y / max(h - 1, 1),
        127.5 + 127.5 * np.sin((x + 2 * y) / 5.0),
        255 * ((x // 7 + y // 5) % 2),
    ]
    img = np.stack(planes[:channels], axis=-1)
    img[h // 3: h // 2, w // 4: w // 2, :] = 240  # a flat block with sharp edges
    img += rng.normal(0, 12, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def pil_bytes(image, fmt, **options):
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


# MARK: - Hand-assembled PNG

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_row(samples, bit_depth):
    """samples: 1-D array of samples of one row (all channels interleaved)."""
    if bit_depth == 16:
        return samples.astype(">u2").tobytes()
    if bit_depth == 8:
        return samples.astype(np.uint8).tobytes()
    per_byte = 8 // bit_depth
    padded = np.zeros(-(-len(samples) // per_byte) * per_byte, dtype=np.uint8)
    padded[: len(samples)] = samples
    padded = padded.reshape(-1, per_byte)
    out = np.zeros(len(padded), dtype=np.uint8)
    for i in range(per_byte):
        out |= (padded[:, i] << (8 - bit_depth * (i + 1))).astype(np.uint8)
    return out.tobytes()


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def raw_png(samples, bit_depth, color_type, interlace=False, before_idat=b"", after_idat=b"", palette=None):
    """samples: (h, w, channels) integer array already in the file's sample range."""
    h, w, _ = samples.shape
    raw = bytearray()
    if interlace:
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0:
                continue
            for row in sub:
                raw += b"\x00" + pack_row(row.reshape(-1), bit_depth)
    else:
        for row in samples:
            raw += b"\x00" + pack_row(row.reshape(-1), bit_depth)
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    body = chunk(b"IHDR", ihdr)
    if palette is not None:
        body += chunk(b"PLTE", bytes(palette))
    body += before_idat + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + after_idat + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def exif_orientation_payload(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()  # starts with b"Exif\0\0"


def special_jpeg(kind, pixels):
    """YCCK or arithmetic-coded JPEG through the system libjpeg (Pillow writes neither)."""
    source = Path(__file__).resolve().parent / "write_special_jpeg.c"
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "write_special_jpeg"
        subprocess.run(["cc", "-O1", str(source), "-ljpeg", "-o", str(exe)], check=True)
        h, w = pixels.shape[:2]
        return subprocess.run([str(exe), kind, str(w), str(h)], input=pixels.tobytes(),
                              capture_output=True, check=True).stdout


def big_endian_exif(orientation):
    """A Motorola-order ("MM") TIFF header; Pillow itself writes Intel order."""
    ifd = struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    return b"Exif\0\0" + b"MM" + struct.pack(">HI", 42, 8) + ifd


# MARK: - Cases

def cases():
    rgb = picture(29, 21)
    big = picture(64, 48)
    gray = picture(29, 21, 1)[..., 0]
    photo = Image.fromarray(rgb, "RGB")

    # JPEG
    yield "jpeg_baseline_420.jpg", pil_bytes(photo, "JPEG", quality=90, subsampling=2)
    yield "jpeg_baseline_420_64x48.jpg", pil_bytes(Image.fromarray(big, "RGB"), "JPEG", quality=75)
    yield "jpeg_422.jpg", pil_bytes(photo, "JPEG", quality=90, subsampling=1)
    yield "jpeg_444.jpg", pil_bytes(photo, "JPEG", quality=95, subsampling=0)
    yield "jpeg_progressive.jpg", pil_bytes(photo, "JPEG", quality=85, progressive=True)
    yield "jpeg_optimized_restart.jpg", pil_bytes(photo, "JPEG", quality=80, optimize=True,
                                                  restart_marker_blocks=2)
    yield "jpeg_gray.jpg", pil_bytes(Image.fromarray(gray, "L"), "JPEG", quality=90)
    cmyk = Image.fromarray(picture(29, 21, 4), "CMYK")
    yield "jpeg_cmyk.jpg", pil_bytes(cmyk, "JPEG", quality=90)
    yield "jpeg_ycck.jpg", special_jpeg("ycck", picture(29, 21, 4))
    yield "jpeg_arithmetic.jpg", special_jpeg("arith", rgb)
    yield "jpeg_adobe_rgb.jpg", pil_bytes(photo, "JPEG", quality=90, keep_rgb=True)
    oriented = Image.fromarray(picture(24, 16), "RGB")
    for orientation in range(1, 9):
        yield f"jpeg_exif_orientation_{orientation}.jpg", pil_bytes(
            oriented, "JPEG", quality=90, exif=exif_orientation_payload(orientation))
    # Taller than the decoder's 64-row block, so rotations cross block boundaries (few pixels,
    # though one side exceeds 64).
    tall = Image.fromarray(picture(12, 150), "RGB")
    for orientation in (6, 7):
        yield f"jpeg_exif_orientation_{orientation}_tall.jpg", pil_bytes(
            tall, "JPEG", quality=90, exif=exif_orientation_payload(orientation))
    yield "png_exif_orientation_8_tall.png", pil_bytes(
        Image.fromarray(picture(12, 150, 4), "RGBA"), "PNG", exif=exif_orientation_payload(8))
    yield "jpeg_exif_big_endian_8.jpg", pil_bytes(oriented, "JPEG", quality=90, exif=big_endian_exif(8))
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>')
    yield "jpeg_xmp_orientation_6.jpg", pil_bytes(oriented, "JPEG", quality=90, xmp=xmp)
    # Garbage between two markers: libjpeg warns "extraneous bytes before marker" and decodes.
    clean = pil_bytes(photo, "JPEG", quality=90)
    sof = clean.index(b"\xff\xc0")
    yield "jpeg_corrupt_but_decodable.jpg", clean[:sof] + b"\x00\x13\x37\x00" + clean[sof:]

    # PNG written by Pillow
    yield "png_rgb8.png", pil_bytes(photo, "PNG")
    yield "png_rgba8.png", pil_bytes(Image.fromarray(picture(29, 21, 4), "RGBA"), "PNG")
    yield "png_gray8.png", pil_bytes(Image.fromarray(gray, "L"), "PNG")
    yield "png_gray1.png", pil_bytes(Image.fromarray(gray, "L").convert("1"), "PNG")
    yield "png_graya8.png", pil_bytes(Image.fromarray(picture(29, 21, 2), "LA"), "PNG")
    pal = photo.quantize(colors=200)
    yield "png_palette8.png", pil_bytes(pal, "PNG")
    pal16 = photo.quantize(colors=16)
    yield "png_palette4.png", pil_bytes(pal16, "PNG", bits=4)
    alphas = bytes(rng.randint(0, 256, 200).astype(np.uint8))
    yield "png_palette_trns.png", pil_bytes(pal, "PNG", transparency=alphas)
    yield "png_palette_trns_single.png", pil_bytes(pal16, "PNG", transparency=3)

    # PNG assembled by hand
    g = picture(29, 21, 1)
    yield "png_gray2.png", raw_png(g >> 6, 2, 0)
    yield "png_gray4.png", raw_png(g >> 4, 4, 0)
    g16 = (g.astype(np.uint32) * 257 + rng.randint(0, 257, g.shape)).astype(np.uint16)
    yield "png_gray16.png", raw_png(g16, 16, 0)
    # Pillow clips "I;16" to 255 in convert("RGB"): include values below 256 so the test can fail.
    yield "png_gray16_low.png", raw_png((g16 >> 7).astype(np.uint16), 16, 0)
    rgb16 = (picture(29, 21).astype(np.uint32) * 257 + rng.randint(0, 257, (21, 29, 3))).astype(np.uint16)
    yield "png_rgb16.png", raw_png(rgb16, 16, 2)
    rgba16 = (picture(29, 21, 4).astype(np.uint32) * 257 + rng.randint(0, 257, (21, 29, 4))).astype(np.uint16)
    yield "png_rgba16.png", raw_png(rgba16, 16, 6)
    ga16 = (picture(29, 21, 2).astype(np.uint32) * 257).astype(np.uint16)
    yield "png_graya16.png", raw_png(ga16, 16, 4)
    yield "png_gray8_trns.png", raw_png(g, 8, 0, before_idat=chunk(b"tRNS", struct.pack(">H", int(g[5, 5, 0]))))
    yield "png_gray2_trns0.png", raw_png(g >> 6, 2, 0, before_idat=chunk(b"tRNS", struct.pack(">H", 0)))
    r8 = picture(29, 21)
    r8[::3, ::4] = (10, 20, 30)
    yield "png_rgb8_trns.png", raw_png(r8, 8, 2, before_idat=chunk(b"tRNS", struct.pack(">HHH", 10, 20, 30)))
    yield "png_rgb8_interlaced.png", raw_png(picture(29, 21), 8, 2, interlace=True)
    yield "png_gray2_interlaced.png", raw_png(g >> 6, 2, 0, interlace=True)
    yield "png_rgba8_interlaced.png", raw_png(picture(29, 21, 4), 8, 6, interlace=True)
    exif6 = exif_orientation_payload(6)[6:]  # eXIf holds the TIFF data without the "Exif\0\0" prefix
    yield "png_exif_orientation_6.png", raw_png(picture(24, 16), 8, 2, before_idat=chunk(b"eXIf", exif6))
    yield "png_gray16_low_trns.png", raw_png((g16 >> 8).astype(np.uint16), 16, 0,
                                             before_idat=chunk(b"tRNS", struct.pack(">H", 0x0100 + int(g16[3, 3, 0] >> 8))))
    yield "png_gray1_trns.png", raw_png(g >> 7, 1, 0, before_idat=chunk(b"tRNS", struct.pack(">H", 1)))
    r16 = rgb16.copy()
    r16[::2, ::3] = (0x0A00, 0x1400, 0x1E00)
    yield "png_rgb16_trns.png", raw_png(r16, 16, 2, before_idat=chunk(b"tRNS", struct.pack(">HHH", 10, 20, 30)))
    pal_colors = rng.randint(0, 256, (4, 3)).astype(np.uint8)
    yield "png_palette2_trns.png", raw_png(g >> 6, 2, 3, palette=pal_colors.tobytes(),
                                           before_idat=chunk(b"tRNS", bytes([0, 90, 200])))
    yield "png_palette1.png", raw_png(g >> 7, 1, 3, palette=pal_colors[:2].tobytes())
    yield "png_palette8_interlaced_trns.png", raw_png(
        rng.randint(0, 200, (21, 29, 1)), 8, 3, interlace=True,
        palette=rng.randint(0, 256, (200, 3)).astype(np.uint8).tobytes(),
        before_idat=chunk(b"tRNS", bytes(rng.randint(0, 256, 150).astype(np.uint8))))
    # Ancillary chunks the reference ignores for pixels: gamma, chromaticities, sRGB, background.
    yield "png_rgb8_gama_bkgd.png", raw_png(picture(29, 21), 8, 2, before_idat=(
        chunk(b"gAMA", struct.pack(">I", 45455)) + chunk(b"sRGB", b"\x00")
        + chunk(b"bKGD", struct.pack(">HHH", 1, 2, 3))))
    xmp_png = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
               '<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/"><tiff:Orientation>8</tiff:Orientation>'
               '</rdf:Description></rdf:RDF></x:xmpmeta>').encode()
    itxt = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp_png
    yield "png_xmp_orientation_8.png", raw_png(picture(24, 16), 8, 2, before_idat=chunk(b"iTXt", itxt))
    exif3 = exif_orientation_payload(3)[6:]
    yield "png_exif_after_idat_3.png", raw_png(picture(24, 16), 8, 2, after_idat=chunk(b"eXIf", exif3))


def reference(data):
    image = Image.open(io.BytesIO(data))
    return convert_to_rgb(ImageOps.exif_transpose(image), return_numpy=True)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = []
    for name, data in cases():
        rgb = reference(data)
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3, name
        (OUT / name).write_bytes(data)
        (OUT / (name + ".rgb")).write_bytes(np.ascontiguousarray(rgb).tobytes())
        manifest.append({"file": name, "width": int(rgb.shape[1]), "height": int(rgb.shape[0]),
                         "mode": Image.open(io.BytesIO(data)).mode})
    (OUT / "manifest.json").write_text(json.dumps(
        {"pillow": pil_version, "reference": "transformers convert_to_rgb(ImageOps.exif_transpose(Image.open(f)))",
         "images": manifest}, indent=1) + "\n")
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {len(manifest)} fixtures to {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
