"""The calling client of the pipeline tests: times its own requests.

  client.py [--tls KEYLOG] [--delay SECONDS] HOST PORT COUNT:PATH ...

Sends the requests in order on one keep-alive connection and prints one JSON
line per request: path, status, bytes, and duration_ns from just before the
request is written to just after the response's last byte is read, measured
with the monotonic clock (the clock the kernel's events use). With --tls it
speaks HTTPS (certificate not verified: the test's own) and writes the
session keys to KEYLOG, as SSLKEYLOGFILE does, so tshark can decrypt.
--delay waits that long after start (its libraries loaded) before connecting.
"""
import http.client
import json
import ssl
import sys
import time

args = sys.argv[1:]
keylog = None
if args[0] == "--tls":
    keylog, args = args[1], args[2:]
if args[0] == "--delay":
    time.sleep(float(args[1]))
    args = args[2:]
host, port = args[0], int(args[1])
paths = []
for arg in args[2:]:
    count, _, path = arg.partition(":")
    paths += [path] * int(count)

if keylog:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.keylog_filename = keylog
    conn = http.client.HTTPSConnection(host, port, context=context)
else:
    conn = http.client.HTTPConnection(host, port)
conn.connect()
local = conn.sock.getsockname()
for path in paths:
    start = time.monotonic_ns()
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    end = time.monotonic_ns()
    print(json.dumps({"path": path, "status": response.status, "bytes": len(body), "start_ns": start,
                      "duration_ns": end - start, "local_port": local[1]}), flush=True)
conn.close()
