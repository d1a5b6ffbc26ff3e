import Analyzer

/// A request record with its place in a trace: what the OTLP encoders
/// need besides the record itself. Made by `SpanLinker`.
public struct OTLPSpan: Sendable, Hashable {
    public var record: RequestRecord
    /// 16 bytes, shared by every record of one hop chain.
    public var traceID: [UInt8]
    /// 8 bytes, from the record's id.
    public var spanID: [UInt8]
    /// 8 bytes, from `record.parent`; empty for a root.
    public var parentSpanID: [UInt8]

    public init(record: RequestRecord, traceID: [UInt8], spanID: [UInt8], parentSpanID: [UInt8]) {
        self.record = record
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
    }
}
