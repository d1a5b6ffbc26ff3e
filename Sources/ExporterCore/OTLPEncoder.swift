import Analyzer

/// Builds `ExportTraceServiceRequest` bodies, and for the slow spans
/// `ExportLogsServiceRequest` bodies (the messages are described on
/// `OTLPTraceRequest` and `OTLPLogsRequest`), span by span as the spans
/// come, doing once what they share:
/// - each span is written at once into its resource's part of the batch
///   (the container that made it), so a batch is never held as spans and
///   grouped afterwards; `finish` puts the parts in their envelopes;
/// - a record seen from both ends is two spans (and, when slow, a log
///   record) with the same name and attributes: they are encoded once per
///   record and copied into each;
/// - span names (`TargetTemplate` of the target) are remembered per
///   method and target across batches, up to `maxCachedNames` of them;
/// - the buffers are kept from batch to batch.
///
/// The sink keeps one encoder (it is not thread-safe: a value the caller
/// mutates); `OTLPTraceRequest` and `OTLPLogsRequest` use a fresh one.
public struct OTLPEncoder: Sendable {
    struct NameKey: Hashable {
        var method: String?
        var protocolName: String
        var target: String?

        /// The key of `r`'s name.
        static func of(_ r: RequestRecord) -> NameKey {
            NameKey(method: r.method, protocolName: protocolName(r), target: r.target)
        }

        /// Whether `r` has this key.
        func matches(_ r: RequestRecord) -> Bool {
            method == r.method && target == r.target && protocolName == Self.protocolName(r)
        }

        /// The protocol names a request only when it has no method.
        private static func protocolName(_ r: RequestRecord) -> String { r.method == nil ? r.protocolName : "" }
    }

    /// One resource's spans and log records in the batch being built.
    struct Resource: Sendable {
        var service: String
        /// The `Resource` message (its `service.name`), encoded once.
        var header = ProtobufWriter()
        /// `Span`s as field 2 of `ScopeSpans`, `LogRecord`s as field 2 of `ScopeLogs`.
        var spans = ProtobufWriter()
        var logs = ProtobufWriter()

        init(service: String) {
            self.service = service
            OTLPAttribute.write("service.name", .string(service), 1, into: &header)
        }
    }

    public let maxCachedNames: Int
    private var names: [NameKey: String] = [:]
    /// The last name given, and for what (a struct, not a tuple: copied without the runtime's generic tuple witnesses).
    private var lastName: Named?

    struct Named: Sendable {
        var key: NameKey
        var name: String
    }
    /// The resources of the last batch and this one; found by a look along
    /// them while they are few, through `resourceIndex` past that.
    private var resources: [Resource] = []
    private var resourceIndex: [String: Int] = [:]
    private static let scanned = 8
    /// Resources with spans (log records) in this batch, in order of their first.
    private var traceOrder: [Int] = []
    private var logOrder: [Int] = []
    /// Spans and log records in the batch being built.
    public private(set) var spanCount = 0
    public private(set) var logCount = 0
    /// The record (id, start) whose name and attributes (`KeyValue`s as
    /// span field 9) were encoded last, so its second span reuses them.
    private var current: RecordIdentity?

    struct RecordIdentity: Sendable, Equatable {
        var id: UInt64
        var start: Int64
    }

    private var currentName = ""
    private var attributes = ProtobufWriter()
    /// The attributes the last hop's records repeat, encoded.
    private var repeatedAttributes = RepeatedAttributes()
    private var output = ProtobufWriter()
    private var text: [UInt8] = []

    public init(maxCachedNames: Int = 4096) {
        self.maxCachedNames = maxCachedNames
    }

    /// The span name of `r` (`OTLPTraceRequest.name`), from the cache when it was seen.
    mutating func name(_ r: RequestRecord) -> String {
        // Records of one connection mostly ask for the same name: no hashing then,
        // and no key made (a key retains and releases its strings).
        if lastName?.key.matches(r) == true { return lastName!.name }
        let key = NameKey.of(r)
        let name: String
        if let known = names[key] {
            name = known
        } else {
            if names.count >= maxCachedNames { names.removeAll(keepingCapacity: true) }
            name = OTLPTraceRequest.name(r)
            names[key] = name
        }
        lastName = Named(key: key, name: name)
        return name
    }

    /// Adds `span` to the batch: as a span, and also as a log record when
    /// it stands for a whole record (`OTLPSpan.spansWholeRecord`) that
    /// lasted `slowThreshold` or more.
    public mutating func add(_ span: OTLPSpan, slowThreshold: UInt64) {
        add(span, trace: true, log: span.spansWholeRecord && span.record.duration >= slowThreshold, threshold: slowThreshold)
    }

