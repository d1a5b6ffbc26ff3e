@testable import Analyzer
import Testing

/// A complete Kafka record of `method` from `clientID` at 10.0.0.2.
func kafkaRecord(_ method: String, start: Int64 = 1, clientID: String = "consumer-1", group: String? = nil,
                 _ partitions: [RequestRecord.PartitionActivity], attributes: [String: String] = [:]) -> RequestRecord {
    var attributes = attributes
    attributes["kafka.client_id"] = clientID
    if let group { attributes["kafka.group_id"] = group }
    var record = RequestRecord(id: 1, start: start, duration: 1_000_000, protocolName: "kafka", method: method,
                               target: partitions.first?.topic, status: 0, requestBytes: 10, responseBytes: 10,
                               client: .init(pid: nil, comm: nil, container: nil, ip: "10.0.0.2", port: 4000),
                               server: .init(pid: nil, comm: nil, container: nil, ip: "10.0.0.1", port: 9092),
                               side: .both, attributes: attributes)
    record.partitions = partitions
    return record
}

func partition(_ p: Int32, topic: String = "events", fetch: Int64? = nil, hw: Int64? = nil, committed: Int64? = nil,
               records: UInt32? = nil) -> RequestRecord.PartitionActivity {
    var a = RequestRecord.PartitionActivity(topic: topic, partition: p)
    a.fetchOffset = fetch
    a.highWatermark = hw
    a.committedOffset = committed
    a.records = records
    a.errorCode = 0
    return a
}

@Suite("Consumer lag")
struct ConsumerLagTests {
    @Test("a Fetch's lag is the high watermark minus the offset asked from; a commit's, minus the committed offset")
    func fetchAndCommit() throws {
        var lag = ConsumerLag()
        lag.add(kafkaRecord("JoinGroup", group: "readers", []))
        lag.add(kafkaRecord("Fetch", [partition(0, fetch: 40, hw: 50), partition(1, fetch: 7, hw: 7)]))
        lag.add(kafkaRecord("OffsetCommit", group: "readers", [partition(0, committed: 45)]))
        let p0 = try #require(lag.lags[ConsumerLag.Key(consumer: "readers", topic: "events", partition: 0)])
        #expect(p0.messages == 10 && p0.committed == 5)
        #expect(lag.lags[ConsumerLag.Key(consumer: "readers", topic: "events", partition: 1)]?.messages == 0)
    }

    @Test("without a group the consumer is its client id")
    func clientID() {
        var lag = ConsumerLag()
        lag.add(kafkaRecord("Fetch", clientID: "solo", [partition(0, fetch: 1, hw: 3)]))
        #expect(lag.lags.keys.map(\.consumer) == ["solo"])
    }

    @Test("a flood of partitions evicts the least recently updated, counted")
    func bounded() {
        var lag = ConsumerLag(maxPartitions: 4)
        for p in Int32(0)..<10 { lag.add(kafkaRecord("Fetch", start: Int64(p), [partition(p, fetch: 0, hw: 1)])) }
        #expect(lag.lags.count == 4 && lag.evictions == 6)
        #expect(Set(lag.lags.keys.map(\.partition)) == [6, 7, 8, 9])
    }

    @Test("an idle long poll is counted but not ranked among the slowest")
    func idleLongPoll() {
        var stats = RequestStatistics(grouping: .consumer, ranking: .slowest, topCount: 5)
        var idle = kafkaRecord("Fetch", [partition(0, fetch: 3, hw: 3, records: 0)], attributes: ["kafka.long_poll": "true"])
        idle.duration = 500_000_000
        let busy = kafkaRecord("Fetch", [partition(0, fetch: 0, hw: 3, records: 3)], attributes: ["kafka.long_poll": "true"])
        stats.add(idle)
        stats.add(busy)
        #expect(idle.isIdleLongPoll && !busy.isIdleLongPoll)
        let summary = stats.summaries
        #expect(summary.map(\.key) == ["consumer-1"] && summary.first?.count == 2)
        #expect(summary.first?.top == [busy])
    }
}

@Suite("Consumer lag age")
struct ConsumerLagAgeTests {
    @Test("the age is the fetch's time minus the produce time of the batch at the consumer's next offset; 0 when caught up")
    func age() throws {
        var lag = ConsumerLag()
        lag.add(produce(1, start: 10_000_000_000, [(0, base: 40, records: 5)]))
        lag.add(produce(2, start: 11_000_000_000, [(0, base: 45, records: 5)]))
        let key = ConsumerLag.Key(consumer: "consumer-1", topic: "events", partition: 0)
        // Offset 42 is in the batch produced at 10 s; asked at 12.5 s.
        lag.add(fetch(3, start: 12_500_000_000, [(0, from: 42, hw: 50, batches: [40])]))
        #expect(lag.lags[key]?.messages == 8 && lag.lags[key]?.age == 2_500_000_000)
        lag.add(fetch(4, start: 13_000_000_000, [(0, from: 45, hw: 50, batches: [45])]))
        #expect(lag.lags[key]?.age == 2_000_000_000)
        lag.add(fetch(5, start: 14_000_000_000, [(0, from: 50, hw: 50, batches: [])]))
        #expect(lag.lags[key]?.messages == 0 && lag.lags[key]?.age == 0)
        // Behind, from before anything was seen produced: the age is unknown, not guessed.
        lag.add(fetch(6, start: 15_000_000_000, [(0, from: 10, hw: 50, batches: [10])]))
        #expect(lag.lags[key]?.messages == 40 && lag.lags[key]?.age == nil)
    }
}
