/// What a Kafka request said, as far as it was read (a field in uncaptured
/// bytes, and every field after it, stays nil).
struct KafkaRequest: Sendable {
    /// API, version, client id, group (group APIs; FindCoordinator's key),
    /// acks, max wait, min bytes: what its record's attributes are made of,
    /// read into them where they lie (no copy made once the request is read).
    var attributes = KafkaAttributes()
    var apiKey: Int16 { attributes.apiKey }
    var version: Int16 { attributes.version }
    var correlationID: Int32
    /// Topics a request names without partitions (Metadata, CreateTopics).
    var topics: [String] = []
    var partitions: [RequestRecord.PartitionActivity] = []
    /// Order of arrival, to drop the oldest past the in-flight limit.
    var sequence: UInt64 = 0
    /// `partitions` went out before a response (see `KafkaParser.reportUnanswered`).
    var partitionsReported = false

    init(apiKey: Int16, version: Int16, correlationID: Int32, sequence: UInt64) {
        attributes.apiKey = apiKey
        attributes.version = version
        self.correlationID = correlationID
        self.sequence = sequence
    }
}

/// What a Kafka response said, as far as it was read.
struct KafkaResponse: Sendable {
    /// The first error code that is not 0, else 0; nil when none was read.
    var errorCode: Int16?
    var throttleMs: Int32?
    /// The request's partitions, with the response's merged in as they are read.
    var partitions: KafkaPartitionMerge
    /// Topic ids and their names (Metadata v10 and later).
    var topicIDs: [(KafkaTopicID, String)] = []

    mutating func error(_ code: Int16) {
        if errorCode == nil || errorCode == 0 { errorCode = code }
    }
}

/// Where a body's partitions go as they are read: a request's list (the
/// first `KafkaBodies.maxPartitions` kept), or a response's merge into its request's.
protocol KafkaPartitionSink {
    mutating func add(_ p: RequestRecord.PartitionActivity)
}

extension Array: KafkaPartitionSink where Element == RequestRecord.PartitionActivity {
    mutating func add(_ p: RequestRecord.PartitionActivity) {
        if count < KafkaBodies.maxPartitions { append(p) }
    }
}

/// A response's partitions merged into its request's as they are read: one
/// in the place the request named it is updated where it lies (the common
/// case: no list of the response's made, copied and freed); from the first
/// that is not, the rest are merged by topic and partition at the end.
struct KafkaPartitionMerge: KafkaPartitionSink, Sendable {
    /// The request's partitions, updated.
    private(set) var merged: [RequestRecord.PartitionActivity]
    /// The response's partitions read (up to `KafkaBodies.maxPartitions`; the rest are ignored).
    private var read = 0
    private var elsewhere: [RequestRecord.PartitionActivity] = []
    /// The partitions' error codes as `KafkaResponse.error` takes them: the first not 0, else 0; nil for none.
    private(set) var errorCode: Int16?

    init(_ request: consuming [RequestRecord.PartitionActivity]) {
        merged = request
    }

    mutating func add(_ p: RequestRecord.PartitionActivity) {
        guard read < KafkaBodies.maxPartitions else { return }
        read += 1
        if errorCode == nil || errorCode == 0 { errorCode = p.errorCode ?? 0 }
        let i = read - 1
        if elsewhere.isEmpty, i < merged.count, merged[i].partition == p.partition, merged[i].topic == p.topic {
            KafkaParser.update(&merged[i], with: p)
        } else {
            elsewhere.append(p)
        }
    }

    /// The merged partitions, taken out once the response is read.
    mutating func finish() -> [RequestRecord.PartitionActivity] {
        if !elsewhere.isEmpty { KafkaParser.merge(elsewhere, into: &merged) }
        var taken: [RequestRecord.PartitionActivity] = []
        swap(&taken, &merged)
        return taken
    }
}

/// A topic's UUID (Fetch v13, Produce v13 and later name topics by it).
struct KafkaTopicID: Hashable, Sendable {
    var high: Int64
    var low: Int64
}

