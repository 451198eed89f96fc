#!/usr/bin/env python3
"""Indexing camera-size photos (12 MP JPEGs): `clip-server index` with its defaults, with
`--fast-decode` (and any extra configurations given with --config), against rclip on the same
photos in the same run (DESIGN.md 4). Every run starts from an empty database; the time includes
loading the model; configurations alternate over --rounds rounds and the median is reported.

    swift build -c release --product clip-server
    python3 -m venv /tmp/venv-rclip && /tmp/venv-rclip/bin/pip install rclip torch open_clip_torch onnx onnxscript pillow
    python3 bench/camera-photos.py --model Models/parity-vitb32 --rclip-python /tmp/venv-rclip/bin/python \\
        [--photos 48] [--rounds 2] [--config "--precision int8 --fast-decode"]

rclip cannot download its model here, so it gets random weights of its own model's shape
(open_clip ViT-B-32-256, exported to ONNX the way rclip loads it: `visual.onnx` and `textual.onnx`
with input "input" and output "output", in $RCLIP_DATADIR); rclip decodes with PIL in threads and
runs ONNX Runtime on all cores. Its speed does not depend on the weights' values.

The photos are generated (seeded): a smooth random colour field with sensor-like noise, 4000x3000,
JPEG quality 92 (3 to 4 MB each, like a phone's), written once into --photo-dir.
"""
import argparse
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RCLIP_SUBDIR = "ViT-B-32-256-datacomp_s34b_b86k"

MAKE_PHOTOS = r"""
import sys, numpy as np
from PIL import Image
folder, count, width, height = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(20261201)
for i in range(count):
    field = Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).resize((width, height), Image.BICUBIC)
    noisy = np.asarray(field, dtype=np.int16) + rng.normal(0, 6, (height, width, 3)).astype(np.int16)
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(f"{folder}/photo-{i:04d}.jpg", quality=92)
"""

EXPORT_RCLIP_MODEL = r"""
import sys, torch, open_clip
out = sys.argv[1]
torch.manual_seed(0)
torch.backends.mha.set_fastpath_enabled(False)  # the fused attention op has no ONNX export
model = open_clip.create_model("ViT-B-32-256", pretrained=None).eval()
class Visual(torch.nn.Module):
    def __init__(self, m): super().__init__(); self.m = m
    def forward(self, x): return self.m.encode_image(x)
class Textual(torch.nn.Module):
    def __init__(self, m): super().__init__(); self.m = m
    def forward(self, x): return self.m.encode_text(x)
with torch.no_grad():
    torch.onnx.export(Visual(model), torch.randn(2, 3, 256, 256), f"{out}/visual.onnx", input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "n"}, "output": {0: "n"}}, dynamo=False)
    torch.onnx.export(Textual(model), torch.zeros(2, 77, dtype=torch.int64), f"{out}/textual.onnx", input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "n"}, "output": {0: "n"}}, dynamo=False)
"""


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(command, cwd=None, env=None):
    """Wall seconds and CPU seconds (user + system, what a shared machine's load disturbs least)."""
    cpu = children_cpu()
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{shlex.join(command)} failed:\n{result.stderr[-2000:]}")
    return elapsed, children_cpu() - cpu


def ensure_photos(python, folder, count):
    existing = sorted(f for f in os.listdir(folder) if f.endswith(".jpg")) if os.path.isdir(folder) else []
    if len(existing) >= count:
        return
    os.makedirs(folder, exist_ok=True)
    subprocess.run([python, "-c", MAKE_PHOTOS, folder, str(count), "4000", "3000"], check=True)


