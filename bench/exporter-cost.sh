#!/usr/bin/env bash
# The exporter's cost on a real workload, in one run: wrk (host) against
# nginx (in a network namespace of its own) at the highest rate it reaches,
# first alone, then with `pipetrace export` attached and every sink on:
# GET /metrics (scraped each second), remote write to a victoria-metrics and
# OTLP to a receiver, both started here on loopback. Reports the workload's
# requests/s with and without export, and pipetrace's CPU (user+sys from
# /proc/PID/stat, as % of one core and µs per request) and peak RSS
# (VmHWM). The BPF programs' own cost lands on the traced processes and is
# measured by bench/probe-overhead.sh. Run as root after `make build`:
#
#   sudo bench/exporter-cost.sh [seconds] [connections]
#   sudo RATE=10000 bench/exporter-cost.sh      # paced at 10k requests/s (the target's rate), not flat out
#   sudo OTLP=0 bench/exporter-cost.sh     # the same without the OTLP sink: what spans cost
#   sudo BUFFER_MIB=32 bench/exporter-cost.sh   # another ring buffer size (--buffer-size) than export's default
#   sudo RATE=1000 WRAP="valgrind --tool=callgrind --callgrind-out-file=/tmp/export.cg" \
#        NGINX_PORT=18080 EXPORT_FLAGS="--port 18080" bench/exporter-cost.sh
#       # export under a profiler: instructions per request, the same on a busy machine
#       # (traffic of other ports left out in the kernel)
#
# RATE paces wrk (bench/lib/wrk.sh). The rate reached is wrk's, printed; the
# CPU per request is at that rate, where fixed costs per poll and per batch
# weigh more than at saturation.
#
# Everything it creates (namespace, veth, nginx, victoria-metrics, receiver) is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
connections=${2:-32}
pipetrace=${PIPETRACE:-$(swift build -c release --show-bin-path)/pipetrace}
. bench/lib/nginx-namespace.sh
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    nginx_namespace_cleanup
}
trap cleanup EXIT INT TERM
nginx_namespace_up ptexp "${SUBNET:-10.234.0}"  # SUBNET: another /24 when two runs share the machine

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
vm_port=$(free_port); otlp_port=$(free_port); metrics_port=$(free_port)
victoria-metrics -storageDataPath "$work/vm" -httpListenAddr "127.0.0.1:$vm_port" -loggerLevel ERROR >/dev/null 2>&1 &
pids+=($!); disown  # killed at exit without a "Killed" line from the shell
# An OTLP/HTTP receiver that reads and counts bodies (an OpenTelemetry collector's cost is not ours);
# HTTP/1.1 with keep-alive, as the collector serves.
python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def do_GET(self):
        self.send_response(405); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' "$otlp_port" &
pids+=($!); disown
for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$vm_port/health" && curl -s -o /dev/null "http://127.0.0.1:$otlp_port/" && break
    sleep 0.1
done

. bench/lib/wrk.sh
wrk_setup
measure() { wrk_measure | cut -d' ' -f1; }
ticks=$(getconf CLK_TCK)

echo "workload: wrk -t1 -c$connections -d${seconds}s $url (nginx in namespace $ns, 1 worker)${RATE:+, paced at $RATE requests/s}"
echo "machine:  $(nproc) cores, $(uname -r)"
base=$(measure)
echo "without export: $base requests/s"

${WRAP:-} "$pipetrace" export --listen "127.0.0.1:$metrics_port" --remote-write "http://127.0.0.1:$vm_port/api/v1/write" \
    $([ "${OTLP:-1}" = 0 ] || echo --otlp "http://127.0.0.1:$otlp_port") --interval 2 --slow-ms 5 --spool-dir "$work/spool" ${BUFFER_MIB:+--buffer-size "$BUFFER_MIB"} ${EXPORT_FLAGS:-} 2> "$work/export.err" &
exporter=$!
pids+=($exporter)
for _ in $(seq 600); do grep -q exporting "$work/export.err" 2>/dev/null && break; sleep 0.1; done
# Under callgrind, count from here: loading the programs is not the per-request cost.
case "${WRAP:-}" in *callgrind*) callgrind_control -z "$exporter" >/dev/null 2>&1 || true ;; esac
( while kill -0 "$exporter" 2>/dev/null; do curl -s -o /dev/null "http://127.0.0.1:$metrics_port/metrics" || true; sleep 1; done ) &
pids+=($!); disown
cpu_before=$(awk '{print $14 + $15}' "/proc/$exporter/stat")
traced=$(measure)
cpu_after=$(awk '{print $14 + $15}' "/proc/$exporter/stat")
hwm_kb=$(awk '/VmHWM/ {print $2}' "/proc/$exporter/status")
kill -TERM "$exporter"; wait "$exporter" || true
echo "with export:    $traced requests/s ($(echo "100 * $traced / $base" | bc -l | xargs printf '%.1f')% of without)"
cpu_pct=$(echo "100 * ($cpu_after - $cpu_before) / $ticks / $seconds" | bc -l)
echo "export CPU:     $(printf '%.1f' "$cpu_pct")% of one core (user+sys) at $traced requests/s, $(echo "10 * $cpu_pct / ($traced / 1000)" | bc -l | xargs printf '%.2f') µs per request"
echo "export memory:  $(echo "$hwm_kb / 1024" | bc -l | xargs printf '%.1f') MB peak RSS (VmHWM)"
echo "sinks:"
grep -E 'delivered|DROPPED|events' "$work/export.err" | sed 's/^/  /'