    mutating func add(_ span: OTLPSpan, trace: Bool, log: Bool, threshold: UInt64) {
        guard trace || log else { return }
        if current != RecordIdentity(id: span.record.id, start: span.record.start) {
            attributes.reset()
            OTLPAttribute.write(of: span.record, 9, into: &attributes, repeated: &repeatedAttributes)
            currentName = name(span.record)
            current = RecordIdentity(id: span.record.id, start: span.record.start)
        }
        let index = resource(span.service)
        if trace {
            if resources[index].spans.bytes.isEmpty { traceOrder.append(index) }
            Self.writeSpan(span, currentName, attributes.bytes, into: &resources[index].spans)
            spanCount += 1
        }
        if log {
            if resources[index].logs.bytes.isEmpty { logOrder.append(index) }
            Self.writeLog(span, attributes.bytes, threshold, &text, into: &resources[index].logs)
            logCount += 1
        }
    }

    /// A request as the encoder holds it: pieces that, joined in order, are
    /// its bytes (the envelope's parts, and each resource's spans where they
    /// were encoded), so a sink compresses it without joining it first.
    /// Pieces share the encoder's buffers: a callee that keeps one makes the
    /// encoder take new buffers for the next batch.
    public struct EncodedRequest: Sendable {
        public var pieces: [ArraySlice<UInt8>]

        /// The bytes, joined.
        public var bytes: [UInt8] { Array(pieces.joined()) }
    }

    /// Ends the batch: hands its traces request to `traces` (even when
    /// empty), then its logs request and their count to `logs` when it has
    /// any, and starts the next batch.
    public mutating func finish(traces: (EncodedRequest) -> Void, logs: (EncodedRequest, Int) -> Void) {
        traces(envelope(traceOrder, \.spans))
        if logCount > 0 { logs(envelope(logOrder, \.logs), logCount) }
        // Resources with nothing in this batch are let go (containers come and go);
        // a buffer much larger than this batch needed is given back.
        let used = Set(traceOrder + logOrder)
        if used.count < resources.count {
            resources = resources.indices.filter(used.contains).map { resources[$0] }
            resourceIndex = Dictionary(uniqueKeysWithValues: resources.indices.map { (resources[$0].service, $0) })
        }
        for i in resources.indices {
            resources[i].spans.reset(keepingAtMost: 2 * resources[i].spans.bytes.count + 65_536)
            resources[i].logs.reset(keepingAtMost: 2 * resources[i].logs.bytes.count + 65_536)
        }
        traceOrder.removeAll(keepingCapacity: true)
        logOrder.removeAll(keepingCapacity: true)
        (spanCount, logCount) = (0, 0)
        current = nil
    }

    /// `encode`'s one-call form: `spans` as one batch (the encoder's batch must be empty).
    public mutating func encode(_ spans: [OTLPSpan], slowThreshold: UInt64,
                                traces: ([UInt8]) -> Void, logs: ([UInt8], Int) -> Void) {
        for span in spans { add(span, slowThreshold: slowThreshold) }
        finish(traces: { traces($0.bytes) }, logs: { logs($0.bytes, $1) })
    }

    /// `ExportTraceServiceRequest` of `spans`.
    public mutating func traces(_ spans: [OTLPSpan]) -> [UInt8] {
        for span in spans { add(span, trace: true, log: false, threshold: 0) }
        var out: [UInt8] = []
        finish(traces: { out = $0.bytes }, logs: { _, _ in })
        return out
    }

    /// `ExportLogsServiceRequest` with a log record for each of `spans`.
    public mutating func logs(_ spans: [OTLPSpan], threshold: UInt64) -> [UInt8] {
        for span in spans { add(span, trace: false, log: true, threshold: threshold) }
        var out: [UInt8] = []
        finish(traces: { _ in }, logs: { request, _ in out = request.bytes })
        return out
    }

    /// The index of `service`'s resource, made if it is new.
    private mutating func resource(_ service: String) -> Int {
        if resources.count <= Self.scanned {
            for i in resources.indices where resources[i].service == service { return i }
        } else if let i = resourceIndex[service] {
            return i
        }
        resources.append(Resource(service: service))
        resourceIndex[service] = resources.count - 1
        return resources.count - 1
    }

    /// The envelope traces and logs share: per resource, in `order`, its
    /// attributes, then one `pipetrace` scope holding its spans or log
    /// records (`part`). The envelope's parts are written into `output`;
    /// the spans stay where they were encoded.
    private mutating func envelope(_ order: [Int], _ part: KeyPath<Resource, ProtobufWriter>) -> EncodedRequest {
        output.reset()
        let scope = 2 + OTLPTraceRequest.scopeName.utf8.count
        var ends: [Int] = []
        ends.reserveCapacity(order.count)
        for i in order {
            let header = resources[i].header.bytes
            let items = Self.size(scope) + resources[i][keyPath: part].bytes.count
            // ResourceSpans / ResourceLogs: resource = 1, scope_spans / scope_logs = 2.
            output.tag(1, .lengthDelimited)
            output.varint(UInt64(Self.size(header.count) + Self.size(items)))
            output.tag(1, .lengthDelimited)
            output.varint(UInt64(header.count))
            header.withUnsafeBufferPointer { output.append($0) }
            output.tag(2, .lengthDelimited)
            output.varint(UInt64(items))
            output.tag(1, .lengthDelimited)
            output.varint(UInt64(scope))
            output.stringField(1, OTLPTraceRequest.scopeName)
            ends.append(output.bytes.count)
        }
        let prefixes = output.bytes
        var pieces: [ArraySlice<UInt8>] = []
        pieces.reserveCapacity(2 * order.count)
        var from = 0
        for (i, end) in zip(order, ends) {
            pieces.append(prefixes[from..<end])
            pieces.append(resources[i][keyPath: part].bytes[...])
            from = end
        }
        return EncodedRequest(pieces: pieces)
    }

