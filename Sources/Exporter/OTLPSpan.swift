import Analyzer

/// One span of a request record, with its place in a trace: what the OTLP
/// encoders need besides the record itself. Made by `SpanLinker`.
///
/// A record seen from one end is one span: CLIENT or SERVER, by that end.
/// A record seen from both ends is two, as the OpenTelemetry conventions
/// model a call between two traced services: a CLIENT span with the
/// client's duration, and under it a SERVER span with the server's time,
/// so the network time is what the client span has around its child. The
/// records of the requests the server made while serving it hang under the
/// SERVER span.
public struct OTLPSpan: Sendable, Hashable {
    /// OTLP's `SpanKind` values pipetrace sends.
    public enum Kind: UInt64, Sendable, Hashable {
        case server = 2, client = 3
    }

    public var record: RequestRecord
    public var kind: Kind
    /// 16 bytes, shared by every span of one hop chain.
    public var traceID: [UInt8]
    /// 8 bytes, from the record's id (and the kind, for a record of two spans).
    public var spanID: [UInt8]
    /// 8 bytes; empty for a root.
    public var parentSpanID: [UInt8]

    public init(record: RequestRecord, kind: Kind, traceID: [UInt8], spanID: [UInt8], parentSpanID: [UInt8]) {
        self.record = record
        self.kind = kind
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
    }

    /// Start, Unix nanoseconds. The server's half of a record seen from both
    /// ends starts half the network time after the client's: the record keeps
    /// the client's start and the server's duration, so the server span sits
    /// centred in the client span (request and response transit taken as equal).
    public var start: UInt64 {
        let start = UInt64(clamping: record.start)
        guard kind == .server, record.side == .both else { return start }
        return start &+ (record.network ?? 0) / 2
    }

    /// End, Unix nanoseconds.
    public var end: UInt64 {
        guard kind == .server, record.side == .both, let serverTime = record.serverTime else { return start &+ record.duration }
        return start &+ serverTime
    }

    /// The span whose duration is the record's (the client's view when there
    /// is one): the one a slow request's log record points at.
    public var spansWholeRecord: Bool { kind == .client || record.side != .both }

    /// `service.name` of the span's resource: the container of the end that
    /// made the span, "pipetrace" when that end is not in a container we know.
    public var service: String {
        (kind == .client ? record.client.container : record.server.container) ?? "pipetrace"
    }
}
