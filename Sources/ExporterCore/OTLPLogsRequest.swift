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
        var text: [UInt8] = []
        body(span, into: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// `body`'s UTF-8, appended to `text`: built from bytes, without string
    /// interpolation or Foundation's costly number formatting.
    static func body(_ span: OTLPSpan, into text: inout [UInt8]) {
        let r = span.record
        text.append(contentsOf: "slow request: ".utf8)
        if let method = r.method { text.append(contentsOf: method.utf8) } else { text.append(contentsOf: r.protocolName.uppercased().utf8) }
        text.append(UInt8(ascii: " "))
        if let target = r.target { text.append(contentsOf: target.utf8) }
        text.append(contentsOf: " took ".utf8)
        // Milliseconds to 3 decimals (rounded to the microsecond).
        let micros = (r.duration + 500) / 1000
        decimal(micros / 1000, into: &text)
        text.append(UInt8(ascii: "."))
        let fraction = micros % 1000
        text.append(UInt8(ascii: "0") + UInt8(fraction / 100))
        text.append(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
        text.append(UInt8(ascii: "0") + UInt8(fraction % 10))
        text.append(contentsOf: " ms".utf8)
        if let hop = r.hop {
            text.append(contentsOf: " (".utf8)
            text.append(contentsOf: hop.utf8)
            text.append(UInt8(ascii: ")"))
        }
    }

    static func decimal(_ value: UInt64, into text: inout [UInt8]) {
        if value >= 10 { decimal(value / 10, into: &text) }
        text.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    public func encoded() -> [UInt8] {
        var encoder = OTLPEncoder()
        return encoder.logs(spans, threshold: threshold)
    }
}
