"""An OTLP/gRPC trace receiver for the pipeline tests: grpcio serving the
collector's TraceService with opentelemetry-proto's generated code.

  otlp_server.py PORT [CODE ...]

The first calls fail, in order, with the gRPC status codes named
(UNAVAILABLE, RESOURCE_EXHAUSTED, ...), each with a RetryInfo of 50 ms in
its trailers, as a collector under pressure answers; every later call
succeeds. Prints {"port": PORT} once it serves, then one JSON line per
call: the status code it returned, the request's serialized size, its
span count, and start_ns/duration_ns of the handler on the monotonic
clock (the kernel events' clock), before it answers. Runs until killed.
"""
import json
import sys
import threading
import time
from concurrent import futures

import grpc
from google.protobuf.duration_pb2 import Duration
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

failures = [grpc.StatusCode[name] for name in sys.argv[2:]]
lock = threading.Lock()
retry = RetryInfo(retry_delay=Duration(nanos=50_000_000)).SerializeToString()


class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def Export(self, request, context):
        start = time.monotonic_ns()
        with lock:
            code = failures.pop(0) if failures else grpc.StatusCode.OK
        spans = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        line = {"code": code.value[0], "request_bytes": request.ByteSize(), "spans": spans, "start_ns": start}
        if code != grpc.StatusCode.OK:
            context.set_trailing_metadata((("google.rpc.retryinfo-bin", retry),))
            line["duration_ns"] = time.monotonic_ns() - start
            print(json.dumps(line), flush=True)
            context.abort(code, "receiver is busy")
        response = trace_service_pb2.ExportTraceServiceResponse()
        line["duration_ns"] = time.monotonic_ns() - start
        print(json.dumps(line), flush=True)
        return response


server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(), server)
port = server.add_insecure_port(f"0.0.0.0:{sys.argv[1]}")
server.start()
print(json.dumps({"port": port}), flush=True)
server.wait_for_termination()