/// The request and response bodies pipetrace reads: Produce, Fetch,
/// ListOffsets, Metadata, ApiVersions, CreateTopics and the group APIs.
/// The reader throws at the first field it cannot read; what was read by
/// then is kept in the `inout` value.
enum KafkaBodies {
    /// Partitions per exchange kept; the rest are not reported.
    static let maxPartitions = 1024
    static let maxTopics = 64

    typealias Partition = RequestRecord.PartitionActivity

    static func topicID(_ r: inout KafkaReader) throws(KafkaReader.Failure) -> KafkaTopicID {
        KafkaTopicID(high: try r.int64(), low: try r.int64())
    }

    /// A topic by name, or by id in versions from `idsFrom` on (resolved through `names`, nil when not known).
    static func topic(_ r: inout KafkaReader, byIDFrom idsFrom: Int16, version: Int16,
                      _ names: [KafkaTopicID: String]) throws(KafkaReader.Failure) -> String? {
        version >= idsFrom ? names[try topicID(&r)] : try r.string()
    }

    /// An array of topics, each a name (or, from version `idsFrom`, an id)
    /// and an array of partitions: `read` reads what follows a partition's
    /// index; each partition ends with tagged fields, and so does each topic.
    static func partitions(_ r: inout KafkaReader, _ list: inout some KafkaPartitionSink, idsFrom: Int16 = .max, version: Int16 = 0,
                           _ names: [KafkaTopicID: String] = [:],
                           _ read: (inout KafkaReader, inout Partition) throws(KafkaReader.Failure) -> Void)
        throws(KafkaReader.Failure) {
        for _ in 0..<(try r.arrayCount() ?? 0) {
            let topic = try topic(&r, byIDFrom: idsFrom, version: version, names)
            for _ in 0..<(try r.arrayCount() ?? 0) {
                var p = Partition(topic: topic, partition: try r.int32())
                try read(&r, &p)
                try r.tags()
                list.add(p)
            }
            try r.tags()
        }
    }

    // MARK: Requests

    static func request(_ r: inout KafkaReader, _ q: inout KafkaRequest,
                        _ names: [KafkaTopicID: String]) throws(KafkaReader.Failure) {
        let v = q.version
        if KafkaAPI.startsWithGroupID(q.apiKey, v) { q.attributes.group = try r.string() }
        switch q.apiKey {
        case KafkaAPI.produce:
            if v >= 3 { _ = try r.string() } // transactional id
            q.attributes.acks = try r.int16()
            _ = try r.int32() // timeout
            try partitions(&r, &q.partitions, idsFrom: 13, version: v, names) { (r, p) throws(KafkaReader.Failure) in
                // A producer's batches carry no offset yet (the broker gives it): their bases are not kept.
                try records(&r, &p, keepOffsets: false)
            }
        case KafkaAPI.fetch:
            if v <= 14 { _ = try r.int32() } // replica id
            q.attributes.maxWaitMs = try r.int32()
            q.attributes.minBytes = try r.int32()
            if v >= 3 { _ = try r.int32() } // max bytes
            if v >= 4 { _ = try r.int8() } // isolation level
            if v >= 7 { try r.skip(8) } // session id and epoch
            try partitions(&r, &q.partitions, idsFrom: 13, version: v, names) { (r, p) throws(KafkaReader.Failure) in
                if v >= 9 { _ = try r.int32() } // current leader epoch
                p.fetchOffset = try r.int64()
                if v >= 12 { _ = try r.int32() } // last fetched epoch
                if v >= 5 { _ = try r.int64() } // log start offset
                _ = try r.int32() // partition max bytes
            }
        case KafkaAPI.listOffsets:
            _ = try r.int32() // replica id
            if v >= 2 { _ = try r.int8() }
            try partitions(&r, &q.partitions) { (r, _) throws(KafkaReader.Failure) in
                if v >= 4 { _ = try r.int32() }
                _ = try r.int64() // timestamp
                if v == 0 { _ = try r.int32() }
            }
        case KafkaAPI.metadata:
            for _ in 0..<(try r.arrayCount() ?? 0) {
                if v >= 10 { _ = try topicID(&r) }
                if let name = try r.string(), q.topics.count < maxTopics { q.topics.append(name) }
                try r.tags()
            }
        case 19: // CreateTopics
            // The first topic only: what follows each name (assignments, configs) is not needed.
            if try r.arrayCount() ?? 0 > 0, let name = try r.string() { q.topics.append(name) }
        case KafkaAPI.findCoordinator:
            if v <= 3 {
                q.attributes.group = try r.string()
            } else {
                _ = try r.int8() // key type
                if try r.arrayCount() ?? 0 > 0 { q.attributes.group = try r.string() }
            }
        case KafkaAPI.offsetCommit:
            if v >= 1 {
                _ = try r.int32() // generation
                _ = try r.string() // member id
            }
            if v >= 7 { _ = try r.string() } // group instance id
            if v >= 2 && v <= 4 { _ = try r.int64() } // retention
            try partitions(&r, &q.partitions) { (r, p) throws(KafkaReader.Failure) in
                p.committedOffset = try r.int64()
                if v >= 6 { _ = try r.int32() }
                if v == 1 { _ = try r.int64() }
                _ = try r.string() // metadata
            }
        case KafkaAPI.offsetFetch where v >= 8:
            if try r.arrayCount() ?? 0 > 0 { q.attributes.group = try r.string() } // the first group of several
        default:
            break
        }
    }

