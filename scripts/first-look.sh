#!/usr/bin/env bash
# A first look at `pipetrace events`: a few seconds of live events while a
# small HTTP server in a network namespace of its own answers a few requests.
# Everything it creates is removed on exit, also on Ctrl-C or failure.
set -euo pipefail
pipetrace=${1:-pipetrace}
ns="ptlook$$"
cleanup() {
    [ -n "${server:-}" ] && kill "$server" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    ip link del "$ns-h" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
ip netns add "$ns"
ip link add "$ns-h" type veth peer name "$ns-n" netns "$ns"
ip addr add 10.232.0.1/24 dev "$ns-h" && ip link set "$ns-h" up
ip -n "$ns" addr add 10.232.0.2/24 dev "$ns-n" && ip -n "$ns" link set "$ns-n" up && ip -n "$ns" link set lo up
ip netns exec "$ns" python3 -m http.server 8080 --bind 10.232.0.2 >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do curl -s -o /dev/null http://10.232.0.2:8080/ && break; sleep 0.1; done

echo
echo "== sudo pipetrace events --time 4 --port 8080   (a server in namespace $ns, curl on the host)"
"$pipetrace" events --time 4 --port 8080 &
tracer=$!
sleep 2
for i in 1 2 3; do curl -s -o /dev/null "http://10.232.0.2:8080/?request=$i"; done
wait "$tracer"
