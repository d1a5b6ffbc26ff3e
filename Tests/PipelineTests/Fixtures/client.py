"""The calling client of the pipeline tests: times its own requests.

  client.py HOST PORT COUNT:PATH ...

Sends the requests in order on one keep-alive connection and prints one JSON
line per request: path, status, bytes, and duration_ns from just before the
request is written to just after the response's last byte is read, measured
with the monotonic clock (the clock the kernel's events use).
"""
import http.client
import json
import sys
import time

host, port = sys.argv[1], int(sys.argv[2])
paths = []
for arg in sys.argv[3:]:
    count, _, path = arg.partition(":")
    paths += [path] * int(count)

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
