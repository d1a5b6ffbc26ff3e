#!/usr/bin/env bash
# `pipetrace analyze` against `tshark -q -z http,tree` on the same large
# capture: wall time, CPU time (user+sys) and peak memory, side by side, the
# two tools alternating for RUNS runs (default 3), then the medians. The
# capture is real traffic recorded here: wrk against nginx in a namespace of
# its own, taken with tcpdump on the host side of the veth. Run as root after
# `make build`:
#
#   sudo bench/analyze-vs-tshark.sh [capture-seconds] [connections]
#
# KEEP_CAPTURE=FILE keeps the recorded capture; CAPTURE=FILE analyzes an
# existing one instead of recording (no root needed then).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3}
connections=${2:-8}
runs=${RUNS:-3}
pipetrace=${PIPETRACE:-$(swift build -c release --show-bin-path)/pipetrace}

if [ -n "${CAPTURE:-}" ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT INT TERM
    capture=$CAPTURE
    how="given"
else
    . bench/lib/nginx-namespace.sh
    trap nginx_namespace_cleanup EXIT INT TERM
    nginx_namespace_up ptcap 10.236.0
    capture=$work/large.pcap
    tcpdump -q -i "$ns-h" -s 0 -w "$capture" tcp port "$port" 2>/dev/null &
    dump=$!
    sleep 1
    wrk -t1 -c"$connections" -d"${seconds}s" "$url" > /dev/null
    sleep 1
    kill -INT "$dump"; wait "$dump" || true
    [ -n "${KEEP_CAPTURE:-}" ] && cp "$capture" "$KEEP_CAPTURE"
    how="wrk -c$connections for ${seconds}s against nginx"
fi
size=$(du -m "$capture" | cut -f1)
packets=$(tcpdump -r "$capture" 2>/dev/null | wc -l)
echo "machine: $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "capture: $packets packets, $size MiB ($how)"
cat "$capture" > /dev/null # both tools read it from the page cache

measure() { # label, command...: one run; appends "wall cpu MiB" to $work/label.runs
    local label=$1; shift
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" > "$work/$label.out" 2> "$work/$label.err"
    read -r wall user sys kib < "$work/time"
    local cpu; cpu=$(echo "$user + $sys" | bc -l)
    local mib; mib=$(echo "$kib / 1024" | bc -l)
    printf '%-10s %3d %8.2f s %8.2f s %8.0f MiB\n' "$label" "$run" "$wall" "$cpu" "$mib"
    echo "$wall $cpu $mib" >> "$work/$label.runs"
}
median() { # column number, file
    sort -n -k"$1" "$2" | awk -v c="$1" '{v[NR]=$c} END {print v[int((NR+1)/2)]}'
}
best() { # column number, file: the least disturbed run
    sort -n -k"$1" "$2" | awk -v c="$1" 'NR == 1 {print $c}'
}
printf '%-10s %3s %10s %10s %12s\n' tool run wall cpu peak_rss
for run in $(seq "$runs"); do
    measure pipetrace "$pipetrace" analyze "$capture" --json
    measure tshark tshark -q -z http,tree -r "$capture"
done
for label in pipetrace tshark; do
    printf '%-10s %3s %8.2f s %8.2f s %8.0f MiB\n' "$label" median "$(median 1 "$work/$label.runs")" \
        "$(median 2 "$work/$label.runs")" "$(median 3 "$work/$label.runs")"
    printf '%-10s %3s %8.2f s %8.2f s\n' "$label" best "$(best 1 "$work/$label.runs")" "$(best 2 "$work/$label.runs")"
done
ratio() { echo "$($1 "$2" "$work/tshark.runs") / $($1 "$2" "$work/pipetrace.runs")" | bc -l; }
printf 'tshark / pipetrace, medians: %.1fx wall, %.1fx cpu, %.1fx memory; best runs: %.1fx wall, %.1fx cpu\n' \
    "$(ratio median 1)" "$(ratio median 2)" "$(ratio median 3)" "$(ratio best 1)" "$(ratio best 2)"
echo "requests: pipetrace $(python3 -c "import json,sys; d=json.load(open('$work/pipetrace.out')); print(sum(g['count'] for g in d['groups']))"), tshark $(awk '/HTTP Request Packets/ {print $4; exit}' "$work/tshark.out")"
