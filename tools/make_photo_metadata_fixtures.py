#!/usr/bin/env python3
"""Writes the photo-metadata fixtures (Tests/CLIPTests/Fixtures/photo-metadata), all by Pillow:
- small JPEG/PNG files whose EXIF carries DateTimeOriginal (0x9003 in the Exif IFD) and sometimes
  OffsetTimeOriginal (0x9011), and `expected.json` with the instant each one means (seconds since
  1970, UTC; null when the value must be refused), computed here with Python's datetime;
- JPEG/PNG files with an XMP packet whose dc:subject bag holds keywords, and
  `expected-keywords.json` with the keywords Python's ElementTree reads from the same packet.

Re-run (from the repository root):
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install pillow
    /tmp/venv/bin/python tools/make_photo_metadata_fixtures.py
"""
import json
import xml.etree.ElementTree as ElementTree
from datetime import datetime, timedelta, timezone
from pathlib import Path

from PIL import Image, PngImagePlugin

OUT = Path(__file__).resolve().parent.parent / "Tests/CLIPTests/Fixtures/photo-metadata"
XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
 <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Not a keyword</rdf:li></rdf:Alt></dc:title>
  <dc:subject><rdf:Bag>
   <rdf:li>golden retriever</rdf:li>
   <rdf:li> beach </rdf:li>
   <rdf:li>Tom &amp; Jerry</rdf:li>
   <rdf:li>Gr&#246;&#xdf;e</rdf:li>
   <rdf:li/>
  </rdf:Bag></dc:subject>
 </rdf:Description>
</rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""
EXIF_IFD, DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL, DATETIME = 0x8769, 0x9003, 0x9011, 0x0132


def instant(text, offset=None):
    try:
        naive = datetime.strptime(text, "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    zone = timezone.utc
    if offset is not None:
        sign = -1 if offset[0] == "-" else 1
        zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    return naive.replace(tzinfo=zone).timestamp()


def write(name, fmt, original=None, offset=None, ifd0_datetime=None, orientation=None):
    image = Image.new("RGB", (24, 16), (120, 60, 200))
    exif = Image.Exif()
    if ifd0_datetime:
        exif[DATETIME] = ifd0_datetime
    if orientation:
        exif[0x0112] = orientation
    if original is not None:
        sub = exif.get_ifd(EXIF_IFD)
        sub[DATETIME_ORIGINAL] = original
        if offset is not None:
            sub[OFFSET_TIME_ORIGINAL] = offset
    image.save(OUT / name, fmt, exif=exif.tobytes())
    return name, (instant(original, offset) if original is not None else None)


def keywords(packet):
    ns = {"dc": "http://purl.org/dc/elements/1.1/", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#"}
    root = ElementTree.fromstring(packet.split("?>", 1)[1].rsplit("<?xpacket", 1)[0])
    items = root.findall(".//dc:subject/rdf:Bag/rdf:li", ns)
    return [item.text.strip() for item in items if item.text and item.text.strip()]


def write_xmp(name, fmt):
    image = Image.new("RGB", (20, 12), (30, 160, 90))
    if fmt == "PNG":   # Pillow writes PNG XMP through an iTXt chunk, uncompressed
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", XMP, zip=False)
        image.save(OUT / name, fmt, pnginfo=info)
    else:
        image.save(OUT / name, fmt, xmp=XMP.encode())
    return name, keywords(XMP)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    expected = dict([
        write("jpeg-original.jpg", "JPEG", "2023:07:14 18:05:09"),
        write("jpeg-original-offset.jpg", "JPEG", "2023:07:14 18:05:09", "+02:00", orientation=6),
        write("jpeg-original-negative-offset.jpg", "JPEG", "2019:12:31 23:30:00", "-05:30"),
        write("png-original.png", "PNG", "2001:02:03 04:05:06"),
        # Refused: a camera with no clock set, an impossible day; IFD0 DateTime alone is not DateTimeOriginal.
        write("jpeg-unset-clock.jpg", "JPEG", "0000:00:00 00:00:00"),
        write("jpeg-february-30.jpg", "JPEG", "2021:02:30 10:00:00"),
        write("jpeg-ifd0-datetime-only.jpg", "JPEG", None, ifd0_datetime="2020:01:01 00:00:00"),
    ])
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    tagged = dict([write_xmp("jpeg-xmp-keywords.jpg", "JPEG"), write_xmp("png-xmp-keywords.png", "PNG"),
                   ("jpeg-original.jpg", [])])
    (OUT / "expected-keywords.json").write_text(json.dumps(tagged, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
