#!/usr/bin/env python3
"""clip-server against ONNX Runtime and PyTorch in one run: alternates `clip-server bench` and
bench/peers.py ROUNDS times on the same model and thread count, so both see the same machine
weather, and prints each figure's runs, the medians and the ratio ours / ONNX Runtime (above 1 is
better for us: throughput ratio, or the inverse ratio of latencies).

Run (what `make bench` runs):
    .venv/bin/python bench/compare.py MODEL_DIR [--rounds 3] [--binary .build/release/clip-server]
Set up: as bench/peers.py says (torch, transformers, onnx, onnxruntime in the virtualenv).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# (label, key in clip-server bench, key in peers.py, higher is better)
FIGURES = [
    ("images/s, batch 32", "image_batch32_images_per_s", "image_batch32_images_per_s", True),
    ("images/s, batch 1", "image_batch1_images_per_s", "image_batch1_images_per_s", True),
    ("short query p50 ms (7 tokens)", "text_p50_ms_short_query_unpadded", "text_p50_ms_short_query_unpadded", False),
    ("77-token text p50 ms", "text_p50_ms_77_tokens", "text_p50_ms_short_query_padded_77", False),
]


def run_json(command):
    output = subprocess.run(command, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--binary", default=os.path.join(HERE, "..", ".build", "release", "clip-server"))
    args = parser.parse_args()

    ours, onnx, torch = [], [], []
    for round_index in range(args.rounds):
        print(f"compare: round {round_index + 1} of {args.rounds}", file=sys.stderr, flush=True)
        ours.append(run_json([args.binary, "bench", "--model", args.model, "--runs", "3"]))
        peers = run_json([sys.executable, os.path.join(HERE, "peers.py"), args.model,
                          "--threads", str(args.threads), "--runs", "2", "--skip-open-clip"])
        onnx.append(peers["onnxruntime"])
        torch.append(peers["pytorch_transformers"])

    print(f"| | clip-server | ONNX Runtime {onnx[0]['version']} | PyTorch {torch[0]['version'].split('+')[0]} "
          f"| ours / ONNX Runtime |")
    print("| --- | --- | --- | --- | --- |")
    for label, our_key, peer_key, higher in FIGURES:
        columns = []
        for runs, key in ((ours, our_key), (onnx, peer_key), (torch, peer_key)):
            values = [r[key] for r in runs]
            columns.append((statistics.median(values), ", ".join(f"{v:.1f}" for v in values)))
        ratio = columns[0][0] / columns[1][0] if higher else columns[1][0] / columns[0][0]
        cells = " | ".join(f"{runs} (median {median:.1f})" for median, runs in columns)
        print(f"| {label} | {cells} | {ratio:.2f} |")
    print(f"\n{args.rounds} alternating rounds, {args.threads} threads; ONNX Runtime's 77-token figure is its "
          f"padded short query (it always runs 77 positions).")


if __name__ == "__main__":
    main()
