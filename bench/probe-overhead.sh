#!/usr/bin/env bash
# The probe's cost on a real workload: wrk (host) against nginx (in a
# network namespace of its own), requests/s and p99 latency without and with
# `pipetrace events --json > /dev/null` attached, alternating runs, then the
# ratio and the events lost, and what tracing costs in CPU per request (BPF
# programs, measured by the kernel's bpf_stats, plus the pipetrace process).
# Run as root after `make build`:
#
#   sudo bench/probe-overhead.sh [seconds-per-run] [runs-per-mode] [connections]
#
# Everything it creates (namespace, veth, nginx) is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
runs=${2:-3}
connections=${3:-32}
pipetrace=${PIPETRACE:-$(swift build -c release --show-bin-path)/pipetrace}
. bench/lib/nginx-namespace.sh
trap nginx_namespace_cleanup EXIT INT TERM
nginx_namespace_up ptbench 10.233.0

# Run time of pipetrace's BPF programs so far (kernel.bpf_stats_enabled=1 while benchmarking).
bpf_runtime_ns() {
    bpftool -j prog show | python3 -c '
import json, sys
print(sum(p.get("run_time_ns", 0) for p in json.load(sys.stdin)
          if p.get("name", "").startswith(("handle_", "capture_"))))'
}
stats_was=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=1
trap 'sysctl -qw kernel.bpf_stats_enabled=$stats_was; nginx_namespace_cleanup' EXIT INT TERM
bpf_ns_total=0; user_ticks_total=0; requests_total=0
ticks=$(getconf CLK_TCK)
# wrk's summary: requests/s and the 99% latency in ms.
measure() {
    wrk -t1 -c"$connections" -d"${seconds}s" --latency "$url" | awk '
        /Requests\/sec/ { rps = $2 }
        $1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } p99 = v }
        END { printf "%.0f %.3f\n", rps, p99 }'
}

echo "workload: wrk -t1 -c$connections -d${seconds}s $url (nginx in namespace $ns, 1 worker)"
echo "machine: $(nproc) cores, $(uname -r)"
printf '%-8s %-4s %12s %10s %10s\n' mode run requests/s p99_ms lost
base_total=0; traced_total=0; base_p99=0; traced_p99=0; lost_total=0; events_total=0
for run in $(seq "$runs"); do
    read -r rps p99 < <(measure)
    printf '%-8s %-4s %12s %10s %10s\n' untraced "$run" "$rps" "$p99" -
    base_total=$((base_total + rps)); base_p99=$(echo "$base_p99 + $p99" | bc -l)

    "$pipetrace" events --json > /dev/null 2> "$work/pipetrace.err" &
    tracer=$!
    for _ in $(seq 100); do grep -q tracing "$work/pipetrace.err" 2>/dev/null && break; sleep 0.1; done
    cpu_before=$(awk '{print $14 + $15}' "/proc/$tracer/stat")
    bpf_before=$(bpf_runtime_ns)
    read -r rps p99 < <(measure)
    bpf_after=$(bpf_runtime_ns)
    cpu_after=$(awk '{print $14 + $15}' "/proc/$tracer/stat")
    kill -INT "$tracer"; wait "$tracer" || true
    requests=$((rps * seconds))
    bpf_ns_total=$((bpf_ns_total + bpf_after - bpf_before))
    user_ticks_total=$((user_ticks_total + cpu_after - cpu_before))
    requests_total=$((requests_total + requests))
    summary=$(tail -1 "$work/pipetrace.err")
    lost=$(echo "$summary" | sed -n 's/.* \([0-9]*\) lost.*/\1/p')
    events=$(echo "$summary" | sed -n 's/pipetrace: \([0-9]*\) events.*/\1/p')
    printf '%-8s %-4s %12s %10s %10s\n' traced "$run" "$rps" "$p99" "$lost"
    traced_total=$((traced_total + rps)); traced_p99=$(echo "$traced_p99 + $p99" | bc -l)
    lost_total=$((lost_total + lost)); events_total=$((events_total + events))
done
echo
echo "untraced: $((base_total / runs)) requests/s, p99 $(printf '%.3f' "$(echo "$base_p99 / $runs" | bc -l)") ms"
echo "traced:   $((traced_total / runs)) requests/s, p99 $(printf '%.3f' "$(echo "$traced_p99 / $runs" | bc -l)") ms"
echo "ratio:    $(printf '%.1f' "$(echo "100 * $traced_total / $base_total" | bc -l)")% of untraced throughput"
echo "events:   $events_total delivered, $lost_total lost"
echo "cost:     $(echo "$bpf_ns_total / $requests_total / 1000" | bc -l | xargs printf '%.2f') µs of BPF programs + $(echo "$user_ticks_total * 1000000 / $ticks / $requests_total" | bc -l | xargs printf '%.2f') µs of pipetrace (user space) per request"
