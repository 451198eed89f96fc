#!/usr/bin/env bash
# GET /duplicates cost (issue 16): VectorIndex.nearDuplicates in process (what the route runs, minus
# the JSON) on 10k and 100k clustered 512-d unit vectors with planted near-duplicates; nothing is
# asserted. Results as JSON lines on stdout (bench/results/duplicates-*.txt keeps a run).
#
#   bench/duplicates.sh                                   # ROWS=10000,100000 RUNS=3 MIN_SCORE=0.95
#   ROWS=10000 RUNS=5 bench/duplicates.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${ROWS:-10000,100000}"
RUNS="${RUNS:-3}"
MIN_SCORE="${MIN_SCORE:-0.95}"
swift build -c release --product duplicates-bench >&2
echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg): duplicates-bench --rows $ROWS --runs $RUNS --min-score $MIN_SCORE" >&2
.build/release/duplicates-bench --rows "$ROWS" --runs "$RUNS" --min-score "$MIN_SCORE"
