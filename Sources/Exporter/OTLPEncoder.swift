import Analyzer

/// Encodes `OTLPSpan`s into `ExportTraceServiceRequest` bodies and the slow
/// ones also into `ExportLogsServiceRequest` bodies (the messages are
/// described on `OTLPTraceRequest` and `OTLPLogsRequest`), doing once what
/// the spans of a batch share:
/// - a record seen from both ends is two spans (and, when slow, a log
///   record) with the same name and attributes: they are encoded once per
///   record and copied into each;
/// - span names (`TargetTemplate` of the target) are remembered per
///   method and target across batches, up to `maxCachedNames` of them;
/// - the request is built in one buffer, kept from batch to batch.
///
/// The sink keeps one encoder (it is not thread-safe: a value the caller
/// mutates); `OTLPTraceRequest` and `OTLPLogsRequest` use a fresh one.
public struct OTLPEncoder: Sendable {
    struct NameKey: Hashable {
        var method: String?
        var protocolName: String
        var target: String?
    }

    /// What the spans of one record share: the span name and the encoded
    /// attributes (`KeyValue`s as span field 9), a range of `attributes`.
    struct Shared {
        var name: String
        var attributes: Range<Int>
    }

    public let maxCachedNames: Int
    private var names: [NameKey: String] = [:]
    private var attributes = ProtobufWriter()
    private var output = ProtobufWriter()
    private var text: [UInt8] = []

    public init(maxCachedNames: Int = 4096) {
        self.maxCachedNames = maxCachedNames
    }

    /// The span name of `r` (`OTLPTraceRequest.name`), from the cache when it was seen.
    mutating func name(_ r: RequestRecord) -> String {
        let key = NameKey(method: r.method, protocolName: r.method == nil ? r.protocolName : "", target: r.target)
        if let name = names[key] { return name }
        if names.count >= maxCachedNames { names.removeAll(keepingCapacity: true) }
        let name = OTLPTraceRequest.name(r)
        names[key] = name
        return name
    }

    /// Per span, its record's share; two spans of one record come one after
    /// the other (as `SpanLinker` makes them) and get the same.
    mutating func share(_ spans: [OTLPSpan]) -> [Shared] {
        attributes.reset()
        var out: [Shared] = []
        out.reserveCapacity(spans.count)
        for i in spans.indices {
            let r = spans[i].record
            if i > 0, let last = out.last, spans[i - 1].record.id == r.id, spans[i - 1].record.start == r.start {
                out.append(last)
                continue
            }
            let from = attributes.bytes.count
            OTLPAttribute.write(of: r, 9, into: &attributes)
            out.append(Shared(name: name(r), attributes: from..<attributes.bytes.count))
        }
        return out
    }

    /// Encodes `spans` as traces and hands the request to `body` (the bytes
    /// are the encoder's buffer: `body` copies what it keeps); then, for the
    /// spans that stand for a whole record (`OTLPSpan.spansWholeRecord`) and
    /// lasted `slowThreshold` or more, the logs request and their count.
    public mutating func encode(_ spans: [OTLPSpan], slowThreshold: UInt64,
                                traces: ([UInt8]) -> Void, logs: ([UInt8], Int) -> Void) {
        let shared = share(spans)
        traces(encode(spans, spans.indices, shared, signal: .traces, threshold: slowThreshold))
        let slow = spans.indices.filter { spans[$0].spansWholeRecord && spans[$0].record.duration >= slowThreshold }
        if !slow.isEmpty { logs(encode(spans, slow, shared, signal: .logs, threshold: slowThreshold), slow.count) }
    }

    /// `ExportTraceServiceRequest` of `spans`.
    public mutating func traces(_ spans: [OTLPSpan]) -> [UInt8] {
        let shared = share(spans)
        return encode(spans, spans.indices, shared, signal: .traces, threshold: 0)
    }

    /// `ExportLogsServiceRequest` with a log record for each of `spans`.
    public mutating func logs(_ spans: [OTLPSpan], threshold: UInt64) -> [UInt8] {
        let shared = share(spans)
        return encode(spans, spans.indices, shared, signal: .logs, threshold: threshold)
    }

