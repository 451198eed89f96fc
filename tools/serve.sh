#!/usr/bin/env bash
# Starts `clip-server serve` with the best model at hand; what `make serve` and the docker image run.
#   1. OpenAI's CLIP ViT-B/32 in $CLIP_MODELS_DIR/clip-vit-base-patch32 when its model.safetensors is there;
#   2. else `clip-server fetch-model` into that folder (fails at once without network);
#   3. else the project's demo model ($CLIP_DEMO_MODEL, made by tools/train_demo_model.py), with its own
#      database ($CLIP_DATA_DIR/demo.sqlite) so demo vectors never mix with a real model's index.
# Arguments are passed to `serve` (e.g. --port 9000 --host 0.0.0.0). Given --model (or $CLIP_MODEL),
# that model is served as is, nothing fetched.
# Environment: CLIP_SERVER (binary, default .build/release/clip-server), CLIP_MODELS_DIR (default Models),
# CLIP_DEMO_MODEL (default Models/demo), CLIP_DATA_DIR (default data), CLIP_NO_FETCH=1 (skip step 2).
# Re-run: tools/serve.sh [serve options...]
set -euo pipefail

server=${CLIP_SERVER:-.build/release/clip-server}
models=${CLIP_MODELS_DIR:-Models}
demo=${CLIP_DEMO_MODEL:-Models/demo}
data=${CLIP_DATA_DIR:-data}
real="$models/clip-vit-base-patch32"

say() { echo "serve.sh: $*" >&2; }

if [ ! -x "$server" ]; then
    say "no executable at $server (build it with \`swift build -c release\`, or set CLIP_SERVER)"
    exit 1
fi

# An explicit model: no choice to make.
for arg in "$@"; do
    case "$arg" in --model|--model=*) exec "$server" serve "$@" ;; esac
done
if [ -n "${CLIP_MODEL:-}" ]; then
    exec "$server" serve "$@"
fi

if [ -f "$real/model.safetensors" ]; then
    exec "$server" serve --model "$real" --db "${CLIP_DB:-$data/index.sqlite}" "$@"
fi

if [ "${CLIP_NO_FETCH:-0}" != 1 ]; then
    say "OpenAI's CLIP ViT-B/32 is not in $real: fetching it from the Hugging Face Hub (about 600 MB)"
    if "$server" fetch-model --dest "$real" && [ -f "$real/model.safetensors" ]; then
        exec "$server" serve --model "$real" --db "${CLIP_DB:-$data/index.sqlite}" "$@"
    fi
fi

if [ ! -f "$demo/demo.json" ] || [ ! -f "$demo/model.safetensors" ]; then
    say "no model to serve: $real has no model.safetensors, it could not be downloaded, and there is no demo model in $demo"
    say "put config.json, model.safetensors, vocab.json and merges.txt of openai/clip-vit-base-patch32 in $real"
    exit 1
fi

say "----------------------------------------------------------------------------------------------"
say "starting with the DEMO model in $demo, not OpenAI's CLIP ViT-B/32 (not in $real, and not downloadable now)."
say "The demo model is a small CLIP trained by this project on synthetic pictures of coloured shapes: it"
say "answers queries like \"a red circle\", not real photos. Its sample gallery is indexed on first start"
say "into its own database, ${CLIP_DB:-$data/demo.sqlite}."
say "For real search: \`make fetch-model\` (or \`clip-server fetch-model --dest $real\`) when online, or put"
say "config.json, model.safetensors, vocab.json and merges.txt in $real; then start again."
say "----------------------------------------------------------------------------------------------"
exec "$server" serve --model "$demo" --db "${CLIP_DB:-$data/demo.sqlite}" "$@"
