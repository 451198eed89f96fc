#!/usr/bin/env python3
"""Parity fixtures for the Swift CLIP engine: two tiny CLIP models with seeded random weights, saved
as the engine reads them, and the embeddings transformers computes for fixed inputs.

Re-run (from the repository root; no network, no model hub):
    python3 -m venv .venv && .venv/bin/pip install torch transformers open_clip_torch ftfy pillow numpy safetensors
    .venv/bin/python tools/make_model_fixture.py [--images DIR]
--images DIR: use the image files in DIR (sorted; e.g. Tests/CLIPTests/Fixtures/images), preprocessed by
CLIPImageProcessor(use_fast=False), instead of two synthetic images.

Writes Tests/CLIPTests/Fixtures/model/:
  inputs/pixels-N.f16     (3, 224, 224) pixel_values, float16 little-endian, channel-major
  inputs/texts.json       [{"text", "ids"}]: OpenAI tokenizer ids, <|startoftext|> ... first <|endoftext|>
  tiny-hf-f16/            model A: Hugging Face names (save_pretrained), float16, quick_gelu
  tiny-openclip-f32/      model B: OpenAI/open_clip names, float32, gelu, with an HF config.json
  */expected.json         {"image_embeddings", "text_embeddings", "logit_scale_exp"}: normalized
                          get_image_features / get_text_features of transformers' CLIPModel in float32

Why two models and not three copies of one: the 49408-row token embedding dominates the size
(49408 x width x bytes). To keep the committed fixtures near 6 MB, model A (text width 16) is stored
in float16 (1.6 MB of token embedding) and model B (text width 16, vision width 32) in float32 (3.2 MB). Between them
they cover both dtypes, both key namings, both activations and both head layouts (A: 2 heads per
tower, B: 1); dtype conversion and key naming are independent code paths. A's expected outputs are
those of the model the float16 file describes: its weights rounded to float16, computed in float32.
The pixel inputs are likewise stored in float16 and the expected outputs computed from those values.

Attention sharpness: the q and k projection weights are scaled by 2.5 each, so attention scores have a
standard deviation of about 6 and softmax is far from uniform (errors in masking or head slicing show).
"""
import argparse
import gzip
import json
import pathlib

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/CLIPTests/Fixtures/model"
VOCAB = ROOT / "Models/bpe_simple_vocab_16e6.txt.gz"

TEXTS = [
    "",
    "a",
    "a photo of a cat",
    "a photo of a dog",
    "A Photo Of A Cat!",
    "two dogs playing in the snow",
    "a red car parked next to a blue truck",
    "sunset over the ocean, 4k",
    "an astronaut riding a horse on the moon",
    "the quick brown fox jumps over the lazy dog",
    "diagram of a neural network",
    "café crème brûlée",
    "東京の夜景",
    "emoji 🐱🐶",
    "it's a dog's life, isn't it?",
    "#hashtag @mention http://example.com/x?y=1",
    "numbers 1234567890 and 3.14159",
    "a  lot   of    spaces",
    "&amp; html &lt;entities&gt;",
    "don't we'll they're I'd you've",
    "a painting in the style of van gogh",
    "close-up of a hummingbird feeding on a flower",
    " ".join(["a very long caption that keeps going"] * 12),
]


# MARK: - Tokenizer (OpenAI simple_tokenizer as shipped by open_clip, on the committed vocab file)

def tokenize(texts):
    from open_clip.tokenizer import SimpleTokenizer
    tokenizer = SimpleTokenizer(bpe_path=str(VOCAB))
    rows = tokenizer(texts, context_length=77)  # (n, 77), padded with 0, truncated ending in EOT
    ids = []
    for row in rows.tolist():
        end = row.index(49407)
        ids.append(row[: end + 1])
    return ids


# MARK: - Models

