/// One AMQP message followed from its publisher through the broker to a
/// consumer: a basic.publish record and a basic.deliver record of the same
/// message, or the basic.get whose get-ok carried it (see `AMQPChainMatcher`
/// for what makes them the same). Times in nanoseconds.
public struct AMQPChain: Sendable, Hashable {
    /// The exchange it was published to ("" the default one) and its routing key.
    public var exchange: String
    public var routingKey: String
    /// The queue it was delivered from, when the consumer's basic.consume was seen.
    public var queue: String?
    /// The publisher's message id; nil when it set none (matched by fingerprint).
    public var messageID: String?
    public var publish: BrokerChain.End
    public var deliver: BrokerChain.End

    /// "exchange/routing-key", the default exchange as "amq.default" (as records name it).
    public var destination: String { AMQPParser.destination(exchange, routingKey) ?? "" }

    /// Time in the broker: the publish's first byte to the delivery's; 0
    /// when the delivery's start was stamped first (clocks of two hosts).
    public var brokerTime: UInt64 { UInt64(clamping: max(0, deliver.start &- publish.start)) }
    /// Whether the consumer took it with basic.get (its end is the get, asked for and answered).
    public var gotByPolling = false
    /// The consumer's processing time: the delivery to its ack, nack or reject;
    /// nil for a basic.get, whose record is the poll's round trip.
    public var processingTime: UInt64? { gotByPolling ? nil : deliver.duration }
}

/// Links basic.publish and basic.deliver records into `AMQPChain`s. Pure:
/// records in, chains out. Records arrive as their exchanges complete (a
/// confirmed publish at its confirm, a delivery at the consumer's ack), so
/// either end may come first; the one not yet matched waits in a window.
///
/// A publish and a delivery are one message when they name the same
/// exchange and routing key and either the same message id (when the
/// publisher set one) or, without one, the same `amqp.fingerprint` (a hash
/// of the content header's properties, the body size and the body's first
/// 64 bytes). A message delivered again (requeued, or routed to several
/// queues) makes a chain each time. Two publishes in the window that
/// cannot be told apart (same destination and id, or no id and the same
/// fingerprint) are never linked: their deliveries stay unlinked and are
/// counted in `ambiguous`. Records without id or fingerprint (the
/// properties or body head went uncaptured) are not matched.
///
/// Bounded by `RecentWindows`: the last `messagesPerDestination` messages
/// per exchange and routing key, at most `maxDestinations` of them, evictions counted.
public struct AMQPChainMatcher: Sendable {
    struct Delivered: Sendable {
        var end: BrokerChain.End
        var queue: String?
        var polled: Bool
    }

    /// Publishes by destination and identity, and deliveries no publish has matched yet.
    public private(set) var published: RecentWindows<String, BrokerChain.End>
    private var delivered: RecentWindows<String, Delivered>
    /// Deliveries left unlinked because several publishes in the window matched them.
    public private(set) var ambiguous: UInt64 = 0

    public init(maxDestinations: Int = 256, messagesPerDestination: Int = 1024) {
        published = RecentWindows(maxPartitions: maxDestinations, batchesPerPartition: messagesPerDestination)
        delivered = RecentWindows(maxPartitions: maxDestinations, batchesPerPartition: messagesPerDestination)
    }

    /// Destinations dropped from tracking past `maxDestinations` (publish and delivery windows).
    public var destinationsEvicted: UInt64 { published.partitionsEvicted + delivered.partitionsEvicted }

    /// Whether `record` is an end this matcher takes: a publish, a delivery, or a get answered with a message.
    static func isEnd(_ record: RequestRecord) -> Bool {
        record.method == "basic.publish" || record.method == "basic.deliver"
            || (record.method == "basic.get" && record.attributes["amqp.reply"] == "basic.get-ok")
    }

    /// Takes one record; returns the chains it completes.
    public mutating func add(_ record: RequestRecord) -> [AMQPChain] {
        guard record.protocolName == AMQPParser.protocolName, Self.isEnd(record) else { return [] }
        let a = record.attributes
        let messageID = a["amqp.message_id"]
        guard let identity = messageID.map({ "id\u{0}" + $0 }) ?? a["amqp.fingerprint"].map({ "fp\u{0}" + $0 }) else { return [] }
        let exchange = a["amqp.exchange"] ?? "", routingKey = a["amqp.routing_key"] ?? ""
        let destination = exchange + "\u{0}" + routingKey
        var hash = AMQPParser.FNV1a()
        hash.combine(identity.utf8)
        let key = Int64(bitPattern: hash.value)
        let end = BrokerChain.End(record)
        func chain(publish: BrokerChain.End, deliver: BrokerChain.End, queue: String?, polled: Bool) -> AMQPChain {
            AMQPChain(exchange: exchange, routingKey: routingKey, queue: queue, messageID: messageID,
                      publish: publish, deliver: deliver, gotByPolling: polled)
        }
        if record.method == "basic.publish" {
            let twin = published.count(key, in: destination) > 0
            published.add(key, records: nil, end, to: destination)
            let waiting = delivered.take(key, from: destination)
            if twin {
                ambiguous += UInt64(waiting.count)
                return []
            }
            return waiting.map { chain(publish: end, deliver: $0.value.end, queue: $0.value.queue, polled: $0.value.polled) }
        }
        let polled = record.method == "basic.get"
        // A get names its queue as its target; a delivery, through its consumer's basic.consume.
        let queue = polled ? record.target : a["amqp.queue"]
        let publishes = published.count(key, in: destination)
        if publishes > 1 {
            ambiguous += 1
            return []
        }
        guard publishes == 1, let publish = published.batch(startingAt: key, in: destination) else {
            delivered.add(key, records: nil, Delivered(end: end, queue: queue, polled: polled), to: destination)
            return []
        }
        return [chain(publish: publish.value, deliver: end, queue: queue, polled: polled)]
    }
}
