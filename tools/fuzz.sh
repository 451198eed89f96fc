#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ (Swift's -sanitize=fuzzer,address; the C decoders get
# AddressSanitizer and coverage too) and runs each for FUZZ_SECONDS (default 60) on its seed corpus
# in Fuzz/Corpus/<target>. New inputs go to a temp folder, not the repo; a crash leaves its input in
# .build-fuzz/artifacts/ and makes this script fail. Usage: tools/fuzz.sh [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(FuzzImageDecoder FuzzTokenizer FuzzJSON FuzzMultipart)
scratch="$PWD/.build-fuzz"
flags=(-c debug --package-path Fuzz --scratch-path "$scratch"
       -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld
       -Xcc -fsanitize=fuzzer-no-link,address)
for target in "${targets[@]}"; do
    swift build "${flags[@]}" --product "$target" >&2
done
bin="$(swift build "${flags[@]}" --show-bin-path)"
mkdir -p "$scratch/artifacts"
export CLIP_FUZZ_VOCAB="$PWD/Models/bpe_simple_vocab_16e6.txt.gz"
status=0
for target in "${targets[@]}"; do
    work="$(mktemp -d)"
    echo "fuzz: $target for ${seconds}s" >&2
    if ! "$bin/$target" "$work" "Fuzz/Corpus/$target" -max_total_time="$seconds" -rss_limit_mb=3072 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$scratch/artifacts/$target-" > "$work.log" 2>&1; then
        status=1
        echo "fuzz: $target FAILED; its input is in $scratch/artifacts/" >&2
        tail -40 "$work.log" >&2
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work.log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz: $target: $runs executions, $(ls "$work" | wc -l) new corpus inputs, exit status $status" >&2
    rm -rf "$work" "$work.log"
done
exit $status
