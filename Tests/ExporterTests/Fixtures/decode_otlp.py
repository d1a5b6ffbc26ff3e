"""Decodes an OTLP/HTTP protobuf body from stdin with the opentelemetry-proto
package (independent of pipetrace) and prints one JSON line per span
(`decode_otlp.py traces`) or per log record (`decode_otlp.py logs`):
ids as hex, enums by name, attributes as {key: value} with the AnyValue
member that was set ({"int": 3}, {"string": "x"}, ...)."""
import json
import sys

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import SeverityNumber
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status


def value(v):
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    return {kind.replace("_value", ""): getattr(v, kind)}


def attributes(kvs):
    out = {}
    for kv in kvs:
        if kv.key in out:
            raise SystemExit("duplicate attribute " + kv.key)
        out[kv.key] = value(kv.value)
    return out


body = sys.stdin.buffer.read()
if sys.argv[1] == "traces":
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            for s in ss.spans:
                links = [{"trace_id": l.trace_id.hex(), "span_id": l.span_id.hex(), "attributes": attributes(l.attributes)}
                         for l in s.links]
                print(json.dumps({
                    **({"links": links} if links else {}),
                    "resource": attributes(rs.resource.attributes), "scope": ss.scope.name,
                    "trace_id": s.trace_id.hex(), "span_id": s.span_id.hex(), "parent_span_id": s.parent_span_id.hex(),
                    "name": s.name, "kind": Span.SpanKind.Name(s.kind),
                    "start": s.start_time_unix_nano, "end": s.end_time_unix_nano,
                    "attributes": attributes(s.attributes),
                    "status": {"code": Status.StatusCode.Name(s.status.code), "message": s.status.message},
                }, sort_keys=True))
else:
    request = ExportLogsServiceRequest()
    request.ParseFromString(body)
    for rl in request.resource_logs:
        for sl in rl.scope_logs:
            for r in sl.log_records:
                print(json.dumps({
                    "resource": attributes(rl.resource.attributes), "scope": sl.scope.name,
                    "time": r.time_unix_nano, "observed_time": r.observed_time_unix_nano,
                    "severity_number": SeverityNumber.Name(r.severity_number), "severity_text": r.severity_text,
                    "body": value(r.body), "attributes": attributes(r.attributes), "event_name": r.event_name,
                    "trace_id": r.trace_id.hex(), "span_id": r.span_id.hex(),
                }, sort_keys=True))
