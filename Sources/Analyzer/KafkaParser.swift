/// The Kafka wire protocol, both directions of one client-broker
/// connection: size-prefixed messages, requests paired with responses by
/// correlation id (clients pipeline several, so the exchange number is the
/// correlation id and both ends pair by it).
///
/// - Every API key is named (`KafkaAPI`); request header v0-v2 and the
///   flexible versions' compact fields and tagged fields are read.
/// - Decoded (`KafkaBodies`): Produce, Fetch, ListOffsets, Metadata,
///   ApiVersions, CreateTopics, FindCoordinator and the group APIs. The
///   record's operation is the API, its resource the topics (or the group),
///   its status the first error code that is not 0 (0 when all are), and
///   its partitions what the exchange did to each topic partition; record
///   batches are counted from their headers, never decompressed.
/// - A Produce with acks=0 has no response: it is complete when sent.
/// - A Fetch the broker may hold until data comes (max wait and min bytes
///   above 0) is marked `kafka.long_poll`: its time is mostly waiting.
///
/// Bounded: messages up to `maxMessageSize` (a larger size is no Kafka),
/// at most `KafkaMessage.maxStored` bytes of one kept (what is past it reads
/// as uncaptured), at most `maxInFlight` requests awaiting their response
/// (the oldest is dropped), `maxTopicIDs` topic ids remembered.
public struct KafkaParser: ProtocolParser {
    public static let protocolName = "kafka"
    /// Size, API key, version, correlation id and the client id's length.
    public static let detectionBytes = 14
    public static let pairing = ExchangePairing.byExchange

    static let maxMessageSize = 256 << 20
    static let maxInFlight = 1024
    static let maxTopicIDs = 4096

    /// One direction's message in progress.
    struct Direction: Sendable {
        var size: UInt32 = 0
        var sizeRead = 0
        var message: KafkaMessage?
        var remaining = 0
        /// The exchange its head named once its first bytes were in (nil: not yet, or not one of ours).
        var announced: Int32?
    }

    private var client = Direction()
    private var server = Direction()
    private var inFlight: [Int32: KafkaRequest] = [:]
    private var sequence: UInt64 = 0
    private var topicNames: [KafkaTopicID: String] = [:]
    /// Requests' attributes, and with their responses': each the last made, handed out again while the same.
    private var requestAttributes = KafkaAttributes.Memo()
    private var responseAttributes = KafkaAttributes.Memo()

    public init() {}

    // MARK: Detection