    // MARK: Responses

    static func response(_ r: inout KafkaReader, _ q: KafkaRequest, _ s: inout KafkaResponse,
                         _ names: [KafkaTopicID: String]) throws(KafkaReader.Failure) {
        // Whatever was read, also when a later field throws: the partitions' error codes count.
        defer { if let code = s.partitions.errorCode { s.error(code) } }
        let v = q.version
        switch q.apiKey {
        case KafkaAPI.produce:
            try partitions(&r, &s.partitions, idsFrom: 13, version: v, names) { (r, p) throws(KafkaReader.Failure) in
                p.errorCode = try r.int16()
                p.baseOffset = try r.int64()
                if v >= 2 { _ = try r.int64() } // log append time
                if v >= 5 { _ = try r.int64() } // log start offset
                if v >= 8 {
                    for _ in 0..<(try r.arrayCount() ?? 0) {
                        _ = try r.int32()
                        _ = try r.string()
                        try r.tags()
                    }
                    _ = try r.string() // error message
                }
            }
            if v >= 1 { s.throttleMs = try r.int32() }
        case KafkaAPI.fetch:
            if v >= 1 { s.throttleMs = try r.int32() }
            if v >= 7 {
                s.error(try r.int16())
                _ = try r.int32() // session id
            }
            try partitions(&r, &s.partitions, idsFrom: 13, version: v, names) { (r, p) throws(KafkaReader.Failure) in
                p.errorCode = try r.int16()
                p.highWatermark = try r.int64()
                if v >= 4 { p.lastStableOffset = try r.int64() }
                if v >= 5 { _ = try r.int64() } // log start offset
                if v >= 4 {
                    for _ in 0..<(try r.arrayCount() ?? 0) { // aborted transactions
                        try r.skip(16)
                        try r.tags()
                    }
                }
                if v >= 11 { _ = try r.int32() } // preferred read replica
                try records(&r, &p)
            }
        case KafkaAPI.listOffsets:
            if v >= 2 { s.throttleMs = try r.int32() }
            try partitions(&r, &s.partitions) { (r, p) throws(KafkaReader.Failure) in
                p.errorCode = try r.int16()
                if v == 0 {
                    try r.skip(8 * (try r.arrayCount() ?? 0))
                } else {
                    _ = try r.int64() // timestamp
                    _ = try r.int64() // offset
                    if v >= 4 { _ = try r.int32() }
                }
            }
        case KafkaAPI.metadata:
            if v >= 3 { s.throttleMs = try r.int32() }
            for _ in 0..<(try r.arrayCount() ?? 0) { // brokers
                _ = try r.int32()
                _ = try r.string()
                _ = try r.int32()
                if v >= 1 { _ = try r.string() }
                try r.tags()
            }
            if v >= 2 { _ = try r.string() } // cluster id
            if v >= 1 { _ = try r.int32() } // controller id
            for _ in 0..<(try r.arrayCount() ?? 0) {
                s.error(try r.int16())
                let name = try r.string()
                if v >= 10, case let id = try topicID(&r), let name, s.topicIDs.count < maxTopics {
                    s.topicIDs.append((id, name))
                }
                if v >= 1 { _ = try r.int8() } // is internal
                for _ in 0..<(try r.arrayCount() ?? 0) {
                    s.error(try r.int16())
                    try r.skip(v >= 7 ? 12 : 8) // index, leader, leader epoch
                    try r.skipInt32Array()
                    try r.skipInt32Array()
                    if v >= 5 { try r.skipInt32Array() }
                    try r.tags()
                }
                if v >= 8 { _ = try r.int32() }
                try r.tags()
            }
        case KafkaAPI.apiVersions:
            s.error(try r.int16())
        case 19: // CreateTopics
            if v >= 2 { s.throttleMs = try r.int32() }
            if try r.arrayCount() ?? 0 > 0 {
                _ = try r.string()
                if v >= 7 { _ = try topicID(&r) }
                s.error(try r.int16())
            }
        case KafkaAPI.findCoordinator:
            if v >= 1 { s.throttleMs = try r.int32() }
            if v <= 3 {
                s.error(try r.int16())
            } else if try r.arrayCount() ?? 0 > 0 {
                _ = try r.string()
                _ = try r.int32()
                _ = try r.string()
                _ = try r.int32()
                s.error(try r.int16())
            }
        case KafkaAPI.joinGroup, KafkaAPI.syncGroup, KafkaAPI.heartbeat, KafkaAPI.leaveGroup:
            let throttledFrom: Int16 = q.apiKey == KafkaAPI.joinGroup ? 2 : 1
            if v >= throttledFrom { s.throttleMs = try r.int32() }
            s.error(try r.int16())
        case KafkaAPI.offsetCommit:
            if v >= 3 { s.throttleMs = try r.int32() }
            try partitions(&r, &s.partitions) { (r, p) throws(KafkaReader.Failure) in p.errorCode = try r.int16() }
        case KafkaAPI.offsetFetch:
            if v >= 3 { s.throttleMs = try r.int32() }
            if v >= 8 {
                guard try r.arrayCount() ?? 0 > 0 else { return }
                _ = try r.string() // the first group's id
            }
            try partitions(&r, &s.partitions) { (r, p) throws(KafkaReader.Failure) in
                p.committedOffset = try r.int64()
                if v >= 5 { _ = try r.int32() }
                _ = try r.string() // metadata
                p.errorCode = try r.int16()
            }
            if v >= 2 { s.error(try r.int16()) }
        default:
            break
        }
    }

