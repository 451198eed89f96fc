#!/usr/bin/env python3
"""Trains the project's own small CLIP model, Models/demo/, so search works with no network.

Re-run (from the repository root; CPU only, no network, no model hub; 43 min on 2 cores, ~12 GB of RAM
for the pre-rendered scene pool):
    python3 -m venv .venv && .venv/bin/pip install torch transformers open_clip_torch ftfy pillow numpy safetensors
    make setup   # or tools/fetch-vocab.sh: Models/bpe_simple_vocab_16e6.txt.gz
    .venv/bin/python tools/train_demo_model.py              # full run: writes Models/demo/
    .venv/bin/python tools/train_demo_model.py --steps 60 --out /tmp/demo-pilot   # short pilot
    .venv/bin/python tools/train_demo_model.py --eval-only  # re-evaluate the shipped folder

What it does:
  * renders, on both cores before training, a pool of 28,000 groups (~72,000 captioned 224x224 scenes):
    one to three shapes (4 shapes x 5 named colours) with sizes and positions ("a small blue star at
    the top") or a relation between two shapes ("a green square above a yellow triangle"), on plain or
    textured backgrounds (textures are nuisance: never in captions). Most groups hold up to three near
    misses of their first scene (same colours and shapes, another position, size or order), drawn
    into the same batch as hard negatives. Every image goes through a JPEG encode/decode at the
    gallery's quality, so training sees the same kind of pixels the gallery files hold; captions are
    phrased afresh each time a scene is used;
  * trains a narrow transformers.CLIPModel (patch 32, image 224, OpenAI's tokenizer and its 49408-token
    vocabulary unchanged, 77 positions, quick_gelu) with CLIP's symmetric contrastive loss, seeded;
  * writes Models/demo/: config.json, model.safetensors (float16), vocab.json + merges.txt (made from
    OpenAI's bpe_simple_vocab_16e6.txt.gz), preprocessor_config.json, demo.json (what the server and
    tests read: name, description, gallery, PyTorch's recall, training figures) and gallery/: JPEGs
    drawn with a different seed from training, with gallery/captions.json [{"file", "caption"}].
    Each gallery caption states the whole scene (every shape in it), and no two gallery scenes share
    the attributes their captions state, so "each caption retrieves its own image" is a fair test;
  * evaluates the shipped float16 weights, reloaded, on the gallery FILES with the reference pipeline
    (Pillow decode, CLIPImageProcessorPil, get_image_features / get_text_features, L2-normalized):
    caption -> image recall@1 and recall@5, recorded in demo.json.
"""
import argparse
import io
import json
import math
import os
import pathlib
import shutil
import sys
import time

# Before torch loads OpenMP: with other jobs on the cores, spinning threads wait on each other and a
# training step runs several times slower than with threads that sleep.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from clipfixture import write_tokenizer_files  # noqa: E402  (vocab.json + merges.txt from OpenAI's BPE file)

SIZE = 224
JPEG_QUALITY = 85  # gallery files and every training image
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)  # CLIPImageProcessor's
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)

# MARK: - Scene grammar

# Kept small on purpose: a first run with 6 colours x 6 shapes (orange, hexagon, cross too) reached
# only 12% recall@1 in the time budget; circles and hexagons blur at 32-pixel patches.
COLORS = {
    "red": (215, 35, 35), "yellow": (240, 215, 30), "green": (35, 165, 60),
    "blue": (35, 75, 215), "purple": (140, 45, 180),
}
SHAPES = ["circle", "square", "triangle", "star"]
PLURAL = {s: (s + "es" if s.endswith("s") else s + "s") for s in SHAPES}
POSITIONS = {  # centre of a single shape, before jitter
    "left": (56, 112), "right": (168, 112), "top": (112, 56), "bottom": (112, 168), "center": (112, 112),
}
POSITION_WORDS = {
    "left": ["on the left", "at the left", "on the left side"],
    "right": ["on the right", "at the right", "on the right side"],
    "top": ["at the top", "on the top", "near the top"],
    "bottom": ["at the bottom", "on the bottom", "near the bottom"],
    "center": ["in the center", "in the middle", "at the center"],
}
SIZE_WORDS = {"small": ["small", "little", "tiny"], "large": ["large", "big"]}
PREFIXES = ["", "", "", "a photo of ", "a picture of ", "an image of "]
# Scene kinds and their share of training batches; the gallery uses the counts in GALLERY_MIX.
# Relations get the largest share: most of a 5000-step run's misses were relations read along the
# wrong axis or the wrong way round (with 0.35 of the batches: recall@1 0.85).
KINDS = {"single": 0.30, "pair": 0.15, "relation": 0.45, "triple": 0.10}
GALLERY_MIX = {"single": 100, "pair": 50, "relation": 135, "triple": 15}


