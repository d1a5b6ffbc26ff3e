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
ns="ptcap$$"
work=$(mktemp -d)
cleanup() {
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    ip link del "$ns-h" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

ip netns add "$ns"
ip link add "$ns-h" type veth peer name "$ns-n" netns "$ns"
ip addr add 10.236.0.1/24 dev "$ns-h" && ip link set "$ns-h" up
ip -n "$ns" addr add 10.236.0.2/24 dev "$ns-n" && ip -n "$ns" link set "$ns-n" up && ip -n "$ns" link set lo up
mkdir -p "$work/www"
chmod 755 "$work"   # nginx workers run as nobody: let them read the page (mktemp -d is 0700)
python3 -c "print('\n'.join('pipetrace_bench_metric{le=\"%d\"} %d' % (i, i * 7) for i in range(24)))" > "$work/www/metrics"
chmod 644 "$work/www/metrics"
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    server { listen 10.236.0.2:8080; root $work/www; location / { default_type text/plain; } }
}
CONF
ip netns exec "$ns" nginx -c "$work/nginx.conf" -e "$work/error.log"
for _ in $(seq 50); do curl -sf -o /dev/null http://10.236.0.2:8080/metrics && break; sleep 0.1; done
curl -sf -o /dev/null http://10.236.0.2:8080/metrics || { echo "nginx does not serve http://10.236.0.2:8080/metrics" >&2; exit 1; }

tcpdump -q -i "$ns-h" -s 0 -w "$work/large.pcap" tcp port 8080 2>/dev/null &
dump=$!
sleep 1
wrk -t1 -c"$connections" -d"${seconds}s" http://10.236.0.2:8080/metrics > /dev/null
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
measure pipetrace "$pipetrace" analyze "$work/large.pcap" --json
measure tshark tshark -q -z http,tree -r "$work/large.pcap"
echo "requests: pipetrace $(python3 -c "import json,sys; d=json.load(open('$work/pipetrace.out')); print(sum(g['count'] for g in d['groups']))"), tshark $(awk '/HTTP Request Packets/ {print $4; exit}' "$work/tshark.out")"
