#!/usr/bin/env bash
# pipetrace's memory under connection floods: `pipetrace export` (the
# long-running mode, /metrics only) traces two network namespaces while
# bench/flood/flood.c (servers in one, clients in the other, over a veth
# pair) first holds OPEN connections open at once, then churns through CHURN
# short ones (connect, request, response, RST close) in at most CHURN_S
# seconds. Prints pipetrace's peak RSS in each phase and, from its /metrics,
# the connections it evicted, the events lost and the requests it made.
# Run as root after `make build`:
#
#   sudo bench/flood.sh [open=100000] [churn=1000000] [churn_s=60] [hold_s=20]
#
# A process may hold few descriptors here (ulimit -Hn), so the connections
# are spread over servers and clients of 16000 each, one port per server.
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
metrics=127.0.0.1:19464
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
ip netns exec "$client_ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
per_process=16000
servers=$(( (open + per_process - 1) / per_process ))
ports=$(seq -s, 8080 $(( 8080 + servers - 1 )))
for port in ${ports//,/ }; do
    ip netns exec "$server_ns" "$work/flood" server "$port" > "$work/server-$port.out" &
    pids+=($!)
done
"$pipetrace" export --listen "$metrics" --spool-dir "$work/spool" --container "$server_ns" --container "$client_ns" \
    > "$work/export.out" 2> "$work/export.err" &
tracer=$!
pids+=($tracer)
for _ in $(seq 100); do curl -sf -o /dev/null "http://$metrics/metrics" && break; sleep 0.1; done
curl -sf -o /dev/null "http://$metrics/metrics" || { cat "$work/export.err" >&2; exit 1; }

rss() { awk -v k="$1:" '$1 == k { print $2 }' /proc/$tracer/status; }
metric() { curl -sf "http://$metrics/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
echo "pipetrace export attached: RSS $(( $(rss VmRSS) / 1024 )) MiB"

# Peak RSS during a phase: VmHWM, reset through /proc/PID/clear_refs (5) before it.
phase_start() { echo 5 > /proc/$tracer/clear_refs; }
phase_end() {
    sleep 2
    echo "$1; pipetrace peak RSS $(( $(rss VmHWM) / 1024 )) MiB, now $(( $(rss VmRSS) / 1024 )) MiB," \
         "evicted $(metric pipetrace_connections_evicted_total), lost events $(metric pipetrace_lost_events_total)," \
         "requests $(metric pipetrace_requests_total)"
}

phase_start
i=0
holds=()
for port in ${ports//,/ }; do
    n=$(( open / servers + (i < open % servers ? 1 : 0) ))
    ip netns exec "$client_ns" "$work/flood" hold 10.234.0.1 "$port" "$n" "$hold_s" > "$work/hold-$port.out" &
    holds+=($!)
    i=$(( i + 1 ))
done
sleep "$hold_s" # each has opened its connections by then (flood gives up on the rest at hold_s)
held=$(cat "$work"/hold-*.out | python3 -c '
import json, sys
r = [json.loads(line) for line in sys.stdin]
print("%d open, %d failed, opened in %.1f s" % (sum(x["open"] for x in r), sum(x["failed"] for x in r), max(x["elapsed_s"] for x in r)))')
phase_end "open $open at once ($held), held ${hold_s} s"
wait "${holds[@]}" # each closes its connections after holding them hold_s

phase_start
result=$(ip netns exec "$client_ns" "$work/flood" churn 10.234.0.1 "$ports" "$churn" "$churn_s")
phase_end "churn $churn short connections in at most ${churn_s} s: $result"
