#!/usr/bin/env python3
"""Peer timings for DESIGN.md section 4: PyTorch (transformers CLIPModel, and open_clip) and ONNX Runtime
on a full-size ViT-B/32 with seeded random weights (tools/clipfixture.py), same thread count for all.

Set up once:  python3 -m venv .venv && .venv/bin/pip install torch transformers open_clip_torch ftfy pillow onnx onnxruntime onnxscript
Run:          .venv/bin/python bench/peers.py MODEL_DIR [--threads 2] [--skip-onnx] [--skip-open-clip]
MODEL_DIR receives the model folder (config.json, model.safetensors F32, vocab.json, merges.txt, ...) unless
it already holds one built by tools/clipfixture.py with the same seed; `clip-server bench --model MODEL_DIR`
loads the same folder. ONNX files go to MODEL_DIR/onnx/. Prints one JSON object on stdout; progress on stderr.

Measures: image encoding images/s at batch 32 and 1 (224x224; warm-up, then the median of several runs),
text latency p50 for one short query ("a photo of a dog", 7 tokens, and padded to 77 as open_clip does),
texts/s at batch 32 (padded to 77).
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import clipfixture  # noqa: E402

QUERY = "a photo of a dog"
QUERIES = [
    "a photo of a dog", "a cat sleeping on a sofa", "red sports car parked on a street at night",
    "mountains covered in snow under a blue sky", "a bowl of ramen with an egg", "two people hiking in a forest",
    "a lighthouse on a rocky coast", "a child playing with a kite on the beach",
]
# 32 distinct texts, as clip-server bench's (BenchTokens.batch32): the eight, and each after "the", "two", "red".
BATCH_TEXTS = [f"{word}{query}" for word in ["", "the ", "two ", "red "] for query in QUERIES]


def log(message: str) -> None:
    print(f"peers: {message}", file=sys.stderr, flush=True)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def median_seconds(fn, runs: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def tokenize(texts, pad_to=None):
    """OpenAI's tokenizer (open_clip's copy of simple_tokenizer.py): [49406] + BPE + [49407], optionally zero-padded."""
    import open_clip

    tokenizer = open_clip.get_tokenizer("ViT-B-32")
    rows = [[int(t) for t in row if t != 0] for row in tokenizer(texts)]
    if pad_to is None:
        width = max(len(r) for r in rows)
        assert all(len(r) == width for r in rows), "unpadded batches must have equal lengths"
    else:
        width = pad_to
    return torch.tensor([r + [0] * (width - len(r)) for r in rows], dtype=torch.long)


def image_batch(n: int) -> torch.Tensor:
    return torch.randn(n, 3, 224, 224, generator=torch.Generator().manual_seed(n))  # normalized-pixel scale


def measure(encode_image, encode_text, runs: dict, unpadded_text: bool = True) -> dict:
    """The same figures for any backend: encode_image(float tensor) and encode_text(long tensor)."""
    short = tokenize([QUERY])
    padded = tokenize([QUERY], pad_to=77)
    batch_padded = tokenize(BATCH_TEXTS, pad_to=77)
    out = {}
    log("  image batch 32")
    out["image_batch32_images_per_s"] = 32 / median_seconds(lambda: encode_image(image_batch(32)), runs["b32"])
    log("  image batch 1")
    out["image_batch1_images_per_s"] = 1 / median_seconds(lambda: encode_image(image_batch(1)), runs["b1"])
    log("  text latency")
    if unpadded_text:
        out["text_p50_ms_short_query_unpadded"] = 1000 * median_seconds(lambda: encode_text(short), runs["text"])
    else:
        out["text_p50_ms_short_query_unpadded"] = None  # the backend only takes 77 positions
    out["text_p50_ms_short_query_padded_77"] = 1000 * median_seconds(lambda: encode_text(padded), runs["text"])
    log("  text batch 32")
    out["text_batch32_padded_77_texts_per_s"] = 32 / median_seconds(lambda: encode_text(batch_padded), runs["b32"])
    out["short_query_tokens"] = int(short.shape[1])
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


# MARK: - Backends

def bench_transformers(model, runs):
    @torch.inference_mode()
    def encode_image(x):
        return torch.nn.functional.normalize(clipfixture.image_features(model, x), dim=-1)

    @torch.inference_mode()
    def encode_text(ids):
        return torch.nn.functional.normalize(clipfixture.text_features(model, ids), dim=-1)

    return measure(encode_image, encode_text, runs)


class VisionTower(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        return clipfixture.image_features(self.model, pixel_values)


class TextTower(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return clipfixture.text_features(self.model, input_ids)


def export_onnx(model, folder: str) -> tuple:
    os.makedirs(folder, exist_ok=True)
    vision_path, text_path = os.path.join(folder, "vision.onnx"), os.path.join(folder, "text.onnx")
    if not os.path.exists(vision_path):
        log("exporting vision tower to ONNX")
        torch.onnx.export(VisionTower(model), (image_batch(2),), vision_path, input_names=["pixel_values"],
                          output_names=["image_embeds"], dynamic_axes={"pixel_values": {0: "batch"}},
                          opset_version=17, dynamo=False)
    if not os.path.exists(text_path):
        log("exporting text tower to ONNX")
        torch.onnx.export(TextTower(model), (tokenize(BATCH_TEXTS[:2], pad_to=77),), text_path,
                          input_names=["input_ids"], output_names=["text_embeds"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}}, opset_version=17, dynamo=False)
    return vision_path, text_path


def bench_onnxruntime(model, folder, threads, runs):
    import onnxruntime as ort

    vision_path, text_path = export_onnx(model, folder)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    vision = ort.InferenceSession(vision_path, options, providers=["CPUExecutionProvider"])
    text = ort.InferenceSession(text_path, options, providers=["CPUExecutionProvider"])

    # Same numbers as PyTorch, checked once so a broken export cannot post a fast time.
    with torch.inference_mode():
        reference = clipfixture.image_features(model, image_batch(1)).numpy()
    got = vision.run(None, {"pixel_values": image_batch(1).numpy()})[0]
    assert np.allclose(got, reference, atol=1e-3, rtol=1e-3), "ONNX vision output differs from PyTorch"

    def encode_image(x):
        return vision.run(None, {"pixel_values": x.numpy()})[0]

    def encode_text(ids):
        return text.run(None, {"input_ids": ids.numpy()})[0]

    figures = measure(encode_image, encode_text, runs)
    figures["version"] = ort.__version__
    return figures


def bench_open_clip(runs, seed):
    import open_clip

    torch.manual_seed(seed)
    # quickgelu = OpenAI's activation; random weights of its own (same architecture, same FLOPs).
    model = open_clip.create_model("ViT-B-32-quickgelu", pretrained=None).eval()

    @torch.inference_mode()
    def encode_image(x):
        return model.encode_image(x, normalize=True)

    @torch.inference_mode()
    def encode_text(ids):
        return model.encode_text(ids, normalize=True)

    # open_clip adds all 77 position embeddings, so it cannot run the unpadded query.
    figures = measure(encode_image, encode_text, runs, unpadded_text=False)
    figures["version"] = open_clip.__version__
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=5, help="timed runs at batch 32 (batch 1 and text: x4)")
    parser.add_argument("--skip-onnx", action="store_true")
    parser.add_argument("--skip-open-clip", action="store_true")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    runs = {"b32": args.runs, "b1": 4 * args.runs, "text": 4 * args.runs}

    log(f"model folder {args.model_dir}")
    model = clipfixture.load_or_build(args.model_dir, args.seed)
    result = {
        "model": os.path.abspath(args.model_dir), "seed": args.seed, "threads": args.threads,
        "cpu": cpu_model(), "cores": os.cpu_count(),
        "note": "median of timed runs after warm-up; other processes on the machine add noise",
    }
    log("PyTorch (transformers CLIPModel)")
    result["pytorch_transformers"] = bench_transformers(model, runs)
    result["pytorch_transformers"]["version"] = torch.__version__
    if not args.skip_onnx:
        log("ONNX Runtime")
        result["onnxruntime"] = bench_onnxruntime(model, os.path.join(args.model_dir, "onnx"), args.threads, runs)
    if not args.skip_open_clip:
        log("PyTorch (open_clip)")
        result["pytorch_open_clip"] = bench_open_clip(runs, args.seed)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
