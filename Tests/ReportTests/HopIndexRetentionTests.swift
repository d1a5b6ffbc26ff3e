import Analyzer
import Testing

/// `HopIndex.Retention.chainsOfShown`, what `stat` keeps: the trees of the
/// records it will show, whole, and not the rest of the window.
@Suite("hop index: stat keeps the chains of what it shows, not every record of the window")
struct HopIndexRetentionTests {
    @Test("a child shown before its first hop arrives gets its whole chain once the first hop comes")
    func shownChildGetsLaterParents() {
        var index = HopIndex(retention: .chainsOfShown)
        let records = PipelineRecords(requests: 1).records // db hop, backend hop, front door
        index.add(records[0], shown: true)
        index.add(records[1])
        index.add(records[2])
        let hops = index.chain(for: records[0]).hops.compactMap(\.record).map(\.id)
        #expect(hops == [records[2].id, records[1].id, records[0].id])
        #expect(index.count == 3)
    }

    @Test("a first hop shown on arrival keeps the requests made below it, which came first")
    func shownRootKeepsChildren() {
        var index = HopIndex(retention: .chainsOfShown)
        let records = PipelineRecords(requests: 1).records
        index.add(records[0])
        index.add(records[1])
        index.add(records[2], shown: true)
        #expect(index.chain(for: records[2]).hops.compactMap(\.record).map(\.id) == [records[2].id, records[1].id, records[0].id])
    }

    @Test("trees with nothing shown are let go when their first hop arrives: memory follows the open requests, not the window")
    func unshownTreesLetGo() {
        var index = HopIndex(retention: .chainsOfShown)
        var everything = HopIndex()
        let records = PipelineRecords(requests: 20_000).records
        for record in records {
            index.add(record)
            everything.add(record)
        }
        #expect(everything.count == 60_000)
        // Only the recent first hops stay, for children that complete after them.
        #expect(index.count == 4096)
    }

    @Test("a child completing after its first hop (shown) still finds it among the recent first hops")
    func lateChildFindsRecentRoot() {
        var index = HopIndex(retention: .chainsOfShown)
        let records = PipelineRecords(requests: 1).records
        index.add(records[2]) // the front door first: nothing below it yet, let go but kept as a recent first hop
        index.add(records[1], shown: true)
        let chain = index.chain(for: records[1])
        #expect(chain.hops.compactMap(\.record).map(\.id) == [records[2].id, records[1].id])
        #expect(!chain.parentMissing)
    }

    @Test("shown trees are not forgotten by age, however many records come after them")
    func shownTreesOutliveCapacity() {
        var index = HopIndex(capacity: 100, retention: .chainsOfShown)
        let first = PipelineRecords(requests: 1).records
        for record in first { index.add(record, shown: record.parent == nil) }
        // 5,000 more trees, none shown, and children whose first hop never arrives (filtered out, say).
        for record in PipelineRecords(requests: 5_000).records.dropFirst(3) { index.add(record) }
        var orphan = first[0]
        for n in 0..<1_000 {
            orphan.id = 1_000_000 + UInt64(n)
            orphan.parent = 2_000_000 + UInt64(n)
            index.add(orphan)
        }
        #expect(index.chain(for: first[2]).hops.compactMap(\.record).count == 3)
        // The orphans are bounded by the capacity; the recent first hops by their own bound.
        #expect(index.count <= 3 + 100 + 4096)
    }
}
