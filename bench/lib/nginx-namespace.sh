# Sourced by the benchmarks: nginx (1 worker) serving a metrics-sized page
# in a network namespace of its own, reached from the host over a veth pair.
# With TLS=1 nginx serves https (a self-signed certificate made here; keep-alive).
# Sets $ns, $work, $url, $port (NGINX_PORT, default 8080); `nginx_namespace_cleanup` removes everything
# (the caller's EXIT trap must call it).
#
#   nginx_namespace_up PREFIX SUBNET      e.g. nginx_namespace_up ptbench 10.233.0
nginx_namespace_cleanup() {
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    ip link del "$ns-h" 2>/dev/null || true
    rm -rf "$work"
}

nginx_namespace_up() {
    local subnet=$2
    port=${NGINX_PORT:-8080}
    ns="$1$$"
    work=$(mktemp -d)
    chmod 755 "$work" # nginx workers run as nobody: let them read the page (mktemp -d is 0700)
    ip netns add "$ns"
    ip link add "$ns-h" type veth peer name "$ns-n" netns "$ns"
    ip addr add "$subnet.1/24" dev "$ns-h" && ip link set "$ns-h" up
    ip -n "$ns" addr add "$subnet.2/24" dev "$ns-n" && ip -n "$ns" link set "$ns-n" up && ip -n "$ns" link set lo up
    mkdir -p "$work/www"
    python3 -c "print('\n'.join('pipetrace_bench_metric{le=\"%d\"} %d' % (i, i * 7) for i in range(24)))" > "$work/www/metrics"
    chmod 644 "$work/www/metrics"
    local ssl="" scheme=http
    if [ "${TLS:-0}" = 1 ]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bench -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
        ssl=" ssl; ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem"
        scheme=https
    fi
    cat > "$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    server { listen $subnet.2:$port$ssl; root $work/www; location / { default_type text/plain; } }
}
CONF
    ip netns exec "$ns" nginx -c "$work/nginx.conf" -e "$work/error.log"
    url="$scheme://$subnet.2:$port/metrics"
    for _ in $(seq 50); do curl -skf -o /dev/null "$url" && break; sleep 0.1; done
    curl -skf -o /dev/null "$url" || { echo "nginx does not serve $url" >&2; exit 1; }
}