def article(word):
    return "an" if word[0] in "aeiou" else "a"


def sample_scene(rng, kind):
    """A scene: its kind, the attributes a full caption states (`key`), and the shapes to draw
    (shape, colour, centre x, centre y, radius)."""
    color = lambda: list(COLORS)[rng.integers(len(COLORS))]  # noqa: E731
    shape = lambda: SHAPES[rng.integers(len(SHAPES))]  # noqa: E731
    jitter = lambda a: float(rng.uniform(-a, a))  # noqa: E731
    if kind == "single":
        c, s = color(), shape()
        size = ["small", "large"][rng.integers(2)]
        pos = list(POSITIONS)[rng.integers(len(POSITIONS))]
        x, y = POSITIONS[pos]
        r = rng.uniform(20, 26) if size == "small" else rng.uniform(44, 52)
        return dict(kind=kind, color=c, shape=s, size=size, pos=pos,
                    draw=[(s, c, x + jitter(10), y + jitter(10), r)])
    if kind == "pair":  # two shapes alike, side by side in one half
        c, s = color(), shape()
        pos = ["left", "right", "top", "bottom"][rng.integers(4)]
        x, y = POSITIONS[pos]
        r = rng.uniform(20, 25)
        spread = rng.uniform(40, 55)
        if pos in ("left", "right"):
            centres = [(x + jitter(8), y - spread + jitter(6)), (x + jitter(8), y + spread + jitter(6))]
        else:
            centres = [(x - spread + jitter(6), y + jitter(8)), (x + spread + jitter(6), y + jitter(8))]
        return dict(kind=kind, color=c, shape=s, pos=pos, draw=[(s, c, cx, cy, r) for cx, cy in centres])
    if kind == "triple":  # three shapes alike anywhere, not touching
        c, s = color(), shape()
        r = rng.uniform(20, 25)
        centres = []
        while len(centres) < 3:
            p = (rng.uniform(35, SIZE - 35), rng.uniform(35, SIZE - 35))
            if all(math.dist(p, q) > 2 * r + 12 for q in centres):
                centres.append(p)
        return dict(kind=kind, color=c, shape=s, draw=[(s, c, cx, cy, r) for cx, cy in centres])
    # relation: two different shapes, `first` above (axis "vertical") or left of ("horizontal") `second`
    while True:
        a, b = (color(), shape()), (color(), shape())
        if a != b:
            break
    axis = ["vertical", "horizontal"][rng.integers(2)]
    near, far = rng.uniform(45, 75), rng.uniform(150, 180)
    o1, o2 = 112 + jitter(25), 112 + jitter(25)
    p1, p2 = ((o1, near), (o2, far)) if axis == "vertical" else ((near, o1), (far, o2))
    r1, r2 = rng.uniform(26, 36), rng.uniform(26, 36)
    return dict(kind=kind, first=a, second=b, axis=axis,
                draw=[(a[1], a[0], *p1, r1), (b[1], b[0], *p2, r2)])


def scene_key(scene):
    """What a full caption of the scene states; two gallery scenes never share a key."""
    k = scene["kind"]
    if k == "single":
        return (k, scene["color"], scene["shape"], scene["size"], scene["pos"])
    if k == "pair":
        return (k, scene["color"], scene["shape"], scene["pos"])
    if k == "triple":
        return (k, scene["color"], scene["shape"])
    return (k, scene["first"], scene["second"], scene["axis"])


