#!/usr/bin/env bash
# What tracing costs a saturated workload, every mode side by side in one
# run: wrk (host) against nginx (1 worker, in a network namespace of its
# own), untraced and with each of
#   bpftrace   counting events on the same syscall tracepoints (the floor: tracepoints alone)
#   tcpdump    -w of every packet on the namespace's veth (a peer that analyses nothing)
#   events     pipetrace events --json > /dev/null
#   stat       pipetrace stat
#   stat-notls pipetrace stat --no-tls-plaintext (not by default; with TLS=1: what the TLS uprobes cost)
#   watch      pipetrace watch --json > /dev/null
#   export     pipetrace export (/metrics only)
# attached, in rounds, each round every mode once in a rotated order, so a
# drift of the machine's speed falls on all modes alike. Prints per mode the
# requests/s as a ratio of the untraced runs' mean, p99 latency, events lost
# and, for pipetrace, CPU per request: its BPF programs (the kernel's
# bpf_stats) and its process (user+sys from /proc). Run as root after
# `make build`:
#
#   sudo bench/probe-overhead.sh [seconds-per-run] [rounds] [connections]
#   sudo MODES="untraced stat export" bench/probe-overhead.sh 8 2
#   sudo RATE=10000 bench/probe-overhead.sh     # paced (bench/lib/wrk.sh): µs per request at 10k/s
#   sudo TLS=1 bench/probe-overhead.sh          # nginx over https (keep-alive): pipetrace reads OpenSSL's plaintext
#   sudo TLS=1 MODES="untraced stat stat-notls" bench/probe-overhead.sh   # the TLS probes' cost, and without them
#
# Needs bpftrace (apt-get install bpftrace) for its baseline. Everything it
# creates (namespace, veth, nginx, files) is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-8}
rounds=${2:-2}
connections=${3:-16}
modes=(${MODES:-untraced bpftrace tcpdump events stat watch export})
pipetrace=${PIPETRACE:-$(swift build -c release --show-bin-path)/pipetrace}
. bench/lib/nginx-namespace.sh
. bench/lib/wrk.sh
tracer=
stats_was=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
    [ -n "$tracer" ] && kill -9 "$tracer" 2>/dev/null || true
    sysctl -qw kernel.bpf_stats_enabled="$stats_was"
    nginx_namespace_cleanup
}
trap cleanup EXIT INT TERM
nginx_namespace_up ptover "${SUBNET:-10.233.0}"
wrk_setup
sysctl -qw kernel.bpf_stats_enabled=1
ticks=$(getconf CLK_TCK)
metrics_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# The BPF programs of process $1 so far, one line each: name, run time (ns), runs.
bpf_programs() {
    local ids
    ids=$( (grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null || true) | awk '{print $2}' | sort -u | tr '\n' ' ')
    bpftool -j prog show | python3 -c '
import json, sys
ids = set(int(i) for i in sys.argv[1].split())
for p in json.load(sys.stdin):
    if p["id"] in ids:
        print(p.get("name", p["id"]), p.get("run_time_ns", 0), p.get("run_cnt", 0))' "$ids"
}

# Starts mode $1's tracer in the background ($tracer, its stderr in $work/tracer.err); waits until it traces.
start_tracer() {
    : > "$work/tracer.err"; : > "$work/tracer.out"
    case $1 in
        untraced) tracer=; return ;;
        bpftrace)
            # Over https, also counting on the uprobes pipetrace places in libssl: the floor of reading plaintext.
            local ssl=""
            if [ "${TLS:-0}" = 1 ]; then
                local lib
                lib=$(ldconfig -p | awk '/libssl\.so\.3 .*x86-64/ { print $NF; exit }')
                ssl=", uprobe:$lib:SSL_read, uretprobe:$lib:SSL_read, uprobe:$lib:SSL_write, uretprobe:$lib:SSL_write,
                     uprobe:$lib:SSL_read_ex, uretprobe:$lib:SSL_read_ex, uprobe:$lib:SSL_write_ex, uretprobe:$lib:SSL_write_ex"
            fi
            bpftrace -e "tracepoint:syscalls:sys_enter_read, tracepoint:syscalls:sys_exit_read,
                         tracepoint:syscalls:sys_enter_write, tracepoint:syscalls:sys_exit_write,
                         tracepoint:syscalls:sys_enter_writev, tracepoint:syscalls:sys_exit_writev,
                         tracepoint:syscalls:sys_enter_recvfrom, tracepoint:syscalls:sys_exit_recvfrom,
                         tracepoint:syscalls:sys_enter_sendfile64, tracepoint:syscalls:sys_exit_sendfile64$ssl { @[probe] = count(); }" \
                > "$work/tracer.out" 2> "$work/tracer.err" &
            tracer=$!; ready="Attaching" ;;
        tcpdump)
            tcpdump -i "$ns-h" -w "$work/tcpdump.pcap" -U -n 2> "$work/tracer.err" &
            tracer=$!; ready="listening" ;;
        events) "$pipetrace" events --json > /dev/null 2> "$work/tracer.err" & tracer=$!; ready="tracing" ;;
        stat) "$pipetrace" stat --time 3600 > /dev/null 2> "$work/tracer.err" & tracer=$!; ready="collecting" ;;
        stat-notls) "$pipetrace" stat --time 3600 --no-tls-plaintext > /dev/null 2> "$work/tracer.err" & tracer=$!; ready="collecting" ;;
        watch) "$pipetrace" watch --json > /dev/null 2> "$work/tracer.err" & tracer=$!; ready="watching" ;;
        export) "$pipetrace" export --listen "127.0.0.1:$metrics_port" 2> "$work/tracer.err" & tracer=$!; ready="exporting" ;;
    esac
    # bpftrace says it is attaching on stdout, the others on stderr.
    for _ in $(seq 300); do cat "$work/tracer.err" "$work/tracer.out" | grep -q "$ready" && break; sleep 0.1; done
    cat "$work/tracer.err" "$work/tracer.out" | grep -q "$ready" || { echo "$1 did not start: $(cat "$work/tracer.err")" >&2; exit 1; }
    sleep 0.5
}

