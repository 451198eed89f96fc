#!/usr/bin/env python3
"""A random-weight CLIP ViT-B/32 (openai/clip-vit-base-patch32's shapes, F16) for timing only,
when the real weights are not on the machine. Its embeddings mean nothing; its costs are the real
model's (same shapes, 512-dim embeddings).

Re-run: python3 -m venv .venv && .venv/bin/pip install torch transformers safetensors;
        .venv/bin/python bench/make-random-vitb32.py /tmp/bench-model/clip-vit-b32-random
then:   python3 bench/search-http.py --model /tmp/bench-model/clip-vit-b32-random
"""
import sys

import torch
from transformers import CLIPConfig, CLIPModel

dest = sys.argv[1] if len(sys.argv) > 1 else "/tmp/bench-model/clip-vit-b32-random"
config = CLIPConfig(
    text_config=dict(hidden_size=512, intermediate_size=2048, num_attention_heads=8, num_hidden_layers=12,
                     max_position_embeddings=77, vocab_size=49408, hidden_act="quick_gelu"),
    vision_config=dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12,
                       image_size=224, patch_size=32, hidden_act="quick_gelu"),
    projection_dim=512)
torch.manual_seed(0)
CLIPModel(config).half().save_pretrained(dest, safe_serialization=True)
print(dest)
