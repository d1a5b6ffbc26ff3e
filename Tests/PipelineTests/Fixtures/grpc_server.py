"""The gRPC server of the pipeline tests: grpcio, no generated code.

  grpc_server.py PORT

demo.Echo/Say answers one message (the request reversed); demo.Echo/Fail
aborts with NOT_FOUND "no such item" (a gRPC error on HTTP 200);
demo.Echo/Watch streams N messages of N bytes each, N the request's length.
Prints {"port": PORT} once it serves.
"""
import json
import sys
from concurrent import futures

import grpc


def say(request, context):
    return request[::-1]


def fail(request, context):
    context.abort(grpc.StatusCode.NOT_FOUND, "no such item")


def watch(request, context):
    for i in range(len(request)):
        yield bytes([i % 256]) * len(request)


handlers = grpc.method_handlers_generic_handler("demo.Echo", {
    "Say": grpc.unary_unary_rpc_method_handler(say),
    "Fail": grpc.unary_unary_rpc_method_handler(fail),
    "Watch": grpc.unary_stream_rpc_method_handler(watch),
})
server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
server.add_generic_rpc_handlers((handlers,))
port = server.add_insecure_port(f"0.0.0.0:{sys.argv[1]}")
server.start()
print(json.dumps({"port": port}), flush=True)
server.wait_for_termination()
