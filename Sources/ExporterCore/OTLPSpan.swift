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

    /// A 16-byte trace id as two numbers, its high half first on the wire.
    struct TraceID: Sendable, Hashable {
        var high: UInt64
        var low: UInt64
    }

    public var record: RequestRecord
    public var kind: Kind
    /// The ids as numbers (their bytes big-endian on the wire), so a span
    /// holds no arrays of its own; 0 stands for an absent id (an all-zero id
    /// is invalid in OTLP, and `SpanLinker` never makes one).
    var trace: TraceID
    var span: UInt64
    var parent: UInt64
    /// Kafka: the spans of the other end of the batches this one's exchange produced or fetched.
    public var links: [OTLPSpanLink] = []

    init(record: RequestRecord, kind: Kind, trace: TraceID, span: UInt64, parent: UInt64) {
        self.record = record
        self.kind = kind
        self.trace = trace
        self.span = span
        self.parent = parent
    }

    /// `traceID` 16 bytes, `spanID` 8, `parentSpanID` 8 or empty for a root (other lengths are cut or zero-filled).
    public init(record: RequestRecord, kind: Kind, traceID: [UInt8], spanID: [UInt8], parentSpanID: [UInt8]) {
        self.init(record: record, kind: kind, trace: TraceID(high: Self.number(traceID.prefix(8)), low: Self.number(traceID.dropFirst(8).prefix(8))),
                  span: Self.number(spanID.prefix(8)), parent: Self.number(parentSpanID.prefix(8)))
    }

    /// 16 bytes, shared by every span of one hop chain.
    public var traceID: [UInt8] { Self.bytes(trace.high, trace.low) }
    /// 8 bytes, from the record's id (and the kind, for a record of two spans).
    public var spanID: [UInt8] { Self.bytes(span) }
    /// 8 bytes; empty for a root.
    public var parentSpanID: [UInt8] { Self.bytes(parent) }

    /// Up to 8 bytes, big-endian, zero-filled on the right.
    static func number(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(i < bytes.count ? bytes[bytes.startIndex + i] : 0) }
        return v
    }

    static func bytes(_ id: UInt64) -> [UInt8] {
        id == 0 ? [] : withUnsafeBytes(of: id.bigEndian) { Array($0) }
    }

    static func bytes(_ high: UInt64, _ low: UInt64) -> [UInt8] {
        high == 0 && low == 0 ? [] : withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { Array($0) }
    }

    /// Writes an 8-byte id as `bytes` field `field` (nothing when 0).
    static func write(_ field: UInt64, _ id: UInt64, into w: inout ProtobufWriter) {
        guard id != 0 else { return }
        w.tag(field, .lengthDelimited)
        w.varint(8)
        w.fixed64(id.byteSwapped)
    }

    /// Writes a 16-byte id as `bytes` field `field` (nothing when 0).
    static func write(_ field: UInt64, _ high: UInt64, _ low: UInt64, into w: inout ProtobufWriter) {
        guard high != 0 || low != 0 else { return }
        w.tag(field, .lengthDelimited)
        w.varint(16)
        w.fixed64(high.byteSwapped)
        w.fixed64(low.byteSwapped)
    }

    /// Start, Unix nanoseconds. The server's half of a record seen from both
    /// ends starts when the server began reading the request, kept inside
    /// the client's span. A record without that time (read back from JSON)
    /// has its server span centred in the client's (transit taken as equal
    /// both ways).
    public var start: UInt64 {
        let start = UInt64(clamping: record.start)
        guard kind == .server, record.side == .both else { return start }
        guard let serverStart = record.serverStart else { return start &+ (record.network ?? 0) / 2 }
        let latest = start &+ (record.duration - min(record.duration, record.serverTime ?? 0))
        return min(max(UInt64(clamping: serverStart), start), latest)
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
