#!/usr/bin/env python3
"""clip-server in each weight precision on one model, in one run: alternates `clip-server bench
--precision P` for every P given, ROUNDS times, and prints each figure's runs, medians and the ratio
to the first precision (f32) as a table. For f16 vs f32 give a model whose weights are fp16 values
(tools/round_fp16.py on tools/clipfixture.py's random model: the shape of OpenAI's released weights).

Run: python3 bench/engine_precision.py MODEL_DIR [--precisions f32,auto,int8] [--rounds 3]
     [--binary .build/release/clip-server]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# (label, key, higher is better)
FIGURES = [
    ("precision that ran", "precision", None),
    ("resident MB after load", "resident_mb", False),
    ("images/s, batch 32", "image_batch32_images_per_s", True),
    ("images/s, batch 1", "image_batch1_images_per_s", True),
    ("short query p50 ms (7 tokens)", "text_p50_ms_short_query_unpadded", False),
    ("77-token text p50 ms", "text_p50_ms_77_tokens", False),
    ("texts/s, batch 32", "text_batch32_texts_per_s", True),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--precisions", default="f32,auto,int8")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--binary", default=os.path.join(HERE, "..", ".build", "release", "clip-server"))
    args = parser.parse_args()
    precisions = args.precisions.split(",")
    results = {p: [] for p in precisions}
    for round_index in range(args.rounds):
        print(f"engine_precision: round {round_index + 1} of {args.rounds}", file=sys.stderr, flush=True)
        for p in precisions:
            out = subprocess.run([args.binary, "bench", "--model", args.model, "--precision", p, "--runs",
                                  str(args.runs)], check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 text=True).stdout
            results[p].append(json.loads(out.strip().splitlines()[-1]))
    print("| | " + " | ".join(f"--precision {p}" for p in precisions) + " |")
    print("| --- |" + " --- |" * len(precisions))
    for label, key, higher in FIGURES:
        cells = []
        base = None
        for p in precisions:
            values = [r[key] for r in results[p]]
            if higher is None:
                cells.append(", ".join(sorted(set(values))))
                continue
            median = statistics.median(values)
            base = median if base is None else base
            ratio = f" ({median / base:.2f}x)" if p != precisions[0] else ""
            cells.append(f"{', '.join(f'{v:.1f}' for v in values)} (median {median:.1f}{ratio})")
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