def tiny_config(vision_width, vision_heads, text_width, text_heads, act):
    return CLIPConfig(
        text_config=dict(hidden_size=text_width, intermediate_size=4 * text_width, num_attention_heads=text_heads,
                         num_hidden_layers=2, max_position_embeddings=77, vocab_size=49408, hidden_act=act,
                         layer_norm_eps=1e-5, eos_token_id=49407, bos_token_id=49406, pad_token_id=1),
        vision_config=dict(hidden_size=vision_width, intermediate_size=4 * vision_width,
                           num_attention_heads=vision_heads, num_hidden_layers=2, image_size=224, patch_size=32,
                           num_channels=3, hidden_act=act, layer_norm_eps=1e-5),
        projection_dim=32,
        logit_scale_init_value=2.6592,
    )


@torch.no_grad()
def randomize(model, seed):
    """Seeded weights of realistic scale: unit-ish activations, non-trivial LayerNorm affine terms."""
    gen = torch.Generator().manual_seed(seed)

    def randn(shape):
        return torch.randn(shape, generator=gen)

    for name, p in model.named_parameters():
        if name == "logit_scale":
            p.fill_(2.6592)
        elif "norm" in name or "layrnorm" in name:
            p.copy_(1 + 0.2 * randn(p.shape) if name.endswith("weight") else 0.1 * randn(p.shape))
        elif name.endswith("bias"):
            p.copy_(0.1 * randn(p.shape))
        elif "patch_embedding" in name:
            p.copy_(randn(p.shape) / np.sqrt(p[0].numel()))
        elif "embedding" in name:  # class, position, token
            p.copy_(0.5 * randn(p.shape))
        else:  # linear (out, in)
            p.copy_(randn(p.shape) / np.sqrt(p.shape[1]))
            if "q_proj" in name or "k_proj" in name:
                p.mul_(2.5)
    model.eval()
    return model


def openclip_state_dict(model):
    """transformers CLIPModel → OpenAI/open_clip key names (clip/model.py): q,k,v stacked as in_proj,
    projections stored (in, out)."""
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    out = {}

    def tower(hf, oc, layers):
        for n in range(layers):
            h, o = f"{hf}.encoder.layers.{n}", f"{oc}transformer.resblocks.{n}"
            out[f"{o}.ln_1.weight"] = sd[f"{h}.layer_norm1.weight"]
            out[f"{o}.ln_1.bias"] = sd[f"{h}.layer_norm1.bias"]
            out[f"{o}.attn.in_proj_weight"] = torch.cat([sd[f"{h}.self_attn.{x}_proj.weight"] for x in "qkv"], 0)
            out[f"{o}.attn.in_proj_bias"] = torch.cat([sd[f"{h}.self_attn.{x}_proj.bias"] for x in "qkv"], 0)
            out[f"{o}.attn.out_proj.weight"] = sd[f"{h}.self_attn.out_proj.weight"]
            out[f"{o}.attn.out_proj.bias"] = sd[f"{h}.self_attn.out_proj.bias"]
            out[f"{o}.ln_2.weight"] = sd[f"{h}.layer_norm2.weight"]
            out[f"{o}.ln_2.bias"] = sd[f"{h}.layer_norm2.bias"]
            out[f"{o}.mlp.c_fc.weight"] = sd[f"{h}.mlp.fc1.weight"]
            out[f"{o}.mlp.c_fc.bias"] = sd[f"{h}.mlp.fc1.bias"]
            out[f"{o}.mlp.c_proj.weight"] = sd[f"{h}.mlp.fc2.weight"]
            out[f"{o}.mlp.c_proj.bias"] = sd[f"{h}.mlp.fc2.bias"]

    cfg = model.config
    out["visual.conv1.weight"] = sd["vision_model.embeddings.patch_embedding.weight"]
    out["visual.class_embedding"] = sd["vision_model.embeddings.class_embedding"]
    out["visual.positional_embedding"] = sd["vision_model.embeddings.position_embedding.weight"]
    out["visual.ln_pre.weight"] = sd["vision_model.pre_layrnorm.weight"]
    out["visual.ln_pre.bias"] = sd["vision_model.pre_layrnorm.bias"]
    tower("vision_model", "visual.", cfg.vision_config.num_hidden_layers)
    out["visual.ln_post.weight"] = sd["vision_model.post_layernorm.weight"]
    out["visual.ln_post.bias"] = sd["vision_model.post_layernorm.bias"]
    out["visual.proj"] = sd["visual_projection.weight"].t().contiguous()
    out["token_embedding.weight"] = sd["text_model.embeddings.token_embedding.weight"]
    out["positional_embedding"] = sd["text_model.embeddings.position_embedding.weight"]
    tower("text_model", "", cfg.text_config.num_hidden_layers)
    out["ln_final.weight"] = sd["text_model.final_layer_norm.weight"]
    out["ln_final.bias"] = sd["text_model.final_layer_norm.bias"]
    out["text_projection"] = sd["text_projection.weight"].t().contiguous()
    out["logit_scale"] = sd["logit_scale"]
    return out


