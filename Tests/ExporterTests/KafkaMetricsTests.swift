import Analyzer
import Testing
@testable import Exporter
@testable import ExporterCore

@Suite("Kafka series")
struct KafkaMetricsTests {
    static func record(_ method: String, group: String? = nil, throttleMs: Int? = nil,
                       _ partitions: [RequestRecord.PartitionActivity]) -> RequestRecord {
        var attributes = ["kafka.client_id": "consumer-1"]
        if let group { attributes["kafka.group_id"] = group }
        if let throttleMs { attributes["kafka.throttle_ms"] = String(throttleMs) }
        var r = RequestRecord(id: 1, start: 1, duration: 600_000_000, protocolName: "kafka", method: method, target: "events",
                              status: 0, requestBytes: 1, responseBytes: 1, client: .init(ip: "10.0.0.2"),
                              server: .init(ip: "10.0.0.1"), side: .both, attributes: attributes)
        r.partitions = partitions
        return r
    }

    static func partition(_ p: Int32, error: Int16 = 0, fetch: Int64? = nil, hw: Int64? = nil, committed: Int64? = nil,
                          records: UInt32? = nil) -> RequestRecord.PartitionActivity {
        var a = RequestRecord.PartitionActivity(topic: "events", partition: p)
        (a.errorCode, a.fetchOffset, a.highWatermark, a.committedOffset, a.records) = (error, fetch, hw, committed, records)
        return a
    }

    @Test("lag and committed lag per consumer partition, throttle seconds and produce errors per topic; idle long polls are not slow")
    func series() {
        var metrics = RequestMetrics(slowThreshold: 500_000_000)
        var store = SeriesStore()
        store.apply(metrics.updates(for: Self.record("JoinGroup", group: "readers", [])))
        store.apply(metrics.updates(for: Self.record("Fetch", throttleMs: 250, [Self.partition(0, fetch: 40, hw: 50, records: 0)])))
        store.apply(metrics.updates(for: Self.record("OffsetCommit", group: "readers", [Self.partition(0, committed: 38)])))
        store.apply(metrics.updates(for: Self.record("Produce", [Self.partition(0, error: 6), Self.partition(1)])))
        var idle = Self.record("Fetch", [Self.partition(0, fetch: 50, hw: 50, records: 0)])
        idle.attributes["kafka.long_poll"] = "true"
        store.apply(metrics.updates(for: idle))
        let s = store.timeSeries(at: 1000)
        let p0 = ["consumer": "readers", "topic": "events", "partition": "0"]
        #expect(RequestMetricsTests.value(s, "pipetrace_kafka_consumer_lag_messages", p0) == 0)
        #expect(RequestMetricsTests.value(s, "pipetrace_kafka_consumer_committed_lag_messages", p0) == 12)
        #expect(RequestMetricsTests.value(s, "pipetrace_kafka_throttle_seconds_total", ["api": "Fetch", "topic": "events"]) == 0.25)
        #expect(RequestMetricsTests.value(s, "pipetrace_kafka_produce_errors_total", ["topic": "events", "error_code": "6"]) == 1)
        #expect(RequestMetricsTests.value(s, "pipetrace_kafka_produce_errors_total", ["error_code": "0"]) == nil)
        // Four 600 ms records are slow; the idle long poll is not.
        #expect(s.filter { $0.name == "pipetrace_slow_requests_total" }.map { $0.samples[0].value }.reduce(0, +) == 4)
    }

    @Test("the lag's age in seconds beside the lag in messages, where the produce of the next record was seen")
    func lagAge() {
        var metrics = RequestMetrics(slowThreshold: 500_000_000)
        var store = SeriesStore()
        var produce = Self.record("Produce", [Self.partition(0)])
        produce.partitions![0].baseOffset = 40
        produce.partitions![0].records = 10
        produce.start = 5_000_000_000
        var fetch = Self.record("Fetch", [Self.partition(0, fetch: 44, hw: 50)])
        fetch.start = 6_500_000_000
        store.apply(metrics.updates(for: produce))
        store.apply(metrics.updates(for: fetch))
        let s = store.timeSeries(at: 1000)
        let p0 = ["consumer": "consumer-1", "topic": "events", "partition": "0"]
        #expect(RequestMetricsTests.value(s, "pipetrace_kafka_consumer_lag_messages", p0) == 6)
        #expect(RequestMetricsTests.value(s, "pipetrace_kafka_consumer_lag_seconds", p0) == 1.5)
    }
}
