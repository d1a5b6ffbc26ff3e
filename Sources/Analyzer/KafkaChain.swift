/// One Kafka record batch followed from its producer through the broker to
/// a consumer: the Produce whose response gave the batch its base offset,
/// and a Fetch whose response carried a batch with that base offset (same
/// topic and partition). Times in nanoseconds.
public struct KafkaChain: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    /// The batch's base offset: the Produce response's, the fetched batch's.
    public var offset: Int64
    /// Records the producer sent in the batch, when counted.
    public var records: UInt32?
    public var produce: BrokerChain.End
    public var fetch: BrokerChain.End

    /// Time in the broker: the produce response (the broker took the batch)
    /// to the fetch response carrying it; 0 when the fetch response came
    /// first (a long poll the append completed can be answered before the
    /// producer is).
    public var brokerTime: UInt64 { UInt64(clamping: max(0, fetch.end &- produce.end)) }
}

/// Links Produce and Fetch records into `KafkaChain`s. Pure: records in,
/// chains out. Records arrive as their exchanges complete, so a fetch may
/// come before the produce of what it carried: fetched batches not yet
/// matched wait in a window too, and the produce links them when it comes.
/// A batch fetched by several consumers (or fetched again) makes a chain
/// each time.
///
/// Bounded by `ProducedBatches`: a window of recent batches per tracked
/// partition, at most `maxPartitions` partitions, evictions counted.
public struct KafkaChainMatcher: Sendable {
    /// Produced batches by base offset, and fetched ones no produce has matched yet.
    public private(set) var produced: ProducedBatches<BrokerChain.End>
    private var fetched: ProducedBatches<BrokerChain.End>

    public init(maxPartitions: Int = 10_000, batchesPerPartition: Int = 64) {
        produced = ProducedBatches(maxPartitions: maxPartitions, batchesPerPartition: batchesPerPartition)
        fetched = ProducedBatches(maxPartitions: maxPartitions, batchesPerPartition: batchesPerPartition)
    }

    /// Partitions dropped from tracking past `maxPartitions` (produced and fetched windows).
    public var partitionsEvicted: UInt64 { produced.partitionsEvicted + fetched.partitionsEvicted }

    /// Takes one record; returns the chains it completes.
    public mutating func add(_ record: RequestRecord) -> [KafkaChain] {
        guard record.protocolName == KafkaParser.protocolName, record.isComplete, let partitions = record.partitions,
              record.method == "Produce" || record.method == "Fetch" else { return [] }
        let exchange = BrokerChain.End(record)
        var chains: [KafkaChain] = []
        for p in partitions where p.errorCode ?? 0 == 0 {
            guard let topic = p.topic else { continue }
            let key = TopicPartition(topic: topic, partition: p.partition)
            if record.method == "Produce" {
                guard let base = p.baseOffset, base >= 0 else { continue }
                produced.add(base, records: p.records, exchange, to: key)
                for fetch in fetched.take(base, from: key) {
                    chains.append(KafkaChain(topic: topic, partition: p.partition, offset: base, records: p.records,
                                             produce: exchange, fetch: fetch.value))
                }
            } else {
                for base in p.batchOffsets {
                    if let batch = produced.batch(startingAt: base, in: key) {
                        chains.append(KafkaChain(topic: topic, partition: p.partition, offset: base, records: batch.records,
                                                 produce: batch.value, fetch: exchange))
                    } else {
                        fetched.add(base, records: nil, exchange, to: key)
                    }
                }
            }
        }
        return chains
    }
}