def caption(scene, rng, full):
    """A phrasing of the scene. `full` states every attribute (gallery); otherwise size and position
    are each left out now and then (training), as people leave them out of queries."""
    pick = lambda options: options[rng.integers(len(options))]  # noqa: E731
    keep = lambda: full or rng.random() > 0.15  # noqa: E731
    prefix = pick(PREFIXES)
    k = scene["kind"]
    if k == "single":
        words = ([pick(SIZE_WORDS[scene["size"]])] if keep() else []) + [scene["color"], scene["shape"]]
        phrase = f"{article(words[0])} {' '.join(words)}"
        if keep():
            phrase += " " + pick(POSITION_WORDS[scene["pos"]])
        return prefix + phrase
    if k in ("pair", "triple"):
        count = pick(["two", "a pair of"]) if k == "pair" else "three"
        phrase = f"{count} {scene['color']} {PLURAL[scene['shape']]}"
        if k == "pair" and keep():
            phrase += " " + pick(POSITION_WORDS[scene["pos"]])
        return prefix + phrase
    (c1, s1), (c2, s2) = scene["first"], scene["second"]
    np1, np2 = f"{article(c1)} {c1} {s1}", f"{article(c2)} {c2} {s2}"
    if scene["axis"] == "vertical":
        phrase = pick([f"{np1} above {np2}", f"{np2} below {np1}", f"{np1} over {np2}", f"{np2} under {np1}"])
    else:
        phrase = pick([f"{np1} to the left of {np2}", f"{np1} left of {np2}",
                       f"{np2} to the right of {np1}", f"{np2} right of {np1}"])
    return prefix + phrase


# MARK: - Drawing

def shape_polygon(shape, x, y, r, angle):
    def ring(n, radius, start):
        return [(x + radius * math.cos(start + 2 * math.pi * i / n), y + radius * math.sin(start + 2 * math.pi * i / n))
                for i in range(n)]
    if shape == "square":
        return ring(4, r * 1.25, math.pi / 4 + angle)
    if shape == "triangle":
        return ring(3, r * 1.2, -math.pi / 2 + angle)
    if shape == "hexagon":
        return ring(6, r * 1.1, angle)
    if shape == "star":
        outer, inner = ring(5, r * 1.25, -math.pi / 2 + angle), ring(5, r * 0.5, -math.pi / 2 + math.pi / 5 + angle)
        return [p for pair in zip(outer, inner) for p in pair]
    if shape == "cross":
        a, b = r * 1.05, r * 0.36
        pts = [(-b, -a), (b, -a), (b, -b), (a, -b), (a, b), (b, b), (b, a), (-b, a), (-b, b), (-a, b), (-a, -b), (-b, -b)]
        ca, sa = math.cos(angle), math.sin(angle)
        return [(x + px * ca - py * sa, y + px * sa + py * ca) for px, py in pts]
    raise ValueError(shape)


