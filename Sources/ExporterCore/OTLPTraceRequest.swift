import Analyzer

/// OTLP's `ExportTraceServiceRequest` (opentelemetry-proto
/// collector/trace/v1 and trace/v1), only the fields pipetrace sends:
///
///     ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
///     ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
///     Resource      { repeated KeyValue attributes = 1; }
///     ScopeSpans    { InstrumentationScope scope = 1; repeated Span spans = 2; }
///     InstrumentationScope { string name = 1; }
///     Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5;
///            SpanKind kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
///            repeated KeyValue attributes = 9; Status status = 15; }
///     Status { string message = 2; StatusCode code = 3; }
///
/// The spans `SpanLinker` made (one per record seen from one end, CLIENT
/// and SERVER for a record seen from both), grouped by resource
/// (`service.name` = the container of the end that made the span). Status
/// ERROR for a 5xx, for a 4xx on a CLIENT span (as the HTTP conventions
/// say: a 4xx is the client's error, not the server's), and for no response.
public struct OTLPTraceRequest: Sendable {
    public static let scopeName = "pipetrace"

    public var spans: [OTLPSpan]

    public init(spans: [OTLPSpan]) {
        self.spans = spans
    }

    /// "GET /items/{id}": method and templated target, low cardinality as span names should be.
    /// gRPC: the full method ("pkg.Service/Method"), as the semantic conventions name RPC spans.
    public static func name(_ r: RequestRecord) -> String {
        if r.protocolName == "grpc" { return r.method ?? "grpc" }
        let template = TargetTemplate.make(r.target)
        let method = r.method ?? r.protocolName.uppercased()
        return template.isEmpty ? method : "\(method) \(template)"
    }

    /// The status message when the span is an error, else nil.
    public static func error(_ span: OTLPSpan) -> String? {
        guard let status = span.record.status, let outcome = span.record.outcome else { return "no response" }
        // The semantic conventions: a server's span is an error when the server
        // failed; a client's whenever the call did not succeed.
        switch outcome {
        case .ok: return nil
        case .serverError, .timeout: break
        case .clientError, .cancelled: guard span.kind == .client else { return nil }
        }
        return span.record.protocolName == "grpc" ? "gRPC status \(status)" : "HTTP \(status)"
    }

    public func encoded() -> [UInt8] {
        var encoder = OTLPEncoder()
        return encoder.traces(spans)
    }
}
