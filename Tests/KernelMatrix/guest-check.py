#!/usr/bin/python3
"""Runs inside one kernel-matrix VM (see run-matrix): proves pipetrace loads
and traces on the kernel the VM booted. Real parts only: pipetrace's own
binary, an http.server answering with sendfile(), a client sending exact
bytes on loopback, and the kernel's own record of each BPF program's
verifier work (verified_insns in the program's fdinfo).

Prints one line per step, `kernel-matrix [<kernel>] <step>: ok|FAIL ...`,
and exits non-zero when a step failed.

    guest-check.py PIPETRACE WORKDIR       the checks (WORKDIR: writable, for logs)
    guest-check.py serve PORTFILE BODYFILE  the HTTP server (started by the checks)
"""
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
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


def serve(port_file, body_path):
    SendfileHandler.body_path = body_path
    server = http.server.HTTPServer(("127.0.0.1", 0), SendfileHandler)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


def exchange(port, path):
    """One request with exact bytes; returns (request bytes, response bytes)."""
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Kernel: {KERNEL}\r\n"
               "Connection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port)) as s:
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
    notes = [l.strip() for l in run.stdout.splitlines() if "degraded" in l.lower() or "MISSING" in l]
    for note in notes:
        print(f"kernel-matrix [{KERNEL}]   doctor says: {note}")
    detail = f"exit {run.returncode}, {took:.1f} s (load, verify, attach, detach)"
    if run.returncode != 0:
        detail += "\n" + "\n".join("    " + l for l in (run.stdout + run.stderr).strip().splitlines()[-15:])
    report("doctor", run.returncode == 0, detail)


def check_events(pipetrace, workdir, port, body, server_pid):
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
        finally:
            status, _ = stop(proc, log)
    report("events: HTTP exchange", response.startswith(b"HTTP/1.0 200") and response.endswith(body),
           f"{len(response)} bytes of response")
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


def check_watch(pipetrace, workdir, port):
    out_path = f"{workdir}/watch.json"
    target = f"/kernel-matrix/watch-{os.getpid()}"
    with open(out_path, "wb") as out, open(f"{workdir}/watch.stderr", "w") as log:
        proc = subprocess.Popen([pipetrace, "watch", "--json"], stdout=out, stderr=subprocess.PIPE, text=True)
        try:
            loaded = wait_for_line(proc, "pipetrace: watching requests", log)
            exchange(port, target)
        finally:
            status, _ = stop(proc, log)
    records = [json.loads(line) for line in open(out_path, "rb") if line.strip()]
    mine = [r for r in records if r.get("target") == target]
    report("watch", status == 0 and any(r.get("method") == "GET" and r.get("status") == 200 for r in mine),
           f"loaded in {loaded:.1f} s, exit {status}, {len(records)} records, for the exchange: "
           + (json.dumps(mine[0]) if mine else "none"))


def main(pipetrace, workdir):
    with open("/proc/uptime") as f:
        print(f"kernel-matrix [{KERNEL}] booted: {float(f.read().split()[0]):.1f} s from kernel start to this check",
              flush=True)
    check_doctor(pipetrace, workdir)
    body = (f"body of the kernel-matrix check on {KERNEL}, sent by sendfile()\n" * 8).encode()
    body_path, port_file = f"{workdir}/body.txt", f"{workdir}/port"
    with open(body_path, "wb") as f:
        f.write(body)
    server = subprocess.Popen([sys.executable, __file__, "serve", port_file, body_path])
    try:
        while not os.path.exists(port_file):
            if server.poll() is not None:
                raise RuntimeError("the HTTP server exited")
            time.sleep(0.05)
        port = int(open(port_file).read())
        check_events(pipetrace, workdir, port, body, server.pid)
        check_watch(pipetrace, workdir, port)
    finally:
        server.kill()
    print(f"kernel-matrix [{KERNEL}] {'FAILED: ' + ', '.join(failures) if failures else 'all checks passed'}",
          flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3])
    else:
        try:
            sys.exit(main(sys.argv[1], sys.argv[2]))
        except Exception as e:  # a step that could not run is a failure, named
            print(f"kernel-matrix [{KERNEL}] FAIL: {type(e).__name__}: {e}", flush=True)
            sys.exit(1)
