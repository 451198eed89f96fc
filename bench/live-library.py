#!/usr/bin/env python3
"""The live library (`serve --library`), measured with the built release binary; nothing asserted.

1. First scan: a folder of N small JPEGs (default 10,000 at 256x192, bench/make_jpegs.py), served
   with `serve --library`; time from the server being ready to `GET /library` reporting the first
   scan done -> files/s.
2. Rescan with nothing changed: the `library: scan of ...` log line of the periodic scan
   (`--scan-interval`), which stats every file and looks each up in the database.
3. Time from a file appearing (copied into the folder) to it being searchable (`GET /search` returns
   its path): p50 and max over R files, through inotify.

Run from the repository root (Pillow in $PYTHON):
    swift build -c release --product clip-server
    PYTHON=/tmp/venv/bin/python bench/live-library.py [--files 10000] [--model Models/demo] [--repeats 10]
Prints one JSON object; the log of the server is left in the work folder when --keep is given.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def get(base, path):
    with urllib.request.urlopen(base + path, timeout=60) as response:
        return json.loads(response.read())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--size", default="256x192")
    parser.add_argument("--model", default=str(ROOT / "Models/demo"))
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--scan-interval", type=int, default=20)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    python = os.environ.get("PYTHON", sys.executable)
    binary = ROOT / ".build/release/clip-server"

    work = Path(tempfile.mkdtemp(prefix="live-library-"))
    photos, spare = work / "photos", work / "spare"
    subprocess.run([python, str(ROOT / "bench/make_jpegs.py"), str(photos), str(args.files), args.size], check=True)
    # The same generator continues past N: the spare files are new images.
    subprocess.run([python, str(ROOT / "bench/make_jpegs.py"), str(spare), str(args.files + args.repeats), args.size], check=True)
    log_path = work / "serve.log"
    log = open(log_path, "w")
    server = subprocess.Popen([str(binary), "serve", "--model", args.model, "--db", str(work / "index.sqlite"),
                               "--port", "0", "--library", str(photos), "--scan-interval", str(args.scan_interval)],
                              stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        base = json.loads(server.stdout.readline())["listening"]
        while True:
            try:
                get(base, "/readyz")
                break
            except Exception:
                time.sleep(0.05)
        ready = time.monotonic()
        while True:
            folder = get(base, "/library")["folders"][0]
            if folder["last_scan"]:
                break
            time.sleep(0.2)
        first_scan_s = time.monotonic() - ready
        files = folder["files"]

        # Files appearing: each written beside the folder, then moved in (one event), then searched
        # for: a text search limited to photos taken (mtime, no EXIF here) since the bench began,
        # so the new file is in the results as soon as its vector is in the index.
        latencies = []
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2))
        for i in range(args.repeats):
            name = f"bench-{args.files + i:05d}.jpg"
            shutil.copy(spare / name, work / name)
            target = photos / name
            start = time.monotonic()
            os.rename(work / name, target)
            while time.monotonic() - start < 30:
                results = get(base, f"/search?q=a%20photo&k=100&after={since}")["results"]
                if any(r["source"] == str(target) for r in results):
                    break
                time.sleep(0.005)
            latencies.append(time.monotonic() - start)

        # The periodic rescan with nothing changed: wait for its log line.
        deadline = time.monotonic() + args.scan_interval * 3 + 60
        rescan = None
        while time.monotonic() < deadline and rescan is None:
            time.sleep(1)
            for line in open(log_path):
                match = re.search(r"library: scan of .* in ([0-9.]+) (seconds|ms).*: 0 indexed, 0 moved, 0 removed", line)
                if match:
                    rescan = float(match.group(1)) / (1000 if match.group(2) == "ms" else 1)
        print(json.dumps({
            "files": files, "image_size": args.size, "model": Path(args.model).name,
            "first_scan_s": round(first_scan_s, 2), "first_scan_files_per_s": round(files / first_scan_s, 1),
            "rescan_unchanged_s": rescan,
            "appear_to_searchable_p50_ms": round(statistics.median(latencies) * 1000, 1),
            "appear_to_searchable_max_ms": round(max(latencies) * 1000, 1),
            "repeats": args.repeats,
        }))
    finally:
        server.terminate()
        server.wait()
        log.close()
        if args.keep:
            print(f"work folder kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