    /// A span, its length counted first, so its body is written in place
    /// and never moved: the fields before the attributes through one cursor.
    static func writeSpan(_ span: OTLPSpan, _ name: String, _ attributes: [UInt8], into w: inout ProtobufWriter) {
        let start = span.start, end = span.end
        let error = OTLPTraceRequest.error(span)
        let status = error.map { Self.size($0.utf8.count) + 2 } ?? 0
        let head = (span.trace != OTLPSpan.TraceID(high: 0, low: 0) ? 18 : 0) + (span.span != 0 ? 10 : 0) + (span.parent != 0 ? 10 : 0)
            + size(name.utf8.count) + 1 + ProtobufWriter.varintSize(span.kind.rawValue) + (start != 0 ? 9 : 0) + (end != 0 ? 9 : 0)
        var links = ProtobufWriter()
        if !span.links.isEmpty { OTLPSpanLink.write(span.links, into: &links) }
        let length = head + attributes.count + links.bytes.count
            + (error != nil ? 1 + ProtobufWriter.varintSize(UInt64(status)) + status : 0)
        let from = w.bytes.count
        w.write(exactly: 1 + ProtobufWriter.varintSize(UInt64(length)) + head) { c in
            c.byte(0x12)  // spans = 2, length-delimited
            c.varint(UInt64(length))
            if span.trace != OTLPSpan.TraceID(high: 0, low: 0) {
                c.byte(0x0a)  // trace_id = 1
                c.byte(16)
                c.fixed64(span.trace.high.byteSwapped)
                c.fixed64(span.trace.low.byteSwapped)
            }
            if span.span != 0 {
                c.byte(0x12)  // span_id = 2
                c.byte(8)
                c.fixed64(span.span.byteSwapped)
            }
            if span.parent != 0 {
                c.byte(0x22)  // parent_span_id = 4
                c.byte(8)
                c.fixed64(span.parent.byteSwapped)
            }
            if !name.utf8.isEmpty {
                c.byte(0x2a)  // name = 5
                c.varint(UInt64(name.utf8.count))
                c.copy(name)
            }
            c.byte(0x30)  // kind = 6
            c.varint(span.kind.rawValue)
            if start != 0 {
                c.byte(0x39)  // start_time_unix_nano = 7, fixed64
                c.fixed64(start)
            }
            if end != 0 {
                c.byte(0x41)  // end_time_unix_nano = 8, fixed64
                c.fixed64(end)
            }
        }
        attributes.withUnsafeBufferPointer { w.append($0) }  // a copy of the bytes, no reference counting of the array
        if !span.links.isEmpty { w.append(links.bytes) }
        if let error {
            w.tag(15, .lengthDelimited)
            w.varint(UInt64(status))
            w.stringField(2, error)
            w.varintField(3, 2)  // STATUS_CODE_ERROR
        }
        assert(w.bytes.count - from == 1 + ProtobufWriter.varintSize(UInt64(length)) + length, "span length counted wrong")
    }

    /// The bytes of a length-delimited field (tag, length, `count` bytes), none when empty.
    static func size(_ count: Int) -> Int {
        count == 0 ? 0 : 1 + ProtobufWriter.varintSize(UInt64(count)) + count
    }

    static func writeLog(_ span: OTLPSpan, _ attributes: [UInt8], _ threshold: UInt64,
                         _ text: inout [UInt8], into w: inout ProtobufWriter) {
        text.removeAll(keepingCapacity: true)
        OTLPLogsRequest.body(span, into: &text)
        let end = span.end
        w.messageField(2) { log in
            log.fixed64Field(1, end)
            log.varintField(2, OTLPLogsRequest.severityNumber)
            log.stringField(3, "WARN")
            log.messageField(5) { any in any.bytesField(1, text, presence: .explicit) }
            log.appendRetagged(attributes[...], field: 6)
            OTLPAttribute.write("pipetrace.duration_ms", .double(Double(span.record.duration) / 1e6), 6, into: &log)
            OTLPAttribute.write("pipetrace.slow_ms", .double(Double(threshold) / 1e6), 6, into: &log)
            OTLPSpan.write(9, span.trace.high, span.trace.low, into: &log)
            OTLPSpan.write(10, span.span, into: &log)
            log.fixed64Field(11, end)
            log.stringField(12, OTLPLogsRequest.eventName)
        }
    }
}
