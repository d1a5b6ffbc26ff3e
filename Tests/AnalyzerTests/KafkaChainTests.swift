@testable import Analyzer
import Testing

/// A Produce (id `id`, sent at `start`, answered 1 ms later) of `partitions` with their base offsets.
func produce(_ id: UInt64, start: Int64, _ partitions: [(Int32, base: Int64, records: UInt32)], topic: String = "events") -> RequestRecord {
    var record = kafkaRecord("Produce", start: start, clientID: "producer-1", partitions.map { p, base, records in
        var a = partition(p, topic: topic, records: records)
        a.baseOffset = base
        return a
    })
    record.id = id
    return record
}

/// A Fetch (id `id`, asked at `start`, answered 1 ms later) returning batches at `offsets` per partition.
func fetch(_ id: UInt64, start: Int64, _ partitions: [(Int32, from: Int64, hw: Int64, batches: [Int64])],
           topic: String = "events") -> RequestRecord {
    var record = kafkaRecord("Fetch", start: start, partitions.map { p, from, hw, batches in
        var a = partition(p, topic: topic, fetch: from, hw: hw)
        a.batchOffsets = batches
        return a
    })
    record.id = id
    return record
}

@Suite("Kafka produce → broker → consumer chains")
struct KafkaChainTests {
    @Test("a fetched batch is chained to the produce that gave its base offset, with the time it spent in the broker")
    func produceThenFetch() throws {
        var matcher = KafkaChainMatcher()
        #expect(matcher.add(produce(1, start: 1_000_000_000, [(0, base: 40, records: 5), (1, base: 7, records: 2)])).isEmpty)
        let chains = matcher.add(fetch(2, start: 1_004_000_000, [(0, from: 40, hw: 45, batches: [40]), (1, from: 9, hw: 9, batches: [])]))
        let chain = try #require(chains.first)
        #expect(chains.count == 1)
        #expect(chain.topic == "events" && chain.partition == 0 && chain.offset == 40 && chain.records == 5)
        #expect(chain.produce.id == 1 && chain.fetch.id == 2)
        // Produce answered at 1.001 s, the fetch at 1.005 s.
        #expect(chain.brokerTime == 4_000_000)
        // Another consumer fetching the same batch is another chain; another partition's batch 40 is none.
        #expect(matcher.add(fetch(3, start: 1_010_000_000, [(0, from: 40, hw: 45, batches: [40])])).map(\.fetch.id) == [3])
        #expect(matcher.add(fetch(4, start: 1_010_000_000, [(2, from: 40, hw: 45, batches: [40])])).isEmpty)
    }

    @Test("a fetch answered before the producer was (records complete out of order) is chained when the produce comes")
    func fetchThenProduce() throws {
        var matcher = KafkaChainMatcher()
        #expect(matcher.add(fetch(2, start: 1_000_000_000, [(0, from: 3, hw: 4, batches: [3])])).isEmpty)
        let chain = try #require(matcher.add(produce(1, start: 1_000_500_000, [(0, base: 3, records: 1)])).first)
        #expect(chain.produce.id == 1 && chain.fetch.id == 2 && chain.offset == 3 && chain.brokerTime == 0)
        // Matched once: the waiting fetch is gone.
        #expect(matcher.add(produce(5, start: 1_002_000_000, [(0, base: 3, records: 1)])).isEmpty)
    }

    @Test("errors, other APIs and batches from before the window link nothing")
    func unmatched() {
        var matcher = KafkaChainMatcher(batchesPerPartition: 2)
        var failed = produce(1, start: 0, [(0, base: 10, records: 1)])
        failed.partitions![0].errorCode = 6
        #expect(matcher.add(failed).isEmpty)
        for (id, base) in [(2, 11), (3, 12), (4, 13)] as [(UInt64, Int64)] {
            _ = matcher.add(produce(id, start: 0, [(0, base: base, records: 1)]))
        }
        #expect(matcher.produced.batchesDropped == 1)
        let chains = matcher.add(fetch(5, start: 1, [(0, from: 10, hw: 14, batches: [10, 11, 12, 13])]))
        #expect(chains.map(\.offset) == [12, 13])
        #expect(matcher.add(kafkaRecord("ListOffsets", [partition(0, fetch: 12)])).isEmpty)
    }

    @Test("a flood of partitions evicts tracked partitions, idle ones first, and counts them")
    func partitionFlood() {
        var matcher = KafkaChainMatcher(maxPartitions: 100)
        _ = matcher.add(produce(1, start: 0, [(0, base: 0, records: 1)], topic: "busy"))
        for i in 0..<1_000 {
            _ = matcher.add(produce(UInt64(i + 2), start: 0, [(Int32(i), base: 0, records: 1)], topic: "flood"))
            // The busy partition is looked up again and again: it keeps its place.
            if i % 50 == 0 {
                #expect(!matcher.add(fetch(UInt64(10_000 + i), start: 1, [(0, from: 0, hw: 1, batches: [0])], topic: "busy")).isEmpty)
            }
        }
        #expect(matcher.produced.partitionCount == 100)
        #expect(matcher.produced.partitionsEvicted == 901)
        #expect(matcher.partitionsEvicted == 901)
        #expect(!matcher.add(fetch(20_000, start: 1, [(999, from: 0, hw: 1, batches: [0])], topic: "flood")).isEmpty)
        #expect(matcher.add(fetch(20_001, start: 1, [(0, from: 0, hw: 1, batches: [0])], topic: "flood")).isEmpty)
    }

    @Test("the hop index shows a produce with the fetches of its batches below it, from either end")
    func hopChain() throws {
        var index = HopIndex()
        let p = produce(1, start: 1_000_000_000, [(0, base: 40, records: 5)])
        let f = fetch(2, start: 1_002_000_000, [(0, from: 40, hw: 45, batches: [40])])
        index.add(p)
        index.add(f)
        // A fetch of two batches is shown below both their produces.
        let p2 = produce(3, start: 1_001_000_000, [(0, base: 45, records: 1)])
        let f2 = fetch(4, start: 1_003_000_000, [(0, from: 40, hw: 46, batches: [40, 45])])
        index.add(p2)
        index.add(f2)
        #expect(index.chain(for: f2).hops.map { $0.record?.id } == [1, 3, 4])
        #expect(index.chain(for: f2).hops.map(\.depth) == [0, 0, 1])
        #expect(index.chain(for: f2).hops.map { $0.kafka?.offset } == [40, 45, nil])
        for focus in [p, f] {
            let chain = index.chain(for: focus)
            #expect(chain.hops.map { $0.record?.id } == (focus.id == 1 ? [1, 2, 4] : [1, 2]))
            #expect(chain.hops.map(\.depth) == (focus.id == 1 ? [0, 1, 1] : [0, 1]))
            #expect(chain.hops.first { $0.isFocus }?.record?.id == focus.id)
            #expect(chain.hops.compactMap(\.kafka).map(\.brokerTime).first == 2_000_000)
        }
    }
}
