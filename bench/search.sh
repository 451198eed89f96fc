#!/usr/bin/env bash
# Search and indexing figures (issues 5 and 18), measured on this machine; nothing is asserted.
#  1. bench/search_compare.py: search-bench (exact and HNSW, through a real store, with churn) beside
#     numpy and faiss on the same clustered 512-d vectors, ROWS of them; figures in bench/results/.
#     Its PYTHON needs numpy and faiss-cpu (e.g. python3 -m venv /tmp/venv; /tmp/venv/bin/pip install
#     numpy faiss-cpu; PYTHON=/tmp/venv/bin/python).
#  2. `clip-server index` throughput on a folder of 640x480 JPEGs (decode + thumbnail + preprocess +
#     encode + store), with the model in $BENCH_MODEL (default: the tiny test model, so the figure
#     is mostly decoding and storing; point it at Models/clip-vit-base-patch32 for the real one).
#
# Run from anywhere:  bench/search.sh            (PYTHON=/path/to/python with Pillow, numpy, faiss-cpu)
#   ROWS=100000,1000000 JPEGS=256 bench/search.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
ROWS="${ROWS:-100000}"
JPEGS="${JPEGS:-256}"
BENCH_MODEL="${BENCH_MODEL:-Tests/CLIPTests/Fixtures/model/tiny-hf-f16}"

swift build -c release --product search-bench >&2
swift build -c release --product clip-server >&2

echo "# search latency (in-process) against numpy and faiss, rows=$ROWS" >&2
"$PYTHON" bench/search_compare.py --rows "$ROWS"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$PYTHON" bench/make_jpegs.py "$work/photos" "$JPEGS"
echo "# indexing $JPEGS 640x480 JPEGs with $BENCH_MODEL" >&2
start=$(date +%s.%N)
summary=$(.build/release/clip-server index --model "$BENCH_MODEL" --db "$work/data/index.sqlite" "$work/photos")
end=$(date +%s.%N)
# The second run over the same folder: every file skipped by path, size and mtime.
start2=$(date +%s.%N)
.build/release/clip-server index --model "$BENCH_MODEL" --db "$work/data/index.sqlite" "$work/photos" >/dev/null
end2=$(date +%s.%N)
"$PYTHON" - "$summary" "$start" "$end" "$start2" "$end2" "$JPEGS" "$BENCH_MODEL" <<'PY'
import json, sys
summary, s, e, s2, e2, n, model = sys.argv[1:]
seconds, rerun = float(e) - float(s), float(e2) - float(s2)
print(json.dumps({"index_jpegs": int(n), "model": model, "summary": json.loads(summary),
                  "index_seconds": round(seconds, 2), "index_files_per_s": round(int(n) / seconds, 1),
                  "reindex_unchanged_seconds": round(rerun, 2)}))
PY