def background(rng):
    """Low-saturation backgrounds, plain or with a texture; never mentioned in captions."""
    base = rng.uniform(70, 190) + rng.uniform(-15, 15, size=3)
    kind = rng.integers(5)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    if kind == 0:
        tex = np.zeros((SIZE, SIZE), np.float32)
    elif kind == 1:  # stripes
        theta, period = rng.uniform(0, math.pi), rng.uniform(8, 30)
        tex = rng.uniform(8, 20) * np.sin(2 * math.pi * (xx * math.cos(theta) + yy * math.sin(theta)) / period)
    elif kind == 2:  # checkerboard
        period = int(rng.integers(8, 29))
        tex = rng.uniform(8, 20) * (((xx // period + yy // period) % 2) * 2 - 1)
    elif kind == 3:  # gradient
        theta = rng.uniform(0, 2 * math.pi)
        tex = rng.uniform(20, 40) * ((xx * math.cos(theta) + yy * math.sin(theta)) / SIZE)
    else:  # blocky noise
        cells = int(rng.integers(4, 29))
        small = rng.normal(0, rng.uniform(8, 18), size=(cells, cells)).astype(np.float32)
        tex = np.kron(small, np.ones((SIZE // cells + 1, SIZE // cells + 1), np.float32))[:SIZE, :SIZE]
    pixels = np.clip(base[None, None, :] + tex[:, :, None], 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def render(scene, rng):
    image = background(rng)
    draw = ImageDraw.Draw(image)
    for shape, color, x, y, r in scene["draw"]:
        fill = tuple(int(np.clip(v + rng.uniform(-15, 15), 0, 255)) for v in COLORS[color])
        if shape == "circle":
            draw.ellipse([x - r, y - r, x + r, y + r], fill=fill)
        else:
            draw.polygon(shape_polygon(shape, x, y, r, rng.uniform(-0.2, 0.2)), fill=fill)
    return image


def jpeg_bytes(image):
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


# MARK: - Training data

# Training draws from a pool of pre-rendered groups. A group is an anchor scene and up to three near
# misses of it (same colours and shapes, another position, size or order), kept together so that in a
# batch they are each other's hard negatives and the loss cannot be met by colour and shape alone.
# Rendering costs about as much CPU as a training step, so the pool is drawn once, on both cores,
# and reused (captions are phrased afresh each time a scene is used).
GROUP_SIZES = {1: 0.2, 2: 0.3, 4: 0.5}  # share of groups by number of scenes


def decoded_jpeg(image):
    with Image.open(io.BytesIO(jpeg_bytes(image))) as decoded:
        return np.asarray(decoded.convert("RGB"))


def scene_group(seed, index):
    """Group `index` of the pool: (uint8 (n, 224, 224, 3) after a JPEG round trip, n scenes with
    distinct keys). Each group has its own generator, so the pool is the same whatever the workers."""
    rng = np.random.default_rng([seed, index])
    kinds, weights = list(KINDS), np.array(list(KINDS.values()))
    sizes, size_weights = list(GROUP_SIZES), np.array(list(GROUP_SIZES.values()))
    anchor = sample_scene(rng, kinds[rng.choice(len(kinds), p=weights)])
    scenes, keys = [anchor], {scene_key(anchor)}
    for _ in range(sizes[rng.choice(len(sizes), p=size_weights)] - 1):
        other = near_miss(anchor, rng, keys)
        if other is None:
            break
        scenes.append(other)
        keys.add(scene_key(other))
    return np.stack([decoded_jpeg(render(scene, rng)) for scene in scenes]), scenes


def near_miss(scene, rng, taken):
    """A scene of the same kind that shares the colours and shapes but differs in what the caption
    states (position, size, order), with a key not in `taken`; None when there is none left."""
    same = {"single": ("color", "shape"), "pair": ("color", "shape"), "triple": ("color",),
            "relation": ()}[scene["kind"]]
    for _ in range(500):
        other = sample_scene(rng, scene["kind"])
        if scene["kind"] == "relation":
            if {other["first"], other["second"]} != {scene["first"], scene["second"]}:
                continue
        elif any(other[a] != scene[a] for a in same):
            continue
        if scene_key(other) not in taken:
            return other
    return None


class ScenePool:
    """`groups` scene groups rendered by two processes into one uint8 (N, 224, 224, 3) array."""

    def __init__(self, seed, groups):
        import multiprocessing

        self.pixels = np.empty((groups * max(GROUP_SIZES), SIZE, SIZE, 3), np.uint8)  # filled up to len
        self.groups = []  # (first row, scenes)
        rows = 0
        with multiprocessing.get_context("fork").Pool(2) as workers:
            for pixels, scenes in workers.imap(_pool_group, [(seed, i) for i in range(groups)], chunksize=64):
                self.pixels[rows:rows + len(scenes)] = pixels
                self.groups.append((rows, scenes))
                rows += len(scenes)
        self.rows = rows

    def batch(self, seed, step, batch_size):
        """Batch `step`: random whole groups (the last one cut to fit), no two scenes sharing a key;
        captions state everything for scenes in a group, and now and then leave out size or position
        for a scene on its own, as people leave them out of queries."""
        rng = np.random.default_rng([seed, 2, step])
        rows, captions, keys = [], [], set()
        while len(rows) < batch_size:
            first, scenes = self.groups[rng.integers(len(self.groups))]
            group_keys = {scene_key(s) for s in scenes}
            if group_keys & keys:
                continue
            keys |= group_keys
            for offset, scene in enumerate(scenes[:batch_size - len(rows)]):
                rows.append(first + offset)
                captions.append(caption(scene, rng, full=len(scenes) > 1))
        return torch.from_numpy(self.pixels[rows]), captions


def _pool_group(job):
    return scene_group(*job)


def normalize(pixels):
    """uint8 (B, 224, 224, 3) -> (B, 3, 224, 224) float: (x/255 - mean) / std as CLIPImageProcessor
    does (at 224x224 its resize and crop leave the pixels unchanged), as one multiply-add per
    channel in place (the step's cost otherwise; rounding differs from the reference in the last bit)."""
    x = pixels.permute(0, 3, 1, 2).contiguous().float()
    scale = torch.from_numpy(1.0 / (255.0 * STD)).view(1, 3, 1, 1)
    shift = torch.from_numpy(MEAN / STD).view(1, 3, 1, 1)
    return x.mul_(scale).sub_(shift)


def token_batch(tokenizer, captions):
    """(B, longest) ids [49406] + bpe + [49407], padded after the end token (causal masking keeps
    padding out of the end token's row, which is the one that is pooled)."""
    ids = tokenizer(captions)["input_ids"]
    longest = max(len(row) for row in ids)
    return torch.tensor([row + [49407] * (longest - len(row)) for row in ids], dtype=torch.long)


# MARK: - Model

def demo_config(args):
    from transformers import CLIPConfig

    return CLIPConfig(
        text_config=dict(hidden_size=args.text_width, intermediate_size=4 * args.text_width,
                         num_attention_heads=max(1, args.text_width // 64), num_hidden_layers=args.text_layers,
                         max_position_embeddings=77, vocab_size=49408, hidden_act="quick_gelu",
                         layer_norm_eps=1e-5, bos_token_id=49406, eos_token_id=49407, pad_token_id=1),
        vision_config=dict(hidden_size=args.vision_width, intermediate_size=4 * args.vision_width,
                           num_attention_heads=max(1, args.vision_width // 32), num_hidden_layers=args.vision_layers,
                           image_size=SIZE, patch_size=32, num_channels=3, hidden_act="quick_gelu",
                           layer_norm_eps=1e-5),
        projection_dim=args.projection_dim,
        logit_scale_init_value=math.log(30.0),  # sharper than CLIP's 1/0.07 from the start: short run
    )


def clip_loss(model, pixel_values, input_ids):
    """CLIP's symmetric contrastive loss: cross-entropy over images for each text and over texts
    for each image, matching pairs on the diagonal."""
    image = model.get_image_features(pixel_values=pixel_values)
    text = model.get_text_features(input_ids=input_ids)
    image = image if isinstance(image, torch.Tensor) else image.pooler_output
    text = text if isinstance(text, torch.Tensor) else text.pooler_output
    image = image / image.norm(dim=-1, keepdim=True)
    text = text / text.norm(dim=-1, keepdim=True)
    logits = model.logit_scale.exp() * text @ image.t()  # (B, B)
    labels = torch.arange(len(logits))
    return (torch.nn.functional.cross_entropy(logits, labels)
            + torch.nn.functional.cross_entropy(logits.t(), labels)) / 2


def train(args, tokenizer):
    from transformers import CLIPModel

    torch.manual_seed(args.seed)
    model = CLIPModel(demo_config(args))
    model.train()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    rest = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                                  lr=args.lr, betas=(0.9, 0.98), eps=1e-6, fused=True)
    warmup = max(1, args.steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / args.steps))))
    started = time.time()
    pool = ScenePool(args.seed, args.pool_groups)
    print(f"pool: {args.pool_groups} groups, {pool.rows} scenes rendered in {time.time() - started:.0f} s", flush=True)
    start, losses = time.time(), []
    for step in range(args.steps):
        pixels, captions = pool.batch(args.seed, step, args.batch_size)
        if step == 0:
            check_tokenizer(tokenizer, captions)
        loss = clip_loss(model, normalize(pixels), token_batch(tokenizer, captions))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        losses.append(loss.item())
        if step % args.log_every == 0 or step == args.steps - 1:
            print(f"step {step:5d}  loss {np.mean(losses[-args.log_every:]):.4f}  "
                  f"scale {model.logit_scale.exp().item():6.2f}  lr {schedule.get_last_lr()[0]:.2e}  "
                  f"{time.time() - start:7.1f}s", flush=True)
    seconds = time.time() - started  # pool rendering included
    final_loss = float(np.mean(losses[-min(len(losses), 20):]))
    return model.eval(), seconds, final_loss


# MARK: - Tokenizer

def make_tokenizer(folder):
    from transformers import CLIPTokenizer

    write_tokenizer_files(str(folder))
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))


def check_tokenizer(tokenizer, captions):
    """transformers' CLIPTokenizer on our vocab.json/merges.txt must give OpenAI's simple_tokenizer ids."""
    from clipfixture import bpe_vocabulary_path
    from open_clip.tokenizer import SimpleTokenizer

    reference = SimpleTokenizer(bpe_path=bpe_vocabulary_path())
    for text, ids in zip(captions, tokenizer(list(captions))["input_ids"]):
        expected = [49406] + reference.encode(text) + [49407]
        if ids != expected:
            raise SystemExit(f"tokenizers disagree on {text!r}: {ids} vs {expected}")


# MARK: - Gallery

def write_gallery(folder, seed, tokenizer):
    """GALLERY_MIX scenes from their own seed, distinct keys, full captions; JPEG files + captions.json."""
    rng = np.random.default_rng([seed, 1_000_003])  # the training stream uses [seed, batch index]
    gallery = folder / "gallery"
    gallery.mkdir(parents=True, exist_ok=True)
    keys, entries = set(), []
    for kind, count in GALLERY_MIX.items():
        made = 0
        while made < count:
            scene = sample_scene(rng, kind)
            if scene_key(scene) in keys:
                continue
            keys.add(scene_key(scene))
            name = f"{len(entries) + 1:04d}.jpg"
            (gallery / name).write_bytes(jpeg_bytes(render(scene, rng)))
            entries.append({"file": name, "caption": caption(scene, rng, full=True)})
            made += 1
    order = np.random.default_rng([seed, 7]).permutation(len(entries))  # kinds interleaved, files renamed in order
    shuffled = []
    for new_index, old in enumerate(order):
        entry = entries[old]
        name = f"{new_index + 1:04d}.jpg"
        (gallery / entry["file"]).rename(gallery / (name + ".tmp"))
        shuffled.append({"file": name, "caption": entry["caption"]})
    for entry in shuffled:
        (gallery / (entry["file"] + ".tmp")).rename(gallery / entry["file"])
    assert len({e["caption"] for e in shuffled}) == len(shuffled), "gallery captions must be unique"
    check_tokenizer(tokenizer, [e["caption"] for e in shuffled])
    (gallery / "captions.json").write_text(json.dumps(shuffled, indent=1) + "\n")
    return shuffled


# MARK: - Evaluation (reference pipeline on the shipped files)

@torch.no_grad()
def evaluate(folder):
    """Recall@1/@5 of caption -> image over the gallery, with the float16 weights as saved, the
    gallery JPEG files decoded by Pillow, CLIPImageProcessorPil and the folder's tokenizer files."""
    from transformers import CLIPModel, CLIPTokenizer
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    model = CLIPModel.from_pretrained(str(folder), dtype=torch.float32).eval()
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    processor = CLIPImageProcessorPil()
    entries = json.loads((folder / "gallery/captions.json").read_text())
    images = []
    for start in range(0, len(entries), 64):
        batch = []
        for entry in entries[start:start + 64]:
            with Image.open(folder / "gallery" / entry["file"]) as im:
                batch.append(im.convert("RGB"))
        pixels = torch.as_tensor(np.asarray(processor(images=batch, return_tensors="np")["pixel_values"]))
        out = model.get_image_features(pixel_values=pixels)
        images.append(out if isinstance(out, torch.Tensor) else out.pooler_output)
    ids = token_batch(tokenizer, [e["caption"] for e in entries])
    texts = model.get_text_features(input_ids=ids)
    texts = texts if isinstance(texts, torch.Tensor) else texts.pooler_output
    images = torch.cat(images)
    images = images / images.norm(dim=-1, keepdim=True)
    texts = texts / texts.norm(dim=-1, keepdim=True)
    similarity = texts @ images.t()  # (captions, images); caption i belongs to image i
    own = similarity.diagonal().unsqueeze(1)
    rank = (similarity > own).sum(dim=1)  # images scoring strictly above the caption's own image
    misses = [(entries[i]["caption"], entries[int(similarity[i].argmax())]["caption"])
              for i in range(len(entries)) if rank[i] > 0]
    return float((rank < 1).float().mean()), float((rank < 5).float().mean()), misses


# MARK: - Main

def parameter_count(folder):
    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        return sum(f.get_slice(k).get_shape().numel() if hasattr(f.get_slice(k).get_shape(), "numel")
                   else int(np.prod(f.get_slice(k).get_shape())) for k in f.keys())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "Models/demo"))
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--pool-groups", type=int, default=28000, help="scene groups rendered before training")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--vision-width", type=int, default=96)
    parser.add_argument("--vision-layers", type=int, default=4)
    parser.add_argument("--text-width", type=int, default=128)
    parser.add_argument("--text-layers", type=int, default=3)
    parser.add_argument("--projection-dim", type=int, default=128)
    parser.add_argument("--log-every", type=int, default=20)
    parser.add_argument("--eval-only", action="store_true", help="evaluate the folder as it is; rewrite demo.json's recall")
    args = parser.parse_args()
    torch.set_num_threads(2)
    folder = pathlib.Path(args.out)

    if not args.eval_only:
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        tokenizer = make_tokenizer(folder)
        write_gallery(folder, args.seed, tokenizer)
        model, seconds, final_loss = train(args, tokenizer)
        model.to(torch.float16).save_pretrained(str(folder), safe_serialization=True)
        from transformers import CLIPImageProcessor

        CLIPImageProcessor().save_pretrained(str(folder))
        summary = {
            "name": "clip-server-demo",
            "description": ("A small CLIP trained by tools/train_demo_model.py on generated pictures of coloured "
                            "shapes, so search works offline; it knows only shapes, colours, sizes and places."),
            "gallery": "gallery",
            "training_seconds": round(seconds, 1),
            "steps": args.steps,
            "batch_size": args.batch_size,
            "pool_groups": args.pool_groups,
            "final_loss": round(final_loss, 4),
            "seed": args.seed,
            "jpeg_quality": JPEG_QUALITY,
            "vision": {"width": args.vision_width, "layers": args.vision_layers, "heads": max(1, args.vision_width // 32)},
            "text": {"width": args.text_width, "layers": args.text_layers, "heads": max(1, args.text_width // 64)},
            "projection_dim": args.projection_dim,
            "torch": torch.__version__,
        }
    else:
        summary = json.loads((folder / "demo.json").read_text())

    recall1, recall5, misses = evaluate(folder)
    summary["pytorch_recall_at_1"] = round(recall1, 4)
    summary["pytorch_recall_at_5"] = round(recall5, 4)
    summary["parameters"] = parameter_count(folder)
    (folder / "demo.json").write_text(json.dumps(summary, indent=2) + "\n")
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(f"misses at rank 1 ({len(misses)}):")
    for wanted, got in misses:
        print(f"  {wanted!r}  ->  {got!r}")
    print(f"SUMMARY training {summary['training_seconds']} s, {summary['steps']} steps x {summary['batch_size']}, "
          f"final loss {summary['final_loss']}, PyTorch recall@1 {recall1:.4f}, recall@5 {recall5:.4f}, "
          f"{summary['parameters']} parameters, folder {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