    /// The envelope traces and logs share: per resource (the container of
    /// the end that made the span) its attributes, then one `pipetrace`
    /// scope holding a span or log record for each of `selected`.
    private mutating func encode(_ spans: [OTLPSpan], _ selected: some Collection<Int>, _ shared: [Shared],
                                 signal: OTLPSink.Signal, threshold: UInt64) -> [UInt8] {
        var w = ProtobufWriter()
        swap(&w, &output)
        w.reset()
        // About 650 bytes per span with its attributes: the demo's chains encode to 620.
        w.reserve(selected.count * 650)
        let attributes = attributes.bytes
        for group in Self.byResource(spans, selected) {
            w.messageField(1) { resourceItems in
                resourceItems.messageField(1) { res in
                    OTLPAttribute.write("service.name", .string(Substring(spans[group[0]].service)), 1, into: &res)
                }
                resourceItems.messageField(2) { scopeItems in
                    scopeItems.messageField(1) { scope in scope.stringField(1, OTLPTraceRequest.scopeName) }
                    for i in group {
                        switch signal {
                        case .traces: Self.writeSpan(spans[i], shared[i], attributes, into: &scopeItems)
                        case .logs: Self.writeLog(spans[i], shared[i], attributes, threshold, &text, into: &scopeItems)
                        }
                    }
                }
            }
        }
        swap(&w, &output)
        return output.bytes
    }

    /// A span, its length counted first, so its body is written in place and never moved.
    static func writeSpan(_ span: OTLPSpan, _ shared: Shared, _ attributes: [UInt8], into w: inout ProtobufWriter) {
        let start = span.start, end = span.end
        let error = OTLPTraceRequest.error(span)
        let status = error.map { Self.size($0.utf8.count) + 2 } ?? 0
        let length = (span.trace != OTLPSpan.TraceID(high: 0, low: 0) ? 18 : 0) + (span.span != 0 ? 10 : 0) + (span.parent != 0 ? 10 : 0)
            + size(shared.name.utf8.count) + 1 + ProtobufWriter.varintSize(span.kind.rawValue)
            + (start != 0 ? 9 : 0) + (end != 0 ? 9 : 0) + shared.attributes.count
            + (error != nil ? 1 + ProtobufWriter.varintSize(UInt64(status)) + status : 0)
        w.tag(2, .lengthDelimited)
        w.varint(UInt64(length))
        let from = w.bytes.count
        OTLPSpan.write(1, span.trace.high, span.trace.low, into: &w)
        OTLPSpan.write(2, span.span, into: &w)
        OTLPSpan.write(4, span.parent, into: &w)
        w.stringField(5, shared.name)
        w.varintField(6, span.kind.rawValue)
        w.fixed64Field(7, start)
        w.fixed64Field(8, end)
        w.append(attributes[shared.attributes])
        if let error {
            w.tag(15, .lengthDelimited)
            w.varint(UInt64(status))
            w.stringField(2, error)
            w.varintField(3, 2)  // STATUS_CODE_ERROR
        }
        assert(w.bytes.count - from == length, "span length counted wrong")
    }

    /// The bytes of a length-delimited field (tag, length, `count` bytes), none when empty.
    static func size(_ count: Int) -> Int {
        count == 0 ? 0 : 1 + ProtobufWriter.varintSize(UInt64(count)) + count
    }

    static func writeLog(_ span: OTLPSpan, _ shared: Shared, _ attributes: [UInt8], _ threshold: UInt64,
                         _ text: inout [UInt8], into w: inout ProtobufWriter) {
        text.removeAll(keepingCapacity: true)
        OTLPLogsRequest.body(span, into: &text)
        let r = span.record
        let end = span.end
        w.messageField(2) { log in
            log.fixed64Field(1, end)
            log.varintField(2, OTLPLogsRequest.severityNumber)
            log.stringField(3, "WARN")
            log.messageField(5) { any in any.bytesField(1, text, presence: .explicit) }
            log.appendRetagged(attributes[shared.attributes], field: 6)
            OTLPAttribute.write("pipetrace.duration_ms", .double(Double(r.duration) / 1e6), 6, into: &log)
            OTLPAttribute.write("pipetrace.slow_ms", .double(Double(threshold) / 1e6), 6, into: &log)
            OTLPSpan.write(9, span.trace.high, span.trace.low, into: &log)
            OTLPSpan.write(10, span.span, into: &log)
            log.fixed64Field(11, end)
            log.stringField(12, OTLPLogsRequest.eventName)
        }
    }

    /// The indices of `selected` grouped by their span's resource, groups in order of first appearance.
    static func byResource(_ spans: [OTLPSpan], _ selected: some Collection<Int>) -> [[Int]] {
        var groups: [[Int]] = []
        var index: [String: Int] = [:]
        for i in selected {
            let key = spans[i].service
            if let g = index[key] { groups[g].append(i) } else {
                index[key] = groups.count
                groups.append([i])
            }
        }
        return groups
    }
}
