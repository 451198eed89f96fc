"""A full-size, seeded, random-weight CLIP ViT-B/32 in the Hugging Face layout, shared by
bench/peers.py (speed) and tools/parity-vitb32 (numerics). No hub access: the weights are random,
the vocabulary comes from OpenAI's bpe_simple_vocab_16e6.txt.gz.

Set up once:  python3 -m venv .venv && .venv/bin/pip install torch transformers open_clip_torch ftfy pillow
Run:          .venv/bin/python tools/clipfixture.py OUT_DIR [--seed 0]
              (writes the model folder, unless OUT_DIR already holds the one for this seed)
"""
import argparse
import gzip
import json
import os
import re
import sys

import torch
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer

QK_SCALE = 6.0  # sharpens attention: with init-scale q/k, softmax is nearly uniform and hides mask/order bugs
LOGIT_SCALE = 100.0  # exp(logit_scale) of the released model
HERE = os.path.dirname(os.path.abspath(__file__))


def bpe_vocabulary_path() -> str:
    """OpenAI's BPE file: the repo's Models/ copy (make setup fetches it), else open_clip's packaged one."""
    local = os.path.join(HERE, "..", "Models", "bpe_simple_vocab_16e6.txt.gz")
    if os.path.exists(local):
        return os.path.normpath(local)
    import open_clip

    return os.path.join(os.path.dirname(open_clip.__file__), "bpe_simple_vocab_16e6.txt.gz")


def vitb32_config() -> CLIPConfig:
    """transformers' CLIPConfig() defaults are ViT-B/32 (vision 768x12, 12 heads, patch 32, 224;
    text 512x12, 8 heads, 77 positions, 49408 tokens; projection 512; quick_gelu); asserted here."""
    config = CLIPConfig()
    v, t = config.vision_config, config.text_config
    assert (v.hidden_size, v.intermediate_size, v.num_hidden_layers, v.num_attention_heads) == (768, 3072, 12, 12)
    assert (v.image_size, v.patch_size, v.hidden_act) == (224, 32, "quick_gelu")
    assert (t.hidden_size, t.intermediate_size, t.num_hidden_layers, t.num_attention_heads) == (512, 2048, 12, 8)
    assert (t.max_position_embeddings, t.vocab_size, t.hidden_act) == (77, 49408, "quick_gelu")
    assert (t.bos_token_id, t.eos_token_id, config.projection_dim) == (49406, 49407, 512)
    return config


def build_vitb32(seed: int = 0) -> CLIPModel:
    """ViT-B/32 with transformers' own random init (seeded), then: q/k projections x6, LayerNorm
    weights and all biases perturbed away from 1/0 (so a loader that drops one is caught), logit
    scale ln(100). Float32, eval mode."""
    torch.manual_seed(seed)
    model = CLIPModel(vitb32_config()).eval().float()
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if re.search(r"\.(q_proj|k_proj)\.weight$", name):
                p.mul_(QK_SCALE)
            elif re.search(r"(layer_norm\d?|layrnorm|layernorm)\.weight$", name):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=generator))
            elif name.endswith(".bias"):
                p.copy_(0.02 * torch.randn(p.shape, generator=generator))
        model.logit_scale.fill_(float(torch.log(torch.tensor(LOGIT_SCALE))))
    return model


def _projected(output) -> torch.Tensor:
    """transformers 5 returns a BaseModelOutputWithPooling whose pooler_output is the projected
    embedding; 4.x returned the tensor itself."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


def image_features(model: CLIPModel, pixel_values: torch.Tensor) -> torch.Tensor:
    """(batch, 3, 224, 224) normalized pixels -> (batch, 512) projected, not yet L2-normalized."""
    return _projected(model.get_image_features(pixel_values=pixel_values))


def text_features(model: CLIPModel, input_ids: torch.Tensor) -> torch.Tensor:
    """(batch, tokens) ids with [49406] ... [49407] -> (batch, 512) from the first 49407 row, projected."""
    return _projected(model.get_text_features(input_ids=input_ids))


def write_tokenizer_files(out_dir: str) -> None:
    """vocab.json + merges.txt derived from OpenAI's BPE file the way OpenAI's simple_tokenizer.py
    builds its vocabulary (byte symbols, byte symbols + </w>, one token per merge, then the two
    specials), which is what the hub's openai/clip-vit-base-patch32 files hold."""
    with gzip.open(bpe_vocabulary_path(), "rt", encoding="utf-8") as f:
        merges = f.read().split("\n")[1:49152 - 256 - 2 + 1]
    symbols = bytes_to_unicode_symbols()
    tokens = symbols + [s + "</w>" for s in symbols] + ["".join(m.split()) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    assert len(tokens) == 49408
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({t: i for i, t in enumerate(tokens)}, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")


def bytes_to_unicode_symbols() -> list:
    """The 256 printable stand-ins for bytes, in OpenAI's order (simple_tokenizer.bytes_to_unicode)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def write_model_folder(out_dir: str, seed: int = 0) -> CLIPModel:
    """config.json + model.safetensors (F32) + vocab.json + merges.txt + tokenizer and preprocessor
    json: the same files fetch-model brings from the hub."""
    os.makedirs(out_dir, exist_ok=True)
    stale_onnx = os.path.join(out_dir, "onnx")  # bench/peers.py's exports of an earlier model
    if os.path.isdir(stale_onnx):
        import shutil

        shutil.rmtree(stale_onnx)
    model = build_vitb32(seed)
    model.save_pretrained(out_dir, safe_serialization=True)
    write_tokenizer_files(out_dir)
    tokenizer = CLIPTokenizer(os.path.join(out_dir, "vocab.json"), os.path.join(out_dir, "merges.txt"))
    tokenizer.save_pretrained(out_dir)
    CLIPImageProcessor().save_pretrained(out_dir)
    with open(os.path.join(out_dir, "fixture.json"), "w") as f:
        json.dump({"builder": "tools/clipfixture.py", "seed": seed, "qk_scale": QK_SCALE,
                   "torch": torch.__version__}, f)
    return model


def load_or_build(out_dir: str, seed: int = 0) -> CLIPModel:
    """The folder's model when it was written by this builder with this seed; else builds and writes it."""
    marker = os.path.join(out_dir, "fixture.json")
    if os.path.exists(marker) and os.path.exists(os.path.join(out_dir, "model.safetensors")):
        with open(marker) as f:
            if json.load(f).get("seed") == seed:
                return CLIPModel.from_pretrained(out_dir, torch_dtype=torch.float32).eval()
    return write_model_folder(out_dir, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    load_or_build(args.out_dir, args.seed)
    print(json.dumps({"model": os.path.abspath(args.out_dir), "seed": args.seed}))


if __name__ == "__main__":
    sys.exit(main())
