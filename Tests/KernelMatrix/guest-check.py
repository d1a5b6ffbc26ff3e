#!/usr/bin/python3
"""Runs inside one kernel-matrix VM (see run-matrix): proves pipetrace loads
and traces on the kernel the VM booted. Real parts only: pipetrace's own
binary, an http.server answering with sendfile() (and the same behind
OpenSSL, through Python's ssl), a client sending exact bytes on loopback,
and the kernel's own record of each BPF program's verifier work
(verified_insns in the program's fdinfo).

Prints one line per step, `kernel-matrix [<kernel>] <step>: ok|FAIL ...`,
and exits non-zero when a step failed.

    guest-check.py PIPETRACE WORKDIR       the checks (WORKDIR: writable, for logs)
    guest-check.py serve PORTFILE BODYFILE CERT KEY   the HTTP and HTTPS servers (started by the checks)
    guest-check.py client PORT PATH         one exchange (run by the checks inside a container's cgroup)
"""
import http.server
import json
import os
import re
import signal
import socket
import ssl  # loaded before pipetrace starts, so its libssl is found at start
import subprocess
import sys
import threading
import time

# Each program must verify within 10% of the verifier's 1M-instruction limit.
INSN_BUDGET = 100_000
# A deadline so a hung step fails the run instead of stalling CI; not a speed target.
STEP_DEADLINE = 600

KERNEL = os.uname().release
failures = []


def report(step, ok, detail=""):
    line = f"kernel-matrix [{KERNEL}] {step}: {'ok' if ok else 'FAIL'}{' ' + detail if detail else ''}"
    print(line, flush=True)
    if not ok:
        failures.append(step)


class SendfileHandler(http.server.BaseHTTPRequestHandler):
    """Answers every GET with the body file, its bytes sent by sendfile()."""
    body_path = None

    def do_GET(self):
        with open(self.body_path, "rb") as body:
            size = os.fstat(body.fileno()).st_size
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            self.wfile.flush()
            self.connection.sendfile(body)

    def log_message(self, *args):
        pass


