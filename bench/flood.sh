#!/usr/bin/env bash
# pipetrace's memory under connection floods: `pipetrace stat` traces two
# network namespaces while bench/flood/flood.c (server in one, clients in the
# other, over a veth pair) first holds OPEN connections open at once, then
# churns through CHURN short ones (connect, request, response, RST close) in
# at most CHURN_S seconds. Prints pipetrace's peak RSS in each phase, the
# connections it evicted (stat's `connections_evicted`), the events lost and
# the requests it counted. Run as root after `make build`:
#
#   sudo bench/flood.sh [open=100000] [churn=1000000] [churn_s=60] [hold_s=20]
#
# Everything it creates (namespaces, veth, processes, files) is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
open=${1:-100000}
churn=${2:-1000000}
churn_s=${3:-60}
hold_s=${4:-20}
pipetrace=${PIPETRACE:-$(swift build -c release --show-bin-path)/pipetrace}
work=$(mktemp -d)
server_ns=ptflood-s$$
client_ns=ptflood-c$$
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns del "$server_ns" 2>/dev/null || true
    ip netns del "$client_ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

cc -O2 -o "$work/flood" bench/flood/flood.c
ip netns add "$server_ns"
ip netns add "$client_ns"
ip link add ptflood$$ netns "$server_ns" type veth peer name ptflood$$ netns "$client_ns"
ip -n "$server_ns" addr add 10.234.0.1/24 dev ptflood$$
ip -n "$client_ns" addr add 10.234.0.2/24 dev ptflood$$
for ns in "$server_ns" "$client_ns"; do
    ip -n "$ns" link set ptflood$$ up
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535
done
# Four server ports: one client address has ~64k local ports per server port.
ip netns exec "$client_ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
ports=8080,8081,8082,8083

ip netns exec "$server_ns" "$work/flood" server ${ports//,/ } > "$work/server.out" &
pids+=($!)
"$pipetrace" stat --json --time 3600 --group-by target --container "$server_ns" --container "$client_ns" \
    > "$work/stat.json" 2> "$work/stat.err" &
stat_pid=$!
pids+=($stat_pid)
for _ in $(seq 100); do grep -q collecting "$work/stat.err" 2>/dev/null && break; sleep 0.1; done
grep -q collecting "$work/stat.err" || { cat "$work/stat.err" >&2; exit 1; }

rss() { awk -v k="$1:" '$1 == k { print $2 }' /proc/$stat_pid/status; }
echo "pipetrace stat attached: RSS $(( $(rss VmRSS) / 1024 )) MiB"

# Peak RSS during a phase: VmHWM, reset through /proc/PID/clear_refs (5) before it.
phase() {
    local name=$1; shift
    echo 5 > /proc/$stat_pid/clear_refs
    local result
    result=$(ip netns exec "$client_ns" "$work/flood" "$@")
    sleep 2
    echo "$name: $result; pipetrace peak RSS $(( $(rss VmHWM) / 1024 )) MiB, now $(( $(rss VmRSS) / 1024 )) MiB"
}
phase "open $open at once, held ${hold_s} s" hold 10.234.0.1 "$ports" "$open" "$hold_s"
phase "churn $churn short connections in at most ${churn_s} s" churn 10.234.0.1 "$ports" "$churn" "$churn_s"
kill -INT $stat_pid
wait $stat_pid || true
python3 - "$work/stat.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
requests = sum(g["count"] for g in r["groups"])
print(f"stat: {requests} requests counted, {r['connections_evicted']} connections evicted, {r['lost_events']} events lost, window {r['window_s']:.0f} s")
PY
