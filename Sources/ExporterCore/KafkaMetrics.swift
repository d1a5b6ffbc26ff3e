import Analyzer

/// Kafka's series, from Kafka records: consumer lag (`ConsumerLag`), the
/// broker's throttling and produce errors per topic, the "broker pushes
/// back" signals. Pure, like `RequestMetrics`, which feeds it its Kafka
/// records and hands its updates on.
public struct KafkaMetrics: Sendable {
    public static let lag = MetricFamily(
        name: "pipetrace_kafka_consumer_lag_messages",
        help: "High watermark minus the consumer's next fetch offset, at its last Fetch (per consumer: group or client id).",
        kind: .gauge)
    public static let committedLag = MetricFamily(
        name: "pipetrace_kafka_consumer_committed_lag_messages",
        help: "High watermark minus the group's last committed offset (OffsetCommit or OffsetFetch seen).",
        kind: .gauge)
    public static let lagAge = MetricFamily(
        name: "pipetrace_kafka_consumer_lag_seconds",
        help: "Age of the consumer's lag at its last Fetch: how long before it the record at its next offset was produced (0 when caught up; only where that Produce was seen).",
        kind: .gauge)
    public static let throttle = MetricFamily(
        name: "pipetrace_kafka_throttle_seconds_total",
        help: "Time the broker asked clients to hold back (throttle_time_ms of responses), per API and topic.",
        kind: .counter)
    public static let produceErrors = MetricFamily(
        name: "pipetrace_kafka_produce_errors_total",
        help: "Produce partitions answered with an error code, per topic and code.",
        kind: .counter)
    public static let evictions = MetricFamily(
        name: "pipetrace_kafka_lag_evictions_total",
        help: "Consumer partitions dropped from lag tracking past its bound (the least recently updated).",
        kind: .counter)
    public static let producedEvictions = MetricFamily(
        name: "pipetrace_kafka_produced_partitions_evicted_total",
        help: "Partitions whose recent produced batches (what the lag's age is read from) were dropped past the bound.",
        kind: .counter)

    private var consumerLag: ConsumerLag
    private var pending: [MetricUpdate] = []
    private var evictionsReported: UInt64 = 0
    private var producedEvictionsReported: UInt64 = 0

    public init(maxPartitions: Int = 10_000) {
        consumerLag = ConsumerLag(maxPartitions: maxPartitions)
    }

    public mutating func add(_ record: RequestRecord) {
        for key in consumerLag.add(record) {
            guard let value = consumerLag.lags[key] else { continue }
            let labels = [MetricLabel("consumer", key.consumer), MetricLabel("partition", String(key.partition)),
                          MetricLabel("topic", key.topic)]
            if let messages = value.messages { pending.append(.set(Self.lag, labels, to: Double(messages))) }
            if let committed = value.committed { pending.append(.set(Self.committedLag, labels, to: Double(committed))) }
            if let age = value.age { pending.append(.set(Self.lagAge, labels, to: Double(age) / 1e9)) }
        }
        if consumerLag.producedPartitionsEvicted > producedEvictionsReported {
            pending.append(.increment(Self.producedEvictions, [],
                                      by: Double(consumerLag.producedPartitionsEvicted - producedEvictionsReported)))
            producedEvictionsReported = consumerLag.producedPartitionsEvicted
        }
        if consumerLag.evictions > evictionsReported {
            pending.append(.increment(Self.evictions, [], by: Double(consumerLag.evictions - evictionsReported)))
            evictionsReported = consumerLag.evictions
        }
        if let text = record.attributes["kafka.throttle_ms"], let ms = Double(text), ms > 0 {
            pending.append(.increment(Self.throttle, [MetricLabel("api", record.method ?? "unknown"),
                                                      MetricLabel("topic", record.target ?? "")], by: ms / 1000))
        }
        if record.method == "Produce" {
            for p in record.partitions ?? [] {
                guard let code = p.errorCode, code != 0 else { continue }
                pending.append(.increment(Self.produceErrors, [MetricLabel("error_code", String(code)),
                                                               MetricLabel("topic", p.topic ?? "")], by: 1))
            }
        }
    }

    /// The updates of every record added since the last call.
    public mutating func takeUpdates() -> [MetricUpdate] {
        defer { pending.removeAll(keepingCapacity: true) }
        return pending
    }
}
