#!/usr/bin/env bash
# Builds the libFuzzer harnesses (ASan + libFuzzer), seeds their corpora from
# captures/ and ../shared/captures, and runs each for at most SECONDS and at
# most RUNS inputs (-seed=1: the same inputs on every machine). Exits non-zero
# on the first crash or sanitizer report. `make test` runs it briefly, `make
# fuzz` for long:
#
#   bench/fuzz/run.sh SECONDS [RUNS] [TARGET...]
#
# FUZZ_CONFIG=release builds them optimized (still with ASan): several times
# the inputs per second of the debug build, which `make test` uses because
# it compiles sooner.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:?seconds}
runs=${2:--1}
shift $(( $# >= 2 ? 2 : 1 ))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(CaptureFuzzer ParserFuzzer EventDecoderFuzzer PcapReaderFuzzer TraceeJSONFuzzer ExportConfigurationFuzzer)
config=${FUZZ_CONFIG:-debug}
mkdir -p .build
swift build -c "$config" -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xcc -fsanitize=fuzzer-no-link,address \
    > .build/build.log 2>&1 || { grep -E 'error' .build/build.log >&2; exit 1; }
bin=$(swift build -c "$config" --show-bin-path)
corpus=.build/corpus
captures=(../../captures ../../../shared/captures)

# Seeds: what the targets read in the field, cut to sizes a fuzzer mutates quickly.
seed() {
    local dir=$corpus/$1
    mkdir -p "$dir"
    case $1 in
        EventDecoderFuzzer) PIPETRACE_FUZZ_WRITE_SEEDS=$dir "$bin/EventDecoderFuzzer" ;;
        PcapReaderFuzzer)
            for f in ${captures[@]/%//*.pcap} ${captures[@]/%//*.pcapng}; do
                [ -f "$f" ] || continue
                for size in 512 4096 32768; do head -c $size "$f" > "$dir/$(basename "$f")-$size"; done
            done ;;
        TraceeJSONFuzzer)
            for f in ${captures[@]/%//*.json}; do
                [ -f "$f" ] || continue
                head -n 200 "$f" | split -l 4 - "$dir/$(basename "$f")-"
            done ;;
        ExportConfigurationFuzzer) cp ../../deploy/*.yaml "$dir/" ;;
        *) ;;
    esac
}
for target in "${targets[@]}"; do
    seed "$target"
    case $target in
        PcapReaderFuzzer) max_len=40000 ;;
        EventDecoderFuzzer) max_len=20000 ;;
        *) max_len=8192 ;;
    esac
    log=.build/$target.log
    if ! "$bin/$target" "$corpus/$target" -seed=1 -runs="$runs" -max_total_time="$seconds" -max_len=$max_len \
            -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix=.build/ > "$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "fuzz: $target failed (crash or sanitizer report above; whole log: bench/fuzz/$log)" >&2
        exit 1
    fi
    echo "fuzz: $target: $(awk '/stat::number_of_executed_units/ { n = $2 } /stat::peak_rss_mb/ { r = $2 } END { printf "%s inputs, peak RSS %s MB", n, r }' "$log") in ≤ ${seconds} s, no crash"
done
