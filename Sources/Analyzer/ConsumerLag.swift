/// Consumer lag read from Kafka records: per consumer, topic and partition,
/// the high watermark a Fetch response gave minus the offset that Fetch
/// asked from (messages the consumer is behind when it asks), and minus the
/// offset its group last committed (OffsetCommit), and the lag's age where
/// the Produce of the batch at the consumer's next offset was seen. A pure
/// value: records in, lags out.
///
/// The consumer is the group when the fetching client (its address and
/// client id) was seen in a group API, else the client id, else its address.
///
/// Bounded: at most `maxPartitions` consumer partitions (and as many
/// high watermarks and clients); past it the one updated longest ago is
/// dropped and counted in `evictions`.
public struct ConsumerLag: Sendable {
    public struct Key: Hashable, Sendable {
        public var consumer: String
        public var topic: String
        public var partition: Int32
    }

    public struct Value: Hashable, Sendable {
        /// High watermark minus the next fetch offset; nil until a Fetch of the partition was answered.
        public var messages: Int64?
        /// High watermark minus the committed offset; nil until a commit and a high watermark were seen.
        public var committed: Int64?
        public var highWatermark: Int64?
        public var fetchOffset: Int64?
        public var committedOffset: Int64?
        /// How old the next record the consumer asked for was when it asked:
        /// the Fetch's start minus the start of the Produce that sent it (ns);
        /// 0 when it was caught up; nil when that Produce was not seen.
        public var age: UInt64?
        /// The start of the last record that changed it (Unix ns).
        public var updated: Int64
    }

    struct Client: Hashable {
        var ip: String?
        var clientID: String
    }

    public let maxPartitions: Int
    public private(set) var lags: [Key: Value] = [:]
    public private(set) var evictions: UInt64 = 0
    private var highWatermarks: [TopicPartition: Int64] = [:]
    private var groups: [Client: String] = [:]
    /// When each recent batch was produced (Unix ns of its Produce's start).
    private var produced: ProducedBatches<Int64>

    public init(maxPartitions: Int = 10_000) {
        self.maxPartitions = max(1, maxPartitions)
        produced = ProducedBatches(maxPartitions: maxPartitions)
    }

    /// Partitions whose produced batches were dropped from tracking past the bound.
    public var producedPartitionsEvicted: UInt64 { produced.partitionsEvicted }

    /// The consumer a record's client is: its group, its client id, or its address.
    public func consumer(of record: RequestRecord) -> String {
        if let group = record.attributes["kafka.group_id"] { return group }
        guard let clientID = record.attributes["kafka.client_id"] else { return record.client.ip ?? "?" }
        return groups[Client(ip: record.client.ip, clientID: clientID)] ?? clientID
    }

    /// Takes one record; returns the keys whose lag it changed.
    @discardableResult
    public mutating func add(_ record: RequestRecord) -> [Key] {
        guard record.protocolName == KafkaParser.protocolName, record.isComplete, let partitions = record.partitions else {
            return []
        }
        if let group = record.attributes["kafka.group_id"], let clientID = record.attributes["kafka.client_id"] {
            if groups.count >= maxPartitions { groups.removeAll(keepingCapacity: true) }
            groups[Client(ip: record.client.ip, clientID: clientID)] = group
        }
        let consumer = consumer(of: record)
        var changed: [Key] = []
        for p in partitions where p.errorCode ?? 0 == 0 {
            guard let topic = p.topic else { continue }
            let tp = TopicPartition(topic: topic, partition: p.partition)
            if let hw = p.highWatermark {
                if highWatermarks[tp] == nil && highWatermarks.count >= maxPartitions { highWatermarks.removeAll(keepingCapacity: true) }
                highWatermarks[tp] = hw
            }
            switch record.method {
            case "Produce":
                guard let base = p.baseOffset, base >= 0 else { continue }
                produced.add(base, records: p.records, record.start, to: tp)
            case "Fetch":
                guard let offset = p.fetchOffset, let hw = p.highWatermark else { continue }
                let age = offset >= hw ? 0 : produced.batch(containing: offset, in: tp)
                    .map { UInt64(clamping: max(0, record.start - $0.value)) }
                changed.append(update(Key(consumer: consumer, topic: topic, partition: p.partition), at: record.start) {
                    $0.fetchOffset = offset
                    $0.highWatermark = hw
                    $0.messages = max(0, hw - offset)
                    $0.age = age
                    if let committed = $0.committedOffset { $0.committed = max(0, hw - committed) }
                })
            case "OffsetCommit", "OffsetFetch":
                guard let offset = p.committedOffset, offset >= 0 else { continue }
                let hw = highWatermarks[tp]
                changed.append(update(Key(consumer: consumer, topic: topic, partition: p.partition), at: record.start) {
                    $0.committedOffset = offset
                    if let hw { $0.committed = max(0, hw - offset) }
                })
            default:
                continue
            }
        }
        return changed
    }

    private mutating func update(_ key: Key, at time: Int64, _ change: (inout Value) -> Void) -> Key {
        if lags[key] == nil && lags.count >= maxPartitions,
           let oldest = lags.min(by: { $0.value.updated < $1.value.updated })?.key {
            lags[oldest] = nil
            evictions += 1
        }
        var value = lags[key] ?? Value(updated: time)
        change(&value)
        value.updated = max(value.updated, time)
        lags[key] = value
        return key
    }
}

extension RequestRecord {
    /// A Kafka long-poll Fetch that returned no records: its time is the
    /// broker waiting for data that did not come, not slowness.
    public var isIdleLongPoll: Bool {
        attributes["kafka.long_poll"] == "true" && (partitions ?? []).allSatisfy { ($0.records ?? 0) == 0 }
    }
}
