/// OTLP's `ExportLogsServiceRequest` (opentelemetry-proto collector/logs/v1
/// and logs/v1): one WARN log record per slow request, carrying its span's
/// trace and span ids so a backend links the log to the trace.
///
///     ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
///     ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; }
///     ScopeLogs    { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; }
///     LogRecord { fixed64 time_unix_nano = 1; SeverityNumber severity_number = 2; string severity_text = 3;
///                 AnyValue body = 5; repeated KeyValue attributes = 6; bytes trace_id = 9; bytes span_id = 10;
///                 fixed64 observed_time_unix_nano = 11; string event_name = 12; }
///
/// Given the spans that stand for whole records (`OTLPSpan.spansWholeRecord`).
/// The time is the request's end (when it was known to be slow); the
/// attributes are the span's plus `pipetrace.duration_ms` and `pipetrace.slow_ms`.
public struct OTLPLogsRequest: Sendable {
    public static let eventName = "pipetrace.slow_request"
    /// SEVERITY_NUMBER_WARN.
    public static let severityNumber: UInt64 = 13

    public var spans: [OTLPSpan]
    /// The slow threshold the records crossed (nanoseconds), reported on each.
    public var threshold: UInt64

    public init(spans: [OTLPSpan], threshold: UInt64) {
        self.spans = spans
        self.threshold = threshold
    }

    /// "slow request: GET /items/3 took 612.400 ms (collector→lb)".
    public static func body(_ span: OTLPSpan) -> String {
        let r = span.record
        var text = "slow request: \(r.method ?? r.protocolName.uppercased()) \(r.target ?? "") took "
        // Milliseconds to 3 decimals (rounded to the microsecond), without Foundation's costly formatter.
        let micros = (r.duration + 500) / 1000
        let fraction = String(micros % 1000)
        text += "\(micros / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction) ms"
        if let hop = r.hop { text += " (\(hop))" }
        return text
    }

    public func encoded() -> [UInt8] {
        OTLPTraceRequest.encode(spans) { span, scope in
            let r = span.record
            let end = span.end
            scope.messageField(2) { log in
                log.fixed64Field(1, end)
                log.varintField(2, Self.severityNumber)
                log.stringField(3, "WARN")
                log.messageField(5) { any in any.stringField(1, Self.body(span), presence: .explicit) }
                OTLPAttribute.write(of: r, 6, into: &log)
                OTLPAttribute.write("pipetrace.duration_ms", .double(Double(r.duration) / 1e6), 6, into: &log)
                OTLPAttribute.write("pipetrace.slow_ms", .double(Double(threshold) / 1e6), 6, into: &log)
                log.bytesField(9, span.traceID)
                log.bytesField(10, span.spanID)
                log.fixed64Field(11, end)
                log.stringField(12, Self.eventName)
            }
        }
    }
}