# MARK: - Inputs

def synthetic_images():
    """Two seeded smooth-noise RGB images of different aspect ratios (resize and crop both matter)."""
    rng = np.random.default_rng(7)
    images = []
    for size in [(320, 240), (200, 300)]:
        low = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
        image = Image.fromarray(low).resize(size, Image.BICUBIC)
        noise = rng.normal(0, 12, size=(size[1], size[0], 3))
        pixels = np.clip(np.asarray(image, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
        images.append(Image.fromarray(pixels))
    return images


def pixel_values(image_dir):
    if image_dir:
        paths = sorted(p for p in pathlib.Path(image_dir).iterdir() if p.is_file() and not p.name.startswith("."))
        images = [Image.open(p).convert("RGB") for p in paths]
    else:
        images = synthetic_images()
    processor = CLIPImageProcessor(use_fast=False)
    pixels = processor(images=images, return_tensors="pt")["pixel_values"]  # (n, 3, 224, 224)
    return pixels.half().float()  # the values the float16 files hold


# MARK: - Expected outputs

@torch.no_grad()
def expected(model, pixels, ids):
    image = model.get_image_features(pixel_values=pixels).pooler_output
    texts = [model.get_text_features(input_ids=torch.tensor([row])).pooler_output[0] for row in ids]
    normalize = lambda t: torch.nn.functional.normalize(t, dim=-1)
    return {
        "image_embeddings": normalize(image).tolist(),
        "text_embeddings": [normalize(t).tolist() for t in texts],
        "logit_scale_exp": float(model.logit_scale.exp()),
    }


def write_json(path, value):
    path.write_text(json.dumps(value) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", help="folder of images to preprocess instead of the synthetic ones")
    args = parser.parse_args()
    torch.manual_seed(0)

    inputs = OUT / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    for old in inputs.glob("pixels-*.f16"):
        old.unlink()
    pixels = pixel_values(args.images)
    for n, image in enumerate(pixels):
        (inputs / f"pixels-{n}.f16").write_bytes(image.half().numpy().astype("<f2").tobytes())
    ids = tokenize(TEXTS)
    assert len(ids[-1]) == 77 and ids[0] == [49406, 49407]
    write_json(inputs / "texts.json", [{"text": t, "ids": i} for t, i in zip(TEXTS, ids)])

    # Model A: Hugging Face names, float16. Expected outputs from the float16-rounded weights.
    model_a = randomize(CLIPModel(tiny_config(64, 2, 16, 2, "quick_gelu")), seed=1)
    model_a = model_a.half().float()
    dir_a = OUT / "tiny-hf-f16"
    model_a.half().save_pretrained(dir_a)
    model_a.float()
    write_json(dir_a / "expected.json", expected(model_a, pixels, ids))

    # Model B: OpenAI/open_clip names, float32, exact GELU, config.json alongside.
    model_b = randomize(CLIPModel(tiny_config(32, 1, 16, 1, "gelu")), seed=2)
    dir_b = OUT / "tiny-openclip-f32"
    dir_b.mkdir(parents=True, exist_ok=True)
    model_b.config.save_pretrained(dir_b)
    save_file(openclip_state_dict(model_b), str(dir_b / "model.safetensors"), metadata={"format": "pt"})
    write_json(dir_b / "expected.json", expected(model_b, pixels, ids))

    for path in sorted(OUT.rglob("*")):
        if path.is_file():
            print(f"{path.stat().st_size:>10}  {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