    // MARK: Record batches

    /// A partition's record set (nullable bytes): counted, then skipped.
    static func records(_ r: inout KafkaReader, _ p: inout Partition, keepOffsets: Bool = true) throws(KafkaReader.Failure) {
        guard let n = try r.bytesLength() else {
            (p.records, p.bytes) = (0, 0)
            return
        }
        countBatches(r.message, r.position..<(r.position + n), into: &p, keepOffsets: keepOffsets)
        try r.skip(n)
    }

    /// Counts the record batches in a record set at `range` of `message` by
    /// their headers alone (magic 2: base offset, length, record count;
    /// magic 0 and 1: one entry per message). A batch cut by the set's end
    /// (a fetch's last) is not counted; a header not captured leaves the
    /// counts unknown.
    static func countBatches(_ message: KafkaMessage, _ range: Range<Int>, into p: inout Partition, keepOffsets: Bool = true) {
        p.bytes = UInt32(clamping: range.count)
        var records: UInt32 = 0
        var i = range.lowerBound
        while range.upperBound - i >= 17 {
            guard let base = message.integer(at: i, as: Int64.self), let length = message.integer(at: i + 8, as: Int32.self),
                  let magic = message.integer(at: i + 16, as: UInt8.self) else { return }
            guard length >= 5 else { return }
            let end = i + 12 + Int(length)
            guard end <= range.upperBound else { break }
            if magic >= 2 {
                guard end - i >= 61, let count = message.integer(at: i + 57, as: Int32.self) else { return }
                records &+= UInt32(clamping: max(0, count))
            } else {
                records &+= 1
            }
            if keepOffsets && p.batchOffsets.count < Partition.maxBatchOffsets { p.batchOffsets.append(base) }
            i = end
        }
        p.records = records
    }
}
