"""OpenTelemetry Python's OTLP/gRPC span exporter as the pipeline tests'
client: real spans from the SDK, exported in batches, the exporter's own
retries included.

  otlp_client.py HOST:PORT BATCH_SIZE ...

Makes BATCH_SIZE spans per argument and exports each batch with
OTLPSpanExporter (insecure, uncompressed). Every attempt the exporter
makes is timed by a client interceptor on its channel: one JSON line per
call with the method, the status code the exporter got, the serialized
request size, and start_ns/duration_ns on the monotonic clock, counted
from a connected channel (the exporter connects lazily, and again after
UNAVAILABLE); then one line per batch with the exporter's result.
"""
import json
import sys
import time

import grpc
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class Timer(grpc.UnaryUnaryClientInterceptor):
    def __init__(self, channel):
        self.channel = channel

    def intercept_unary_unary(self, continuation, details, request):
        # The clock starts on a connected channel: the call's time, not the connection's.
        grpc.channel_ready_future(self.channel).result(timeout=10)
        start = time.monotonic_ns()
        outcome = continuation(details, request)
        code = outcome.code()
        end = time.monotonic_ns()
        print(json.dumps({"method": details.method, "code": code.value[0], "request_bytes": request.ByteSize(),
                          "start_ns": start, "duration_ns": end - start}), flush=True)
        return outcome


class TimedExporter(OTLPSpanExporter):
    """The exporter, its channel (it makes a new one after UNAVAILABLE) intercepted by Timer."""

    def _initialize_channel_and_stub(self):
        super()._initialize_channel_and_stub()
        self._client = self._stub(grpc.intercept_channel(self._channel, Timer(self._channel)))


finished = InMemorySpanExporter()
provider = TracerProvider(resource=Resource.create({"service.name": "otlp-judge"}))
provider.add_span_processor(SimpleSpanProcessor(finished))
tracer = provider.get_tracer("pipetrace.tests")
exporter = TimedExporter(endpoint=sys.argv[1], insecure=True, compression=grpc.Compression.NoCompression)
for batch, size in enumerate(sys.argv[2:]):
    finished.clear()
    for i in range(int(size)):
        with tracer.start_as_current_span(f"work {batch}.{i}") as span:
            span.set_attribute("batch", batch)
    result = exporter.export(finished.get_finished_spans())
    print(json.dumps({"batch": batch, "result": result.name}), flush=True)
exporter.shutdown()
