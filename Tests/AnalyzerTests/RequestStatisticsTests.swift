import TestSupport
@testable import Analyzer
import Testing

@Suite("Statistics")
struct RequestStatisticsTests {
    func record(_ id: UInt64, target: String, duration: UInt64, bytes: UInt64 = 0, server: String = "api") -> RequestRecord {
        RequestRecord(id: id, start: 0, duration: duration, protocolName: "http/1.1", method: "GET", target: target,
                      status: 200, requestBytes: 0, responseBytes: bytes,
                      client: .init(ip: "10.0.0.1", port: 40000, container: "app"),
                      server: .init(ip: "10.0.0.2", port: 8080, container: server), side: .client)
    }

    @Test("small values are exact: percentiles of 1...100")
    func exactSmall() {
        var h = LatencyHistogram()
        for v in 1...100 as ClosedRange<UInt64> { h.record(v) }
        #expect([h.value(atPercentile: 50), h.value(atPercentile: 90), h.value(atPercentile: 99), h.max] == [50, 90, 99, 100])
        #expect(h.mean == 50.5 && h.count == 100 && h.min == 1)
    }

    @Test("large values keep three significant digits, unlike power-of-two buckets")
    func accuracy() {
        var rng = SplitMix64(seed: 1)
        var h = LatencyHistogram()
        var values: [UInt64] = []
        for _ in 0..<10_000 {
            let v = UInt64.random(in: 1_000...10_000_000_000, using: &rng)
            values.append(v)
            h.record(v)
        }
        values.sort()
        for p in [50.0, 90, 99, 99.9] {
            let exact = values[Int((p / 100 * Double(values.count)).rounded(.up)) - 1]
            let got = h.value(atPercentile: p)
            #expect(got >= exact && Double(got - exact) <= Double(exact) / 1024, "p\(p): \(got) vs \(exact)")
        }
        #expect(h.value(atPercentile: 100) == values.last)
    }

    @Test("bucket boundaries map back to themselves", arguments: [UInt64(0), 1, 2047, 2048, 2049, 4095, 4096, 1 << 40, .max])
    func boundaries(_ v: UInt64) {
        let index = LatencyHistogram.index(v)
        #expect(LatencyHistogram.lowestValue(index).value <= v && v <= LatencyHistogram.highestEquivalentValue(index))
    }

    @Test("grouping by target strips the query and ranks the slowest first")
    func byTarget() {
        var stats = RequestStatistics(grouping: .target, ranking: .slowest, topCount: 2)
        stats.add(record(1, target: "/a?x=1", duration: 100))
        stats.add(record(2, target: "/a?x=2", duration: 300))
        stats.add(record(3, target: "/a", duration: 200))
        stats.add(record(4, target: "/b", duration: 50))
        let s = stats.summaries
        #expect(s.map(\.key) == ["GET /a", "GET /b"])
        #expect(s[0].count == 3 && s[0].mean == 200 && s[0].p50 == 200 && s[0].p99 == 300 && s[0].max == 300)
        #expect(s[0].top.map(\.id) == [2, 3])
    }

    @Test("the biggest ranking keeps the most response bytes; other groupings name their key")
    func biggestAndKeys() {
        var stats = RequestStatistics(grouping: .container, ranking: .biggest, topCount: 1)
        stats.add(record(1, target: "/a", duration: 1, bytes: 10))
        stats.add(record(2, target: "/a", duration: 1, bytes: 500, server: "db"))
        stats.add(record(3, target: "/a", duration: 1, bytes: 70))
        #expect(stats.summaries.map(\.key) == ["api", "db"])
        #expect(stats.summaries[0].top.map(\.id) == [3])
        let r = record(1, target: "/", duration: 1)
        #expect(RequestStatistics.key(r, .remote) == "10.0.0.2:8080")
        #expect(RequestStatistics.key(r, .hop) == "app→api")
        #expect(RequestStatistics.key(r, .protocol) == "http/1.1")
    }
}
