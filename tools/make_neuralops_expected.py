#!/usr/bin/env python3
"""Expected outputs for Tests/NeuralOpsTests, computed with PyTorch (the reference the engine follows).

Re-run (from the repository root):
    python3 -m venv .venv && .venv/bin/pip install torch numpy
    .venv/bin/python tools/make_neuralops_expected.py
Writes Tests/NeuralOpsTests/Fixtures/ops.json: seeded float32 inputs and torch's float32 outputs.
"""
import json
import pathlib

import torch
import torch.nn.functional as F

torch.manual_seed(1234)
out = {}


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


# linear: x (3, 21) (few rows: NeuralOps' own kernel) · Wᵀ (21, 5) + b, PyTorch (out, in) weight layout
x = torch.randn(3, 21)
w = torch.randn(130, 21)  # 130 outputs: split over two workers, unevenly
b = torch.randn(130)
out["linear"] = {"x": flat(x), "w": flat(w), "b": flat(b), "rows": 3, "in": 21, "out": 130,
                 "y": flat(F.linear(x, w, b))}

# above NeuralOps' small-rows threshold (8), and 2M multiply-adds per worker for two, so linear splits the
# output columns over workers, one sgemm each: x (64, 512), W (130, 512). To keep the JSON small the
# inputs are given by formulas the test repeats (exact in float32); only torch's output is stored:
#   x[r, i] = ((5r + 3i) mod 17 - 8) / 4,   W[o, i] = ((7o + 11i + o·i) mod 5 - 2) / 8
r_, i_ = torch.meshgrid(torch.arange(64), torch.arange(512), indexing="ij")
x = ((5 * r_ + 3 * i_) % 17 - 8).float() / 4
o_, i_ = torch.meshgrid(torch.arange(130), torch.arange(512), indexing="ij")
w2 = ((7 * o_ + 11 * i_ + o_ * i_) % 5 - 2).float() / 8
out["linear_many_rows"] = {"b": flat(b), "rows": 64, "in": 512, "out": 130, "y": flat(F.linear(x, w2, b))}

# layer norm over a width that is not a multiple of 16 (vector body + scalar tail), offset and scaled rows
x = torch.randn(4, 37) * 3 + 5
g = torch.randn(37)
be = torch.randn(37)
out["layerNorm"] = {"x": flat(x), "gamma": flat(g), "beta": flat(be), "rows": 4, "width": 37, "eps": 1e-5,
                    "y": flat(F.layer_norm(x, (37,), g, be, 1e-5))}

# activations over [-12, 12], 53 values (vector body + tail)
x = torch.linspace(-12, 12, 53)
out["activations"] = {"x": flat(x),
                      "quick_gelu": flat(x * torch.sigmoid(1.702 * x)),
                      "gelu": flat(F.gelu(x))}

# softmax rows, including large logits (stability) and a 19-wide row
x = torch.randn(3, 19) * 4
x[1] += 1000.0
out["softmax"] = {"x": flat(x), "rows": 3, "cols": 19, "y": flat(torch.softmax(x, dim=-1))}

# multi-head attention from a fused QKV matrix: batch 2, seq 5, 2 heads of dim 3
batch, seq, heads, hd = 2, 5, 2, 3
width = heads * hd
qkv = torch.randn(batch, seq, 3 * width)
q, k, v = qkv.split(width, dim=-1)


def heads_first(t):
    return t.reshape(batch, seq, heads, hd).transpose(1, 2)


for causal in (False, True):
    o = F.scaled_dot_product_attention(heads_first(q), heads_first(k), heads_first(v), is_causal=causal)
    o = o.transpose(1, 2).reshape(batch, seq, width)
    out["attention_causal" if causal else "attention"] = {
        "qkv": flat(qkv), "batch": batch, "seq": seq, "heads": heads, "headDim": hd, "y": flat(o)}

path = pathlib.Path(__file__).resolve().parent.parent / "Tests/NeuralOpsTests/Fixtures/ops.json"
path.write_text(json.dumps(out) + "\n")
print("wrote", path)
