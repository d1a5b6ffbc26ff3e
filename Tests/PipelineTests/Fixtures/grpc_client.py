"""The gRPC client of the pipeline tests: grpcio, its own status codes and clock.

  grpc_client.py HOST:PORT COUNT:METHOD[:SIZE] | wait:FILE ...

Calls /demo.Echo/METHOD COUNT times in order on one channel (one HTTP/2
connection), each with a SIZE-byte request (default 8). Say and Fail are
unary, Watch is server-streaming. Prints one JSON line per call: method,
code (the client's grpc.StatusCode value), messages received, and
duration_ns from just before the call to just after its last message or
status, on the monotonic clock (the kernel events' clock). `wait:FILE`
pauses the calls, the connection kept open, until FILE exists (a test
attaching its probe mid-connection creates it).
"""
import json
import os
import sys
import time

import grpc

channel = grpc.insecure_channel(sys.argv[1])
grpc.channel_ready_future(channel).result(timeout=10)
for arg in sys.argv[2:]:
    parts = arg.split(":")
    if parts[0] == "wait":
        print(json.dumps({"waiting": parts[1]}), flush=True)
        while not os.path.exists(parts[1]):
            time.sleep(0.01)
        continue
    count, method = int(parts[0]), parts[1]
    size = int(parts[2]) if len(parts) > 2 else 8
    path = f"/demo.Echo/{method}"
    for _ in range(count):
        start = time.monotonic_ns()
        messages = 0
        try:
            if method == "Watch":
                for _ in channel.unary_stream(path)(b"x" * size, timeout=10):
                    messages += 1
            else:
                channel.unary_unary(path)(b"x" * size, timeout=10)
                messages = 1
            code = grpc.StatusCode.OK
        except grpc.RpcError as error:
            code = error.code()
        end = time.monotonic_ns()
        print(json.dumps({"method": f"demo.Echo/{method}", "code": code.value[0], "messages": messages,
                          "start_ns": start, "duration_ns": end - start}), flush=True)
channel.close()
