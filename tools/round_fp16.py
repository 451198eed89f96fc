"""Copies a model folder with every F32 tensor of model.safetensors rounded to the nearest fp16
value and stored as F32 again: the shape of OpenAI's released ViT-B/32 weights (fp16 values in F32),
so `--precision auto` runs it in f16. Used by bench/engine.sh on tools/clipfixture.py's random model.

Run: .venv/bin/python tools/round_fp16.py SOURCE_DIR OUT_DIR   (needs numpy and safetensors)
"""
import os
import shutil
import sys

import numpy as np
from safetensors.numpy import load_file, save_file


def main() -> None:
    source, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(source):
        path = os.path.join(source, name)
        if name != "model.safetensors" and os.path.isfile(path):
            shutil.copy(path, os.path.join(out, name))
    tensors = load_file(os.path.join(source, "model.safetensors"))
    rounded = {k: (v.astype(np.float16).astype(np.float32) if v.dtype == np.float32 else v) for k, v in tensors.items()}
    save_file(rounded, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    print(f"{out}: {len(rounded)} tensors rounded to fp16 values")


if __name__ == "__main__":
    main()