class TLSHandler(SendfileHandler):
    """The same answer through OpenSSL (no sendfile: the bytes must pass SSL_write)."""

    def do_GET(self):
        with open(self.body_path, "rb") as body:
            data = body.read()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(port_file, body_path, cert, key):
    SendfileHandler.body_path = body_path
    plain = http.server.HTTPServer(("127.0.0.1", 0), SendfileHandler)
    tls = http.server.HTTPServer(("127.0.0.1", 0), TLSHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    tls.socket = context.wrap_socket(tls.socket, server_side=True)
    with open(port_file + ".tmp", "w") as f:
        f.write(f"{plain.server_address[1]} {tls.server_address[1]}")
    os.rename(port_file + ".tmp", port_file)
    threading.Thread(target=tls.serve_forever, daemon=True).start()
    plain.serve_forever()


def exchange(port, path, cafile=None):
    """One request with exact bytes, over TLS when `cafile` is given; returns (request, response)."""
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Kernel: {KERNEL}\r\n"
               "Connection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port)) as raw:
        s = ssl.create_default_context(cafile=cafile).wrap_socket(raw, server_hostname="localhost") if cafile else raw
        s.sendall(request)
        response = b""
        while chunk := s.recv(65536):
            response += chunk
    return request, response


def wait_for_line(proc, marker, log):
    """Reads the process' stderr until `marker`; returns the seconds it took."""
    start = time.monotonic()
    while True:
        line = proc.stderr.readline()
        if not line:
            raise RuntimeError(f"exited (status {proc.wait()}) before '{marker}'")
        log.write(line)
        if marker in line:
            return time.monotonic() - start
        if time.monotonic() - start > STEP_DEADLINE:
            raise RuntimeError(f"no '{marker}' within {STEP_DEADLINE} s")


def stop(proc, log):
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    log.write(rest)
    return proc.wait(timeout=STEP_DEADLINE), rest


def verified_insns(pid):
    """{program name: instructions the verifier processed} for the BPF programs `pid` holds.
    Names from bpftool (which reads the full name from BTF), counts from fdinfo."""
    shown = json.loads(subprocess.run(["bpftool", "prog", "show", "--json"], capture_output=True,
                                      text=True, check=True).stdout)
    names = {p["id"]: p["name"] for p in shown}
    counts = {}
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                info = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
        except OSError:
            continue
        if "prog_id" in info and "verified_insns" in info:
            prog_id = int(info["prog_id"])
            counts[names.get(prog_id, f"id {prog_id}")] = int(info["verified_insns"])
    return counts


def check_doctor(pipetrace, workdir):
    start = time.monotonic()
    run = subprocess.run([pipetrace, "doctor"], capture_output=True, text=True)
    took = time.monotonic() - start
    with open(f"{workdir}/doctor.txt", "w") as f:
        f.write(run.stdout + run.stderr)
    # "  socket I/O         active     bytes read and ..." under "probe features:".
    features = dict(re.findall(r"^  (\S.*?)\s{2,}(active|degraded|off)\s", run.stdout, re.MULTILINE))
    # Every feature works on the kernels of the matrix (README's Kernels table): one that
    # does not is a failure here, not a quiet degradation.
    degraded = [name for name, state in features.items() if state == "degraded"]
    detail = (f"exit {run.returncode}, {took:.1f} s (load, verify, attach, detach); "
              + ", ".join(f"{name} {state}" for name, state in features.items()))
    if run.returncode != 0 or degraded or not features:
        # The features with the verifier's reasons, or the end of what doctor said.
        text = run.stdout + run.stderr
        shown = text.split("probe features:\n", 1)[1].split("\n\n", 1)[0] if degraded else text.strip()[-3000:]
        detail += "\n" + "\n".join("    " + l for l in shown.splitlines())
    report("doctor", run.returncode == 0 and bool(features) and not degraded, detail)


def check_events(pipetrace, workdir, ports, body, server_pid, cafile):
    port, tls_port = ports
    out_path = f"{workdir}/events.json"
    with open(out_path, "wb") as out, open(f"{workdir}/events.stderr", "w") as log:
        proc = subprocess.Popen([pipetrace, "events", "--json"], stdout=out, stderr=subprocess.PIPE, text=True)
        try:
            loaded = wait_for_line(proc, "pipetrace: tracing", log)
            report("events: probe loaded", True, f"in {loaded:.1f} s")
            counts = verified_insns(proc.pid)
            for name, n in sorted(counts.items()):
                print(f"kernel-matrix [{KERNEL}]   verified_insns {n:>8}  {name}")
            over = [f"{name} ({n})" for name, n in counts.items() if n > INSN_BUDGET]
            report("verifier budget", bool(counts) and not over,
                   f"{len(counts)} programs, most {max(counts.values(), default=0)} insns, budget {INSN_BUDGET}"
                   + (f"; over: {', '.join(over)}" if over else ""))
            request, response = exchange(port, f"/kernel-matrix/events-{os.getpid()}")
            tls_request, tls_response = exchange(tls_port, f"/kernel-matrix/tls-{os.getpid()}", cafile)
        finally:
            status, _ = stop(proc, log)
    report("events: HTTP exchanges", all(r.startswith(b"HTTP/1.0 200") and r.endswith(body)
                                         for r in (response, tls_response)),
           f"{len(response)} bytes of response, {len(tls_response)} over TLS")
    events = [json.loads(line) for line in open(out_path, "rb") if line.strip()]
    data = [e for e in events if e.get("type") == "data"]

    def payloads(pid, syscall=None):
        return [e["payload"].encode("latin-1") for e in data
                if e["pid"] == pid and (syscall is None or e["syscall"] == syscall)]

    report("events: exit status", status == 0, f"exit {status}, {len(events)} events")
    report("events: request bytes as sent", request in payloads(os.getpid()),
           f"client's write of {len(request)} bytes")
    report("events: request bytes as received", request in payloads(server_pid),
           f"server's read of {len(request)} bytes")
    sendfile = payloads(server_pid, "sendfile")
    report("events: sendfile payload", body in sendfile,
           f"{len(body)} body bytes, {len(sendfile)} sendfile events: {[p[:40] for p in sendfile]}")
    report("events: TLS plaintext", tls_request in payloads(os.getpid(), "ssl_write")
           and tls_request in payloads(server_pid, "ssl_read"),
           f"the {len(tls_request)}-byte request as the client's SSL_write and the server's SSL_read")


# A docker container as the runtime leaves it: its cgroup v2 scope and, below the
# host root pipetrace reads ($PIPETRACE_HOST_ROOT), its config.v2.json with the name.
CONTAINER_ID = "4b1d" * 16
CONTAINER_NAME = "kernel-matrix-client"


def container_cgroup(workdir):
    """The cgroup v2 directory of the fake container (cgroup2 mounted if the VM has not)."""
    mounts = [line.split() for line in open("/proc/mounts")]
    root = next((m[1] for m in mounts if m[2] == "cgroup2"), None)
    if root is None:
        root = f"{workdir}/cgroup2"
        os.makedirs(root, exist_ok=True)
        subprocess.run(["mount", "-t", "cgroup2", "none", root], check=True)
    path = f"{root}/system.slice/docker-{CONTAINER_ID}.scope"
    os.makedirs(path, exist_ok=True)
    state = f"{workdir}/host-root/var/lib/docker/containers/{CONTAINER_ID}"
    os.makedirs(state, exist_ok=True)
    with open(f"{state}/config.v2.json", "w") as f:
        json.dump({"ID": CONTAINER_ID, "Name": f"/{CONTAINER_NAME}"}, f)
    return path


def check_watch(pipetrace, workdir, port):
    out_path = f"{workdir}/watch.json"
    target = f"/kernel-matrix/watch-{os.getpid()}"
    cgroup = container_cgroup(workdir)
    env = dict(os.environ, PIPETRACE_HOST_ROOT=f"{workdir}/host-root")
    with open(out_path, "wb") as out, open(f"{workdir}/watch.stderr", "w") as log:
        proc = subprocess.Popen([pipetrace, "watch", "--json"], stdout=out, stderr=subprocess.PIPE, text=True, env=env)
        try:
            loaded = wait_for_line(proc, "pipetrace: watching requests", log)
            # The client runs in the container's cgroup, joined before it connects.
            client = subprocess.run([sys.executable, __file__, "client", str(port), target],
                                    preexec_fn=lambda: open(f"{cgroup}/cgroup.procs", "w").write(str(os.getpid())))
        finally:
            status, _ = stop(proc, log)
            try:
                os.rmdir(cgroup)
            except OSError:
                pass
    records = [json.loads(line) for line in open(out_path, "rb") if line.strip()]
    mine = [r for r in records if r.get("target") == target]
    detail = f"{len(records)} records, for the exchange: " + (json.dumps(mine[0]) if mine else "none")
    report("watch", client.returncode == 0 and status == 0
           and any(r.get("method") == "GET" and r.get("status") == 200 for r in mine),
           f"loaded in {loaded:.1f} s, exit {status}, " + detail)
    clients = [r.get("client", {}) for r in mine]
    report("container naming", any(c.get("container") == CONTAINER_NAME and c.get("container_id") == CONTAINER_ID[:12]
                                   for c in clients),
           f"the client in docker-{CONTAINER_ID[:12]}….scope named {CONTAINER_NAME!r}: "
           + (json.dumps(clients[0]) if clients else "no record"))


def main(pipetrace, workdir):
    with open("/proc/uptime") as f:
        print(f"kernel-matrix [{KERNEL}] booted: {float(f.read().split()[0]):.1f} s from kernel start to this check",
              flush=True)
    check_doctor(pipetrace, workdir)
    body = (f"body of the kernel-matrix check on {KERNEL}, sent by sendfile()\n" * 8).encode()
    body_path, port_file = f"{workdir}/body.txt", f"{workdir}/port"
    cert, key = f"{workdir}/cert.pem", f"{workdir}/key.pem"
    with open(body_path, "wb") as f:
        f.write(body)
    if os.path.exists(port_file):
        os.remove(port_file)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    server = subprocess.Popen([sys.executable, __file__, "serve", port_file, body_path, cert, key])
    try:
        while not os.path.exists(port_file):
            if server.poll() is not None:
                raise RuntimeError("the HTTP server exited")
            time.sleep(0.05)
        ports = [int(p) for p in open(port_file).read().split()]
        check_events(pipetrace, workdir, ports, body, server.pid, cert)
        check_watch(pipetrace, workdir, ports[0])
    finally:
        server.kill()
    print(f"kernel-matrix [{KERNEL}] {'FAILED: ' + ', '.join(failures) if failures else 'all checks passed'}",
          flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(*sys.argv[2:6])
    elif sys.argv[1] == "client":
        exchange(int(sys.argv[2]), sys.argv[3])
    else:
        try:
            sys.exit(main(sys.argv[1], sys.argv[2]))
        except Exception as e:  # a step that could not run is a failure, named
            print(f"kernel-matrix [{KERNEL}] FAIL: {type(e).__name__}: {e}", flush=True)
            sys.exit(1)
