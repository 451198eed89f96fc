#!/usr/bin/env python3
"""Seed corpora for the libFuzzer targets in Fuzz/ (make fuzz): small valid inputs of each kind,
from which the fuzzer mutates. Re-run from the repository root: python3 tools/make_fuzz_corpus.py
(standard library only; it copies the smallest image fixtures and writes the rest)."""
import json, os, shutil, struct, zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "Fuzz", "Corpus")


def png(width, height, color_type=0, depth=8, chunks=(), interlace=0):
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    row = bytes((x * 37 + y) & 0xFF for x in range(width * channels * depth // 8) for y in [0])
    raw = b"".join(b"\0" + row for _ in range(height))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, interlace))
            + b"".join(chunk(k, d) for k, d in chunks) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def main():
    images = os.path.join(ROOT, "Tests", "CLIPTests", "Fixtures", "images")
    for name in ["png-rgb-tiny-50x37.png", "png-palette-trns-240x180.png", "jpeg-exact-224x224.jpg", "jpeg-exif3-360x270.jpg"]:
        os.makedirs(os.path.join(CORPUS, "FuzzImageDecoder"), exist_ok=True)
        shutil.copy(os.path.join(images, name), os.path.join(CORPUS, "FuzzImageDecoder", name))
    xmp = b'XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta><rdf:Description tiff:Orientation="6"/></x:xmpmeta>'
    exif = b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x08\0\0\0\0\0\0"
    write("FuzzImageDecoder", "gray-8x6-xmp.png", png(8, 6, chunks=[(b"iTXt", xmp)]))
    write("FuzzImageDecoder", "rgba16-5x4-exif.png", png(5, 4, color_type=6, depth=16, chunks=[(b"eXIf", exif)]))
    write("FuzzImageDecoder", "gray-alpha-7x7-interlaced.png", png(7, 7, color_type=4, interlace=1,
                                                                    chunks=[(b"zTXt", b"Comment\0\0" + zlib.compress(b"hello"))]))

    for i, text in enumerate(["a photo of a cat", "Two DOGS   running on the beach!!", "caf\u00e9 na\u00efve \u201cquoted\u201d \ufb01ne",
                              "&amp;amp;lt;b&gt; &#x1F600; &nbsp;", "\u00c3\u00a9t\u00c3\u00a9 mojibake", "日本語のテキスト 123 ５６",
                              "<|startoftext|>x<|endoftext|> it's we'll", "\u0000\u0007\u001b[31mred\u001b[0m\r\n\ttab"]):
        write("FuzzTokenizer", f"text-{i}.txt", text)

    for i, body in enumerate([{"text": "a cat", "k": 5, "negative": ["dog"], "min_score": 0.2},
                              {"image_id": 3, "offset": 10}, {"texts": ["a", "b"], "images": []},
                              {"image_id": 1, "labels": ["cat", "dog", "bird"]}, {"text": "x", "unknown": [[{"a": 1}]]}]):
        write("FuzzJSON", f"body-{i}.json", json.dumps(body))
    write("FuzzJSON", "escapes.json", '{"text":"\\u00e9\\n\\"q\\" [{,}]","k":1e2}')

    tiny = open(os.path.join(images, "png-rgb-tiny-50x37.png"), "rb").read()[:64]
    form = (b"multipart/form-data; boundary=fuzz\n--fuzz\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n" + tiny + b"\r\n--fuzz\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--fuzz--\r\n")
    write("FuzzMultipart", "two-parts.txt", form)
    write("FuzzMultipart", "quoted-boundary.txt", b'multipart/form-data; boundary="a b"\n--a b\r\n\r\n\r\n--a b--')


if __name__ == "__main__":
    main()
