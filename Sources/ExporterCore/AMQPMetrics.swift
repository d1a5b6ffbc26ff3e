import Analyzer

/// AMQP's series, from AMQP records: publishes by how the broker answered
/// them (its confirm), deliveries by how the consumer answered them,
/// redeliveries, and channels or connections closed with an error. Pure,
/// like `KafkaMetrics`; `RequestMetrics` feeds it its AMQP records.
///
/// Exchange and queue names are labels: past `maxNames` distinct ones,
/// further names count as "other", so a flood of names cannot grow the series without bound.
public struct AMQPMetrics: Sendable {
    public static let publishes = MetricFamily(
        name: "pipetrace_amqp_publishes_total",
        help: "Messages published (basic.publish) per exchange and the broker's confirm: ack, nack, none (no confirm mode), cancelled (the channel closed first).",
        kind: .counter)
    public static let deliveries = MetricFamily(
        name: "pipetrace_amqp_deliveries_total",
        help: "Messages delivered to consumers (basic.deliver) per queue and the consumer's answer: ack, nack, reject, no-ack, cancelled.",
        kind: .counter)
    public static let redeliveries = MetricFamily(
        name: "pipetrace_amqp_redeliveries_total",
        help: "Deliveries with the redelivered flag (a message given to a consumer before), per queue.",
        kind: .counter)
    public static let closes = MetricFamily(
        name: "pipetrace_amqp_error_closes_total",
        help: "Channels and connections closed with a reply code other than 200, per method (channel.close, connection.close) and code.",
        kind: .counter)
    public static let evictions = MetricFamily(
        name: "pipetrace_amqp_outstanding_evictions_total",
        help: "Publishes and deliveries given up waiting for their answer past the parser's bound on outstanding delivery tags.",
        kind: .counter)

    public let maxNames: Int
    private var names: Set<String> = []
    private var pending: [MetricUpdate] = []

    public init(maxNames: Int = 1000) {
        self.maxNames = maxNames
    }

    public mutating func add(_ record: RequestRecord) {
        let a = record.attributes
        if a["amqp.evicted"] != nil { pending.append(.increment(Self.evictions, [], by: 1)) }
        switch record.method {
        case "basic.publish":
            let exchange = a["amqp.exchange"].map { $0.isEmpty ? "amq.default" : $0 } ?? ""
            pending.append(.increment(Self.publishes, [MetricLabel("confirm", Self.answer(a)),
                                                       MetricLabel("exchange", bounded(exchange))], by: 1))
        case "basic.deliver":
            let queue = MetricLabel("queue", bounded(a["amqp.queue"] ?? ""))
            pending.append(.increment(Self.deliveries, [MetricLabel("answer", Self.answer(a)), queue], by: 1))
            if a["amqp.redelivered"] == "true" { pending.append(.increment(Self.redeliveries, [queue], by: 1)) }
        case "channel.close", "connection.close":
            guard let code = record.status, code != 200, let method = record.method else { return }
            pending.append(.increment(Self.closes, [MetricLabel("method", method), MetricLabel("reply_code", String(code))], by: 1))
        default:
            break
        }
    }

    /// How a publish or delivery was answered: "ack", "nack", "reject", "no-ack", "cancelled", or "none".
    static func answer(_ a: [String: String]) -> String {
        guard let reply = a["amqp.reply"] else { return "none" }
        switch reply {
        case "basic.ack", "basic.nack", "basic.reject": return String(reply.dropFirst("basic.".count))
        case "no-ack": return reply
        default: return "cancelled" // a close ended it
        }
    }

    private mutating func bounded(_ name: String) -> String {
        if names.contains(name) { return name }
        guard names.count < maxNames else { return "other" }
        names.insert(name)
        return name
    }

    /// The updates of every record added since the last call.
    public mutating func takeUpdates() -> [MetricUpdate] {
        defer { pending.removeAll(keepingCapacity: true) }
        return pending
    }
}
