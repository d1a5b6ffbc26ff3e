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
/// One span per record, grouped by resource (`service.name` = the server
/// container). Kind: CLIENT for a record seen from the client only, SERVER
/// when the server end was seen (`server` or `both`: its children are the
/// requests that server made). Status ERROR for a 5xx, for a 4xx seen from
/// the client only (as the HTTP conventions say), and for no response.
public struct OTLPTraceRequest: Sendable {
    public static let scopeName = "pipetrace"

    public var spans: [OTLPSpan]

    public init(spans: [OTLPSpan]) {
        self.spans = spans
    }

    public enum Kind: UInt64, Sendable {
        case server = 2, client = 3
    }

    public static func kind(_ r: RequestRecord) -> Kind { r.side == .client ? .client : .server }

    /// "GET /items/{id}": method and templated target, low cardinality as span names should be.
    public static func name(_ r: RequestRecord) -> String {
        let template = TargetTemplate.make(r.target)
        let method = r.method ?? r.protocolName.uppercased()
        return template.isEmpty ? method : "\(method) \(template)"
    }

    /// The status message when the span is an error, else nil.
    public static func error(_ r: RequestRecord) -> String? {
        guard let status = r.status else { return "no response" }
        if status >= 500 || status >= 400 && kind(r) == .client { return "HTTP \(status)" }
        return nil
    }

    public func encoded() -> [UInt8] {
        Self.encode(spans) { span, scope in Self.write(span, into: &scope) }
    }

    /// The envelope traces and logs share: per resource (the server
    /// container) its attributes, then one `pipetrace` scope holding what
    /// `item` writes for each span of that resource.
    static func encode(_ spans: [OTLPSpan], _ item: (OTLPSpan, inout ProtobufWriter) -> Void) -> [UInt8] {
        // About 650 bytes per span with its attributes: the demo's chains encode to 620.
        var w = ProtobufWriter(capacity: spans.count * 650)
        for group in byResource(spans, \.record) {
            w.messageField(1) { resourceItems in
                resourceItems.messageField(1) { res in
                    for a in OTLPAttribute.resource(of: group[0].record) { a.write(1, into: &res) }
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
            s.varintField(6, kind(r).rawValue)
            s.fixed64Field(7, UInt64(clamping: r.start))
            s.fixed64Field(8, UInt64(clamping: r.start) &+ r.duration)
            for a in OTLPAttribute.of(r) { a.write(9, into: &s) }
            if let message = error(r) {
                s.messageField(15) { status in
                    status.stringField(2, message)
                    status.varintField(3, 2)  // STATUS_CODE_ERROR
                }
            }
        }
    }

    /// Items grouped by their record's resource, groups in order of first appearance.
    static func byResource<T>(_ items: [T], _ record: (T) -> RequestRecord) -> [[T]] {
        var groups: [[T]] = []
        var index: [String: Int] = [:]
        for item in items {
            let key = record(item).server.container ?? ""
            if let i = index[key] { groups[i].append(item) } else {
                index[key] = groups.count
                groups.append([item])
            }
        }
        return groups
    }
}
