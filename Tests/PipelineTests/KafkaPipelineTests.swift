@testable import Analyzer
import Foundation
import Glibc
import TestSupport
import Testing

/// Kafka on the real kernel, judged by real peers: a Tansu broker, kafka-python's
/// own view of what it sent, read and lags by, and tshark's kafka dissector
/// on a capture of the same traffic.
@Suite("Kafka through a real broker (root)", .serialized, .enabled(if: RootRequirement.testsEnabled))
struct KafkaPipelineTests {
    static let count = 6

    func run(_ pipeline: TestPipeline, topic: String, group: String?, old: Bool)
        throws -> (records: [RequestRecord], events: [KafkaClientEvent], capture: String) {
        var capture: (Child, String)?
        let traced = try PipelineRun.trace(pipeline) {
            try pipeline.startKafkaBroker()
            capture = try pipeline.startCapture("kafka.pcap")
            return try pipeline.startKafkaClients(topic: topic, count: KafkaPipelineTests.count, group: group, old: old)
        }
        let events = try pipeline.kafkaEvents(of: traced.client)
        usleep(200_000)
        let (tcpdump, path) = try #require(capture)
        tcpdump.signal(SIGKILL)
        tcpdump.wait()
        let records = traced.records.filter { $0.protocolName == "kafka" }.sorted { $0.start < $1.start }
        return (records, events, path)
    }

