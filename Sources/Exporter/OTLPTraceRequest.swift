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
    public static func name(_ r: RequestRecord) -> String {
        let template = TargetTemplate.make(r.target)
        let method = r.method ?? r.protocolName.uppercased()
        return template.isEmpty ? method : "\(method) \(template)"
    }

    /// The status message when the span is an error, else nil.
    public static func error(_ span: OTLPSpan) -> String? {
        guard let status = span.record.status else { return "no response" }
        if status >= 500 || status >= 400 && span.kind == .client { return "HTTP \(status)" }
        return nil
    }

    public func encoded() -> [UInt8] {
        Self.encode(spans) { span, scope in Self.write(span, into: &scope) }
    }

    /// The envelope traces and logs share: per resource (the container of
    /// the end that made the span) its attributes, then one `pipetrace` scope holding what
    /// `item` writes for each span of that resource.
    static func encode(_ spans: [OTLPSpan], _ item: (OTLPSpan, inout ProtobufWriter) -> Void) -> [UInt8] {
        // About 650 bytes per span with its attributes: the demo's chains encode to 620.
        var w = ProtobufWriter(capacity: spans.count * 650)
        for group in byResource(spans) {
            w.messageField(1) { resourceItems in
                resourceItems.messageField(1) { res in
                    for a in OTLPAttribute.resource(of: group[0]) { a.write(1, into: &res) }
                }
                resourceItems.messageField(2) { scopeItems in
                    scopeItems.messageField(1) { scope in scope.stringField(1, scopeName) }
                    for span in group { item(span, &scopeItems) }
                }
            }
        }
        return w.bytes
    }

    static func write(_ span: OTLPSpan, into w: inout ProtobufWriter) {
        let r = span.record
        w.messageField(2) { s in
            s.bytesField(1, span.traceID)
            s.bytesField(2, span.spanID)
            s.bytesField(4, span.parentSpanID)
            s.stringField(5, name(r))
            s.varintField(6, span.kind.rawValue)
            s.fixed64Field(7, span.start)
            s.fixed64Field(8, span.end)
            OTLPAttribute.write(of: r, 9, into: &s)
            if let message = error(span) {
                s.messageField(15) { status in
                    status.stringField(2, message)
                    status.varintField(3, 2)  // STATUS_CODE_ERROR
                }
            }
        }
    }

    /// Spans grouped by their resource, groups in order of first appearance.
    static func byResource(_ items: [OTLPSpan]) -> [[OTLPSpan]] {
        var groups: [[OTLPSpan]] = []
        var index: [String: Int] = [:]
        for item in items {
            let key = item.service
            if let i = index[key] { groups[i].append(item) } else {
                index[key] = groups.count
                groups.append([item])
            }
        }
        return groups
    }
}