    /// A request header that follows the rules: a size that fits, a known
    /// API key and a plausible version, and a client id that fits the
    /// message and is printable. Responses carry nothing to tell them by.
    public static func detect(_ prefix: ArraySlice<UInt8>) -> ProtocolDetection {
        let b = Array(prefix.prefix(detectionBytes))
        func int(_ at: Int, _ n: Int) -> Int {
            var v = 0
            for i in at..<(at + n) { v = v << 8 | Int(b[i]) }
            return v
        }
        if b.count >= 4 {
            let size = int(0, 4)
            guard size >= 10 && size <= maxMessageSize else { return .notThisProtocol }
        }
        if b.count >= 6 { guard KafkaAPI.isKnown(Int16(truncatingIfNeeded: int(4, 2))) else { return .notThisProtocol } }
        if b.count >= 8 { guard int(6, 2) < Int(KafkaAPI.maxVersion) else { return .notThisProtocol } }
        guard b.count >= detectionBytes else { return .needMoreBytes }
        let clientIDLength = Int(Int16(truncatingIfNeeded: int(12, 2)))
        guard clientIDLength >= -1 && clientIDLength <= int(0, 4) - 10 else { return .notThisProtocol }
        let shown = prefix.dropFirst(14).prefix(max(0, clientIDLength))
        guard shown.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return .notThisProtocol }
        return .request
    }

    // MARK: Framing

    public mutating func consume(_ segment: StreamSegment, from sender: Sender,
                                 into events: inout [ParserEvent]) throws(ProtocolParseError) {
        do {
            try frame(segment, from: sender, into: &events)
        } catch {
            reportUnanswered(&events) // the analyzer ends the exchanges in flight
            throw error
        }
    }

    private mutating func frame(_ segment: StreamSegment, from sender: Sender,
                                into events: inout [ParserEvent]) throws(ProtocolParseError) {
        var d = Direction()
        if sender == .client { swap(&d, &client) } else { swap(&d, &server) }
        defer { if sender == .client { swap(&d, &client) } else { swap(&d, &server) } }
        let bytes = segment.bytes
        var i = bytes.startIndex
        while i < bytes.endIndex {
            guard d.message != nil else {
                d.size = d.size << 8 | UInt32(bytes[i])
                d.sizeRead += 1
                i += 1
                if d.sizeRead == 4 { try begin(&d) }
                continue
            }
            let n = min(d.remaining, bytes.endIndex - i)
            d.message?.append(bytes[i..<(i + n)])
            d.remaining -= n
            i += n
            announce(&d, sender, &events)
            if d.remaining == 0 { end(&d, sender, &events) }
        }
        var missing = segment.missing
        while missing > 0 {
            // A size prefix went by uncaptured: where messages start is lost.
            guard d.message != nil, d.sizeRead == 4 else { throw .framingLost }
            let n = Int(min(UInt64(d.remaining), missing))
            d.message?.appendMissing(n)
            d.remaining -= n
            missing -= UInt64(n)
            if d.remaining == 0 { end(&d, sender, &events) }
        }
    }

    public mutating func finish(_ sender: Sender, into events: inout [ParserEvent]) {
        // Requests still waiting for their response are reported by the analyzer as incomplete.
        reportUnanswered(&events)
    }

    private func begin(_ d: inout Direction) throws(ProtocolParseError) {
        let size = Int(Int32(bitPattern: d.size))
        guard size >= 4 && size <= KafkaParser.maxMessageSize else { throw .malformed("message size \(size)") }
        d.message = KafkaMessage(size: size)
        d.remaining = size
        d.announced = nil
        if size == 0 { d.message = nil }
    }

    /// Once a message's head is in, its exchange begins (a request) or its
    /// response does: in the segment that holds its first bytes.
    private mutating func announce(_ d: inout Direction, _ sender: Sender, _ events: inout [ParserEvent]) {
        // Read where the message lies: a copy of it (and a reader over that) cost more than the rest of this.
        guard d.announced == nil, let id = d.message?.correlationID(at: sender == .client ? 4 : 0) else { return }
        if sender == .client {
            d.announced = id
            events.append(.requestBegan(exchange: KafkaParser.exchange(id)))
        } else {
            guard inFlight[id] != nil else { return }
            d.announced = id
            events.append(.responseBegan(exchange: KafkaParser.exchange(id)))
        }
    }

    private mutating func end(_ d: inout Direction, _ sender: Sender, _ events: inout [ParserEvent]) {
        guard let message = d.message.take() else { return }
        d.size = 0
        d.sizeRead = 0
        if sender == .client { request(message, announced: d.announced, &events) } else { response(message, &events) }
        d.announced = nil
    }

    static func exchange(_ correlationID: Int32) -> UInt64 { UInt64(UInt32(bitPattern: correlationID)) }

    // MARK: Exchanges

    private mutating func request(_ message: consuming KafkaMessage, announced: Int32?, _ events: inout [ParserEvent]) {
        let size = UInt64(message.size) + 4
        var r = KafkaReader(message)
        guard let key = try? r.int16(), let version = try? r.int16(), let id = try? r.int32(), id == announced else {
            return // its head was not captured: it cannot be paired
        }
        let exchange = KafkaParser.exchange(id)
        sequence += 1
        var q = KafkaRequest(apiKey: key, version: version, correlationID: id, sequence: sequence)
        var readable = true
        do throws(KafkaReader.Failure) {
            if KafkaAPI.requestHasClientID(key, version) { q.attributes.clientID = try r.classicString() }
            r.flexible = KafkaAPI.isFlexible(key, version)
            try r.tags()
            if KafkaAPI.isKnown(key) { try KafkaBodies.request(&r, &q, topicNames) }
        } catch {
            readable = error == .uncaptured
        }
        events.append(.requestHead(exchange: exchange, method: KafkaAPI.name(key), target: KafkaParser.resource(q),
                                   protocolName: KafkaParser.protocolName))
        q.attributes.requestMalformed = !readable
        events.append(.attributes(exchange: exchange, requestAttributes.dictionary(q.attributes)))
        if key == KafkaAPI.produce && q.attributes.acks == 0 {
            // No response will come: the producer is done when it has sent.
            if !q.partitions.isEmpty { events.append(.partitions(exchange: exchange, q.partitions)) }
            events.append(.requestEnded(exchange: exchange, bytes: size, at: .currentSegment))
            events.append(.responseEnded(exchange: exchange, bytes: 0, at: .currentSegment))
            return
        }
        events.append(.requestEnded(exchange: exchange, bytes: size, at: .currentSegment))
        if inFlight.count >= KafkaParser.maxInFlight,
           let oldest = inFlight.min(by: { $0.value.sequence < $1.value.sequence })?.key,
           var dropped = inFlight.removeValue(forKey: oldest) {
            KafkaParser.reportUnanswered(oldest, &dropped, &events)
        }
        // Its partitions stay here until the response is merged into them: reported once, no copy made.
        inFlight[id] = q
    }

    /// A request whose response may never come: its partitions are reported
    /// now (the response's, if it still comes, replace them).
    private static func reportUnanswered(_ id: Int32, _ q: inout KafkaRequest, _ events: inout [ParserEvent]) {
        guard !q.partitionsReported else { return }
        q.partitionsReported = true
        if !q.partitions.isEmpty { events.append(.partitions(exchange: exchange(id), q.partitions)) }
    }

    /// The requests still awaiting a response, reported before the parser
    /// stops (a close, a parse error): their records keep what the requests said.
    private mutating func reportUnanswered(_ events: inout [ParserEvent]) {
        for i in inFlight.indices { KafkaParser.reportUnanswered(inFlight.keys[i], &inFlight.values[i], &events) }
    }

    private mutating func response(_ message: consuming KafkaMessage, _ events: inout [ParserEvent]) {
        let size = UInt64(message.size) + 4
        var r = KafkaReader(message)
        guard let id = try? r.int32(), var q = inFlight.removeValue(forKey: id) else {
            return // the answer to a request from before attach, or not captured
        }
        let exchange = KafkaParser.exchange(id)
        var partitions: [RequestRecord.PartitionActivity] = []
        swap(&partitions, &q.partitions)
        var s = KafkaResponse(partitions: KafkaPartitionMerge(partitions))
        var readable = true
        do throws(KafkaReader.Failure) {
            r.flexible = KafkaAPI.isFlexible(q.apiKey, q.version)
            if KafkaAPI.responseHasTags(q.apiKey, q.version) { try r.tags() }
            try KafkaBodies.response(&r, q, &s, topicNames)
        } catch {
            readable = error == .uncaptured
        }
        for (topicID, name) in s.topicIDs where topicNames.count < KafkaParser.maxTopicIDs || topicNames[topicID] != nil {
            topicNames[topicID] = name
        }
        if let code = s.errorCode {
            events.append(.outcome(exchange: exchange, status: Int(code), outcome: KafkaParser.outcome(code)))
        }
        if s.throttleMs != nil || !readable {
            q.attributes.throttleMs = s.throttleMs
            q.attributes.responseMalformed = !readable
            events.append(.attributes(exchange: exchange, responseAttributes.dictionary(q.attributes)))
        }
        let merged = s.partitions.finish()
        if !merged.isEmpty { events.append(.partitions(exchange: exchange, merged)) }
        events.append(.responseEnded(exchange: exchange, bytes: size, at: .currentSegment))
    }

    /// The request's partitions with what the response said of each (a
    /// response's partition the request did not name is added).
    static func merge(_ response: [RequestRecord.PartitionActivity], into merged: inout [RequestRecord.PartitionActivity]) {
        // The common case: the response names the request's partitions, in its order.
        if response.count == merged.count,
           zip(merged, response).allSatisfy({ $0.partition == $1.partition && $0.topic == $1.topic }) {
            for i in merged.indices { update(&merged[i], with: response[i]) }
            return
        }
        var index: [PartitionKey: Int] = [:]
        for (i, p) in merged.enumerated() { index[PartitionKey(topic: p.topic, partition: p.partition)] = i }
        for p in response {
            guard let i = index[PartitionKey(topic: p.topic, partition: p.partition)] else {
                merged.add(p)
                continue
            }
            update(&merged[i], with: p)
        }
    }

    /// What the response said of a partition the request named.
    static func update(_ m: inout RequestRecord.PartitionActivity, with p: RequestRecord.PartitionActivity) {
        m.errorCode = p.errorCode ?? m.errorCode
        m.baseOffset = p.baseOffset ?? m.baseOffset
        m.committedOffset = p.committedOffset ?? m.committedOffset
        m.highWatermark = p.highWatermark ?? m.highWatermark
        m.lastStableOffset = p.lastStableOffset ?? m.lastStableOffset
        if p.records != nil || p.bytes != nil { // a Fetch returns records: they replace what was asked for
            m.records = p.records
            m.bytes = p.bytes
            m.batchOffsets = p.batchOffsets
        }
    }

    struct PartitionKey: Hashable {
        var topic: String?
        var partition: Int32
    }

    /// The record's resource: the group (group APIs, FindCoordinator), else
    /// the topics named, in order of first mention ("a,b"; at most `maxTopicsShown`, then "+N").
    static func resource(_ q: KafkaRequest) -> String? {
        if let group = q.attributes.group { return group }
        // Most requests name one topic: no set, no joined string, no array at all.
        let first = q.topics.first ?? q.partitions.first { $0.topic != nil }?.topic
        if let first, q.topics.allSatisfy({ $0 == first }), q.partitions.allSatisfy({ $0.topic == first }) { return first }
        var shown: [String] = [], others: Set<String> = []
        func add(_ name: String) {
            guard !shown.contains(name), others.isEmpty || !others.contains(name) else { return }
            if shown.count < maxTopicsShown { shown.append(name) } else { others.insert(name) }
        }
        for name in q.topics { add(name) }
        for p in q.partitions { if let name = p.topic { add(name) } }
        guard let first = shown.first else { return nil }
        if shown.count == 1 { return first }
        let text = shown.joined(separator: ",")
        return others.isEmpty ? text : text + ",+\(others.count)"
    }

    static let maxTopicsShown = 4

    /// What a Kafka error code means: the broker's failures (not leader,
    /// coordinator not available, not enough replicas, storage) are server
    /// errors, a timed-out request a timeout, the rest the client's.
    static func outcome(_ code: Int16) -> RequestRecord.Outcome {
        switch code {
        case 0: .ok
        case 7: .timeout
        case -1, 5, 6, 8, 9, 13, 14, 15, 16, 19, 20, 56: .serverError
        default: .clientError
        }
    }
}
