#!/usr/bin/env bash
# `pipetrace analyze` against `tshark -q -z http,tree` on the same large
# capture: wall time and peak memory, side by side in one run. The capture
# is real traffic recorded here: wrk against nginx in a namespace of its
# own, taken with tcpdump on the host side of the veth. Run as root after
# `make build`:
#
#   sudo bench/analyze-vs-tshark.sh [capture-seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3}
connections=${2:-8}
pipetrace=${PIPETRACE:-$(swift build -c release --show-bin-path)/pipetrace}
. bench/lib/nginx-namespace.sh
trap nginx_namespace_cleanup EXIT INT TERM
nginx_namespace_up ptcap 10.236.0

tcpdump -q -i "$ns-h" -s 0 -w "$work/large.pcap" tcp port 8080 2>/dev/null &
dump=$!
sleep 1
wrk -t1 -c"$connections" -d"${seconds}s" "$url" > /dev/null
sleep 1
kill -INT "$dump"; wait "$dump" || true
size=$(du -m "$work/large.pcap" | cut -f1)
packets=$(tcpdump -r "$work/large.pcap" 2>/dev/null | wc -l)
echo "capture: $packets packets, $size MiB (wrk -c$connections for ${seconds}s against nginx)"

measure() { # label, command...
    local label=$1; shift
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/$label.out" 2> "$work/$label.err"
    read -r wall kib < "$work/time"
    printf '%-10s %8.2f s %8.0f MiB\n' "$label" "$wall" "$(echo "$kib / 1024" | bc -l)"
}
printf '%-10s %10s %12s\n' tool wall peak_rss
[ -n "${KEEP_CAPTURE:-}" ] && cp "$work/large.pcap" "$KEEP_CAPTURE"
measure pipetrace "$pipetrace" analyze "$work/large.pcap" --json
measure tshark tshark -q -z http,tree -r "$work/large.pcap"
echo "requests: pipetrace $(python3 -c "import json,sys; d=json.load(open('$work/pipetrace.out')); print(sum(g['count'] for g in d['groups']))"), tshark $(awk '/HTTP Request Packets/ {print $4; exit}' "$work/tshark.out")"
