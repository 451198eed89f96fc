#!/usr/bin/env python3
"""int8 against ONNX Runtime int8 (and each against its own fp32), image tower at batch 32, in one
run: alternates `clip-server bench --precision int8|f32` with ONNX Runtime fp32 and
`quantize_dynamic(per_channel=True)` int8 on the same model folder and thread count, ROUNDS times;
prints each figure's runs and medians as a table, and ONNX Runtime int8's cosine to its fp32 on the
benchmark's random pixels (clip-server's own: `clip-server precision-check`).

Run:    .venv/bin/python bench/engine_int8.py MODEL_DIR [--rounds 3] [--binary .build/release/clip-server]
Set up: torch, transformers, onnx, onnxruntime (MODEL_DIR from tools/clipfixture.py, optionally
        rounded by tools/round_fp16.py). ONNX files go to MODEL_DIR/onnx/.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))


def log(message):
    print(f"engine_int8: {message}", file=sys.stderr, flush=True)


def onnx_sessions(model_dir, threads):
    """fp32 and dynamic int8 (per channel, QInt8 weights) sessions of the vision tower."""
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    import clipfixture

    folder = os.path.join(model_dir, "onnx")
    os.makedirs(folder, exist_ok=True)
    fp32_path, int8_path = os.path.join(folder, "vision.onnx"), os.path.join(folder, "vision-int8.onnx")
    if not os.path.exists(fp32_path):
        log("exporting the vision tower to ONNX")
        model = clipfixture.load_or_build(model_dir)

        class Vision(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, pixel_values):
                return clipfixture.image_features(self.model, pixel_values)

        torch.onnx.export(Vision(), (torch.randn(2, 3, 224, 224),), fp32_path, input_names=["pixel_values"],
                          output_names=["image_embeds"], dynamic_axes={"pixel_values": {0: "batch"}},
                          opset_version=17, dynamo=False)
    if not os.path.exists(int8_path):
        log("quantize_dynamic(per_channel=True)")
        quantize_dynamic(fp32_path, int8_path, per_channel=True, weight_type=QuantType.QInt8)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    make = lambda path: ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return make(fp32_path), make(int8_path), ort.__version__


def images_per_s(session, pixels, runs):
    session.run(None, {"pixel_values": pixels})
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, {"pixel_values": pixels})
        times.append(time.perf_counter() - start)
    return len(pixels) / statistics.median(times)


def unit(rows):
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--binary", default=os.path.join(HERE, "..", ".build", "release", "clip-server"))
    args = parser.parse_args()

    fp32, int8, version = onnx_sessions(args.model, args.threads)
    pixels = np.random.default_rng(32).standard_normal((32, 3, 224, 224), dtype=np.float32)
    a = unit(fp32.run(None, {"pixel_values": pixels})[0])
    b = unit(int8.run(None, {"pixel_values": pixels})[0])
    cosines = (a * b).sum(axis=1)
    rows = {"clip-server int8": [], "clip-server f32": [], f"ONNX Runtime {version} int8": [],
            f"ONNX Runtime {version} fp32": []}
    for round_index in range(args.rounds):
        log(f"round {round_index + 1} of {args.rounds}")
        for precision in ("int8", "f32"):
            out = subprocess.run([args.binary, "bench", "--model", args.model, "--precision", precision,
                                  "--runs", str(args.runs)], check=True, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True).stdout
            rows[f"clip-server {precision}"].append(json.loads(out.strip().splitlines()[-1])["image_batch32_images_per_s"])
        rows[f"ONNX Runtime {version} int8"].append(images_per_s(int8, pixels, args.runs))
        rows[f"ONNX Runtime {version} fp32"].append(images_per_s(fp32, pixels, args.runs))
    print("| images/s, batch 32 | runs | median |")
    print("| --- | --- | --- |")
    for label, values in rows.items():
        print(f"| {label} | {', '.join(f'{v:.1f}' for v in values)} | {statistics.median(values):.1f} |")
    ours, theirs = statistics.median(rows["clip-server int8"]), statistics.median(rows[f"ONNX Runtime {version} int8"])
    print(f"\nclip-server int8 / ONNX Runtime int8: {ours / theirs:.2f}")
    print(f"ONNX Runtime int8 cosine to its fp32 (32 random-pixel images): min {cosines.min():.5f}, "
          f"mean {cosines.mean():.5f}")


if __name__ == "__main__":
    main()
