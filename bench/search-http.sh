#!/bin/sh
# /search latency p50/p99 over HTTP at 10k and 100k stored embeddings (see search-http.py).
# Usage: bench/search-http.sh [extra args for search-http.py, e.g. --model DIR --sizes 10000]
set -e
cd "$(dirname "$0")/.."
swift build -c release --product clip-server
swift build -c release --product seed-library
exec python3 bench/search-http.py "$@"