    /// Every message the producer was told it sent is a Produce's base offset; every one the consumer read is a fetched batch.
    static func agree(_ records: [RequestRecord], _ events: [KafkaClientEvent], topic: String) throws {
        #expect(records.allSatisfy { $0.side == .both && $0.isComplete }, "\(records.filter { $0.side != .both || !$0.isComplete }.map(\.json))")
        let produced = records.filter { $0.method == "Produce" }
        #expect(produced.allSatisfy { $0.target == topic && $0.status == 0 && $0.outcome == .ok })
        let sent = Set(events.filter { $0.event == "sent" }.map { "\($0.partition)@\($0.offset ?? -1)" })
        let based = Set(produced.flatMap { $0.partitions ?? [] }.map { "\($0.partition)@\($0.baseOffset ?? -1)" })
        #expect(sent.count == count && based == sent)
        let read = Set(events.filter { $0.event == "read" }.map { "\($0.partition)@\($0.offset ?? -1)" })
        let fetched = Set(records.filter { $0.method == "Fetch" }.flatMap { $0.partitions ?? [] }
            .flatMap { p in p.batchOffsets.map { "\(p.partition)@\($0)" } })
        #expect(read.count == count && fetched == read)
        // Each message its own batch (linger 0, one send at a time): every one read is a produce → fetch chain,
        // the produce that was told that offset linked to the consumer's fetch that carried it.
        var matcher = KafkaChainMatcher()
        var index = HopIndex()
        var chains: [KafkaChain] = []
        for record in records.sorted(by: { $0.start + Int64($0.duration) < $1.start + Int64($1.duration) }) {
            chains += matcher.add(record)
            index.add(record)
        }
        #expect(Set(chains.map { "\($0.partition)@\($0.offset)" }) == read)
        let byID = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0) })
        for chain in chains {
            let produce = byID[chain.produce.id], fetch = byID[chain.fetch.id]
            #expect(produce?.method == "Produce" && fetch?.method == "Fetch" && chain.topic == topic)
            #expect(produce?.partitions?.contains { $0.partition == chain.partition && $0.baseOffset == chain.offset } == true)
            #expect(fetch?.partitions?.contains { $0.partition == chain.partition && $0.batchOffsets.contains(chain.offset) } == true)
            // Shown as hop chains: the fetch below the produce of each batch it carried, the produce above its fetches.
            let above = index.chain(for: try #require(fetch)).hops
            #expect(above.contains { $0.record?.id == chain.produce.id && $0.depth == 0 && $0.kafka?.offset == chain.offset })
            #expect(above.last?.record?.id == chain.fetch.id && above.last?.isFocus == true)
            let below = index.chain(for: try #require(produce)).hops
            #expect(below.first?.record?.id == chain.produce.id)
            #expect(below.contains { $0.record?.id == chain.fetch.id && $0.depth == 1 && $0.kafka?.offset == chain.offset })
        }
        // The consumer's own lag at its end: the last Fetch of each partition asked from its final position.
        for lag in events.filter({ $0.event == "lag" && $0.phase == "end" }) {
            let last = records.filter { $0.method == "Fetch" }.compactMap { $0.partitions?.first { $0.partition == lag.partition } }.last
            let wire = last.flatMap { p in p.highWatermark.flatMap { hw in p.fetchOffset.map { hw - $0 } } }
            #expect(wire == lag.lag, "partition \(lag.partition): pipetrace \(String(describing: wire)), client \(String(describing: lag.lag))")
        }
    }

    @Test("recent versions (kafka-python's defaults, flexible): produce base offsets, fetched batches and lag as the clients saw them")
    func recentVersions() throws {
        let pipeline = try TestPipeline()
        defer { pipeline.remove() }
        let (records, events, _) = try run(pipeline, topic: "events", group: nil, old: false)
        try KafkaPipelineTests.agree(records, events, topic: "events")
        // The lag the consumer saw before it read: the first Fetch of each partition asked from 0 with the end at 3.
        for lag in events.filter({ $0.event == "lag" && $0.phase == "start" }) {
            let first = records.filter { $0.method == "Fetch" }.compactMap { $0.partitions?.first { $0.partition == lag.partition } }.first
            #expect(first.flatMap { p in p.highWatermark.flatMap { hw in p.fetchOffset.map { hw - $0 } } } == lag.lag)
        }
        #expect(records.filter { $0.method == "Fetch" }.allSatisfy { $0.attributes["kafka.long_poll"] == "true" })
        // The lag's age at the first Fetch of each partition: since the produce of offset 0, which the client made before.
        var tracker = ConsumerLag()
        for record in records { tracker.add(record) }
        for p: Int32 in [0, 1] {
            let first = try #require(records.first { $0.method == "Fetch" && $0.partitions?.contains { $0.partition == p } == true })
            let produced = try #require(records.first { $0.method == "Produce" && $0.partitions?.contains { $0.partition == p && $0.baseOffset == 0 } == true })
            var alone = ConsumerLag()
            alone.add(produced)
            alone.add(first)
            let age = alone.lags[ConsumerLag.Key(consumer: "pt-consume", topic: "events", partition: p)]?.age
            #expect(age == UInt64(first.start - produced.start), "partition \(p)")
            let made = try #require(events.first { $0.event == "read" && $0.partition == p && $0.offset == 0 }?.timestamp)
            #expect(made * 1_000_000 <= produced.start + 1_000_000, "the record was made before its produce was sent")
            // At the end, caught up: no age.
            #expect(tracker.lags[ConsumerLag.Key(consumer: "pt-consume", topic: "events", partition: p)]?.age == 0)
        }
        #expect(Set(records.compactMap(\.method)).isSuperset(of: ["ApiVersions", "Metadata", "CreateTopics", "Produce", "ListOffsets", "Fetch"]))
    }

    @Test("a consumer group: JoinGroup, SyncGroup, OffsetCommit named by the group; committed offsets as the client's")
    func consumerGroup() throws {
        let pipeline = try TestPipeline()
        defer { pipeline.remove() }
        let (records, events, _) = try run(pipeline, topic: "grouped", group: "readers", old: false)
        try KafkaPipelineTests.agree(records, events, topic: "grouped")
        for api in ["FindCoordinator", "JoinGroup", "SyncGroup", "OffsetFetch", "OffsetCommit", "LeaveGroup"] {
            let named = records.filter { $0.method == api }
            #expect(!named.isEmpty && named.allSatisfy { $0.target == "readers" }, "\(api): \(named.map(\.json))")
        }
        let committed = records.filter { $0.method == "OffsetCommit" }.flatMap { $0.partitions ?? [] }
        // The lag tracker names the fetching client by its group, and agrees with the client's own lag.
        var tracker = ConsumerLag()
        for record in records { tracker.add(record) }
        for lag in events.filter({ $0.event == "lag" && $0.phase == "end" }) {
            #expect(committed.last { $0.partition == lag.partition }?.committedOffset == lag.committed)
            let wire = tracker.lags[ConsumerLag.Key(consumer: "readers", topic: "grouped", partition: lag.partition)]
            #expect(wire?.messages == lag.lag && wire?.committed == (lag.end ?? 0) - (lag.committed ?? 0),
                    "\(String(describing: wire)) vs client \(lag)")
        }
    }

    @Test("tshark's kafka dissector on a capture (the versions it knows): every request one record, same API, topics and error code")
    func tshark() throws {
        let pipeline = try TestPipeline()
        defer { pipeline.remove() }
        let (records, events, capture) = try run(pipeline, topic: "judged", group: "readers", old: true)
        try KafkaPipelineTests.agree(records, events, topic: "judged")
        let tshark = try TsharkKafka(capture: capture, port: pipeline.kafkaPort)
        func key(_ api: String, _ topics: [String], _ error: Int?) -> String {
            "\(api) \(topics.joined(separator: ",")) \(error.map(String.init) ?? "?")"
        }
        let seen = tshark.exchanges.map { e in
            key(KafkaAPI.name(Int16(e.apiKey)), e.topics, e.errors.isEmpty ? nil : e.errors.first { $0 != 0 } ?? 0)
        }.sorted()
        let live = records.map { r in
            // Topics named without partitions (Metadata, CreateTopics) are the target, unless that is the group.
            let named = r.attributes["kafka.group_id"] == nil && r.method != "FindCoordinator"
                ? r.target?.split(separator: ",").map(String.init) ?? [] : []
            let topics = Set((r.partitions ?? []).compactMap(\.topic) + named).sorted()
            return key(r.method ?? "?", topics, r.status)
        }.sorted()
        #expect(seen.count >= 20)
        #expect(live == seen)
        // The capture through `analyze --group-by consumer`: the consumer's lag table (caught up, no age
        // left) and the produce → fetch chain of every batch.
        let text = try Shell.run([Repository.pipetraceBinary, "analyze", capture, "--group-by", "consumer", "--top", "20"])
        let lag = text.split(separator: "\n").filter { $0.hasPrefix("readers ") && $0.contains("judged[") }
        #expect(lag.count == 2 && lag.allSatisfy { $0.split(separator: " ").suffix(3) == ["0", "0", "0.000"] }, "\(text)")
        // Every produce is among its group's top 20, each with the fetch of its batch below it.
        for read in events.filter({ $0.event == "read" }) {
            #expect(text.contains("judged[\(read.partition)]@\(read.offset ?? -1), "), "\(read.partition)@\(String(describing: read.offset)): \(text)")
        }
        #expect(text.contains(" ms in broker"))
    }
}