stop_tracer() {
    [ -n "$tracer" ] || return 0
    kill -INT "$tracer" 2>/dev/null || true
    wait "$tracer" 2>/dev/null || true
    tracer=
    rm -f "$work/tcpdump.pcap"
}

declare -A rps_sum p99_sum lost_sum bpf_ns cpu_ticks requests
for m in "${modes[@]}"; do rps_sum[$m]=0; p99_sum[$m]=0; lost_sum[$m]=0; bpf_ns[$m]=0; cpu_ticks[$m]=0; requests[$m]=0; done

echo "workload: wrk -t1 -c$connections -d${seconds}s $url (nginx in namespace $ns, 1 worker)${RATE:+, paced at $RATE requests/s}"
echo "machine:  $(nproc) cores, $(uname -r); $rounds rounds of: ${modes[*]}"
printf '%-9s %-5s %11s %9s %9s\n' mode round requests/s p99_ms lost
for round in $(seq "$rounds"); do
    # Rotate the order each round: no mode always runs first or last.
    order=("${modes[@]:$(( (round - 1) % ${#modes[@]} ))}" "${modes[@]:0:$(( (round - 1) % ${#modes[@]} ))}")
    for m in "${order[@]}"; do
        start_tracer "$m"
        if [ -n "$tracer" ]; then cpu0=$(awk '{print $14 + $15}' "/proc/$tracer/stat"); bpf_programs "$tracer" > "$work/bpf0"; fi
        read -r rps p99 < <(wrk_measure)
        if [ -n "$tracer" ]; then
            bpf_programs "$tracer" > "$work/bpf1"; cpu1=$(awk '{print $14 + $15}' "/proc/$tracer/stat")
            # Per program: run time and runs during the measurement, summed over rounds in $work/programs-$m.
            awk 'NR == FNR { ns[$1] += $2; n[$1] += $3; next } { printf "%s %.0f %.0f\n", $1, $2 - ns[$1], $3 - n[$1] }' \
                "$work/bpf0" "$work/bpf1" >> "$work/programs-$m"
            bpf_ns[$m]=$(( ${bpf_ns[$m]} + $(awk '{ s += $2 } END { printf "%.0f\n", s }' "$work/bpf1") \
                                          - $(awk '{ s += $2 } END { printf "%.0f\n", s }' "$work/bpf0") ))
            cpu_ticks[$m]=$(( ${cpu_ticks[$m]} + cpu1 - cpu0 ))
        fi
        stop_tracer
        lost=$(sed -n 's/.* \([0-9][0-9]*\) lost.*/\1/p' "$work/tracer.err" | tail -1)
        lost=${lost:-0}
        printf '%-9s %-5s %11s %9s %9s\n' "$m" "$round" "$rps" "$p99" "$([ "$m" = untraced ] && echo - || echo "$lost")"
        rps_sum[$m]=$(( ${rps_sum[$m]} + rps )); p99_sum[$m]=$(echo "${p99_sum[$m]} + $p99" | bc -l)
        lost_sum[$m]=$(( ${lost_sum[$m]} + lost )); requests[$m]=$(( ${requests[$m]} + rps * seconds ))
    done
done
echo
base=${rps_sum[untraced]:-0}
printf '%-9s %11s %9s %9s %9s %13s %13s\n' mode requests/s ratio p99_ms lost "BPF_µs/req" "user_µs/req"
for m in "${modes[@]}"; do
    ratio=$([ "$base" -gt 0 ] && echo "${rps_sum[$m]} / $base" | bc -l | xargs printf '%.3f' || echo -)
    bpf=-; user=-
    if [ "$m" != untraced ] && [ "${requests[$m]}" -gt 0 ]; then
        [ "$m" = bpftrace ] || [ "$m" = tcpdump ] || bpf=$(echo "${bpf_ns[$m]} / ${requests[$m]} / 1000" | bc -l | xargs printf '%.2f')
        user=$(echo "${cpu_ticks[$m]} * 1000000 / $ticks / ${requests[$m]}" | bc -l | xargs printf '%.2f')
    fi
    printf '%-9s %11s %9s %9s %9s %13s %13s\n' "$m" "$(( ${rps_sum[$m]} / rounds ))" "$ratio" \
        "$(echo "${p99_sum[$m]} / $rounds" | bc -l | xargs printf '%.3f')" "$([ "$m" = untraced ] && echo - || echo "${lost_sum[$m]}")" "$bpf" "$user"
done
# Where pipetrace's BPF time goes, per mode: each program's runs and ns per
# request and ns per run (programs that ran less than once per 100 requests left out).
for m in "${modes[@]}"; do
    [ -s "$work/programs-$m" ] && [ "${requests[$m]}" -gt 0 ] || continue
    echo
    echo "$m: BPF programs per request"
    printf '  %-28s %10s %10s %10s\n' program runs/req ns/req ns/run
    awk -v req="${requests[$m]}" '
        { ns[$1] += $2; n[$1] += $3 }
        END {
            for (p in ns) if (n[p] * 100 >= req)
                printf "  %-28s %10.2f %10.0f %10.0f\n", p, n[p] / req, ns[p] / req, ns[p] / n[p]
        }' "$work/programs-$m" | sort -k3 -g -r
done