def ensure_rclip_data(python, datadir, vocabulary):
    model_dir = os.path.join(datadir, RCLIP_SUBDIR)
    if not os.path.isfile(os.path.join(model_dir, "visual.onnx")):
        os.makedirs(model_dir, exist_ok=True)
        subprocess.run([python, "-c", EXPORT_RCLIP_MODEL, model_dir], check=True)
    tokenizer = os.path.join(datadir, "tokenizer", "bpe_simple_vocab_16e6.txt.gz")
    os.makedirs(os.path.dirname(tokenizer), exist_ok=True)
    if not os.path.isfile(tokenizer):
        shutil.copy(vocabulary, tokenizer)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--server", default=os.path.join(ROOT, ".build/release/clip-server"))
    parser.add_argument("--rclip-python", help="a Python with rclip, torch and open_clip (rclip is skipped without it)")
    parser.add_argument("--photo-python", default=sys.executable, help="a Python with numpy and Pillow")
    parser.add_argument("--photos", type=int, default=48)
    parser.add_argument("--photo-dir", default="/tmp/clip-camera-photos")
    parser.add_argument("--rclip-datadir", default="/tmp/clip-rclip-data")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--config", action="append", default=[], help="extra clip-server index flags, one configuration")
    args = parser.parse_args()

    photos = os.path.join(args.photo_dir, str(args.photos))
    ensure_photos(args.photo_python, photos, args.photos)
    size_mb = sum(os.path.getsize(os.path.join(photos, f)) for f in os.listdir(photos)) / len(os.listdir(photos)) / 1e6
    configs = [("clip-server", []), ("clip-server --fast-decode", ["--fast-decode"])]
    configs += [(f"clip-server {c}", shlex.split(c)) for c in args.config]
    if args.rclip_python:
        ensure_rclip_data(args.rclip_python, args.rclip_datadir, os.path.join(ROOT, "Models/bpe_simple_vocab_16e6.txt.gz"))
        configs.append(("rclip", None))
    rclip_bin = os.path.join(os.path.dirname(args.rclip_python), "rclip") if args.rclip_python else None

    times = {name: [] for name, _ in configs}
    cpus = {name: [] for name, _ in configs}
    for _ in range(args.rounds):
        for name, flags in configs:
            with tempfile.TemporaryDirectory() as scratch:
                if flags is None:
                    env = dict(os.environ, RCLIP_DATADIR=args.rclip_datadir)
                    # rclip keeps its index in RCLIP_DATADIR: a fresh copy of the model folder each run.
                    data = os.path.join(scratch, "rclip")
                    shutil.copytree(args.rclip_datadir, data)
                    env["RCLIP_DATADIR"] = data
                    elapsed, cpu = run_timed([rclip_bin, "--top", "1", "--filepath-only", "a photo"], cwd=photos, env=env)
                else:
                    db = os.path.join(scratch, "index.sqlite")
                    elapsed, cpu = run_timed([args.server, "index", "--model", args.model, "--db", db, *flags, photos])
                times[name].append(elapsed)
                cpus[name].append(cpu)
                print(json.dumps({"run": name, "photos": args.photos, "seconds": round(elapsed, 2),
                                  "files_per_s": round(args.photos / elapsed, 2),
                                  "cpu_ms_per_photo": round(1000 * cpu / args.photos, 1)}), flush=True)

    print(f"\n{args.photos} photos of 4000x3000 ({size_mb:.1f} MB each), {args.rounds} rounds; "
          f"load average at the end {os.getloadavg()[0]:.2f}")
    print("| indexer | files/s (each round) | median | vs rclip | CPU ms per photo (median) | vs rclip |")
    print("| --- | --- | --- | --- | --- | --- |")
    rclip_rate = statistics.median(args.photos / t for t in times["rclip"]) if "rclip" in times else None
    rclip_cpu = statistics.median(cpus["rclip"]) if "rclip" in cpus else None
    for name, _ in configs:
        rates = [args.photos / t for t in times[name]]
        median = statistics.median(rates)
        cpu = statistics.median(cpus[name])
        ratio = f"{median / rclip_rate:.2f}" if rclip_rate else "-"
        cpu_ratio = f"{rclip_cpu / cpu:.2f}" if rclip_cpu else "-"
        print(f"| {name} | {', '.join(f'{r:.2f}' for r in rates)} | {median:.2f} | {ratio} "
              f"| {1000 * cpu / args.photos:.0f} | {cpu_ratio} |")


if __name__ == "__main__":
    main()
