/// A message followed through a broker: a Kafka batch from its produce to a
/// fetch, or an AMQP message from its publish to a delivery.
public enum BrokerChain: Sendable, Hashable {
    case kafka(KafkaChain)
    case amqp(AMQPChain)

    public var kafka: KafkaChain? { if case .kafka(let k) = self { k } else { nil } }
    public var amqp: AMQPChain? { if case .amqp(let a) = self { a } else { nil } }

    /// One end of a chain (a produce or fetch, a publish or delivery): its record's id and times.
    public struct End: Sendable, Hashable {
        public var id: UInt64
        /// Unix ns of the request's first byte.
        public var start: Int64
        public var duration: UInt64
        /// Unix ns the response was done.
        public var end: Int64 { start &+ Int64(clamping: duration) }

        init(_ record: RequestRecord) {
            id = record.id
            start = record.start
            duration = record.duration
        }
    }

    /// The record that sent it to the broker (a produce, a publish).
    public var sent: UInt64 {
        switch self {
        case .kafka(let k): k.produce.id
        case .amqp(let a): a.publish.id
        }
    }

    /// The record that took it from the broker (a fetch, a delivery).
    public var received: UInt64 {
        switch self {
        case .kafka(let k): k.fetch.id
        case .amqp(let a): a.deliver.id
        }
    }
}

/// Kafka's and AMQP's chain matchers behind one `add`: what the hop index,
/// `watch` and the span linker feed every record to.
public struct BrokerChainMatcher: Sendable {
    public private(set) var kafka = KafkaChainMatcher()
    public private(set) var amqp = AMQPChainMatcher()

    public init() {}

    /// Whether `record` can be an end of a chain: a Kafka produce given a
    /// base offset or a fetch that carried batches, an AMQP publish or delivery.
    public static func mayLink(_ record: RequestRecord) -> Bool {
        switch record.protocolName {
        case KafkaParser.protocolName:
            (record.partitions ?? []).contains { $0.baseOffset != nil || !$0.batchOffsets.isEmpty }
        case AMQPParser.protocolName:
            AMQPChainMatcher.isEnd(record)
        default:
            false
        }
    }

    /// Takes one record; returns the chains it completes.
    public mutating func add(_ record: RequestRecord) -> [BrokerChain] {
        switch record.protocolName {
        case KafkaParser.protocolName: kafka.add(record).map(BrokerChain.kafka)
        case AMQPParser.protocolName: amqp.add(record).map(BrokerChain.amqp)
        default: []
        }
    }
}
