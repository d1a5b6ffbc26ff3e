import Analyzer
import Events

/// What `pipetrace stat` prints at the end of its window: a table of the
/// groups and each group's top requests with their hop chains, or one JSON
/// object `{"window_s", "lost_events", "connections_evicted", "groups":[...]}` whose records are
/// `RequestRecord.writeJSON`'s, the same as `watch --json`'s.
public struct StatReport {
    public var window: Double
    public var lostEvents: UInt64
    public var statistics: RequestStatistics
    public var hops: HopIndex
    /// Connections the analyzer closed early because it held its maximum (a flood of connections).
    public var connectionsEvicted: UInt64 = 0
    /// Records seen but left out of the statistics (cut short by the end of the window, a close or a parse error).
    public var incomplete: UInt64 = 0
    /// What `--html` draws; kept only when asked for.
    public var timeline: RequestTimeline?
    /// TCP resets the analyzer saw in the window (for the HTML report).
    public var resets: UInt64?
    /// Kafka consumer lag, kept when grouping by consumer (`StatReport-lag`).
    public var consumerLag: ConsumerLag?

    /// An empty window's report, to `add` records to (`html`: keeping a timeline for `--html`).
    public init(grouping: RequestStatistics.Grouping, ranking: RequestStatistics.Ranking, top: Int, html: Bool) {
        window = 0
        lostEvents = 0
        statistics = RequestStatistics(grouping: grouping, ranking: ranking, topCount: top)
        hops = HopIndex(retention: .chainsOfShown)
        timeline = html ? RequestTimeline(grouping: grouping) : nil
        consumerLag = grouping == .consumer ? ConsumerLag() : nil
    }

    /// Takes a record into the statistics, the hop chains and the timeline.
    /// Consumed: the hop index keeps the record itself, moved, not a copy,
    /// and only if its chain may be shown (`HopIndex.Retention.chainsOfShown`).
    public mutating func add(_ record: consuming RequestRecord) {
        consumerLag?.add(record)
        var shown = timeline?.add(record) ?? false
        // A latency cut short by the end of the window (or file) or a close is not a latency.
        if record.isComplete { shown = statistics.add(record) || shown } else { incomplete += 1 }
        hops.add(record, shown: shown)
    }

    public func json() -> [UInt8] {
        var w = JSONWriter(capacity: 1 << 16)
        w.beginObject()
        w.field("window_s", window, decimals: 3)
        w.field("lost_events", lostEvents)
        w.field("connections_evicted", connectionsEvicted)
        w.beginArray("groups")
        for group in statistics.summaries {
            w.beginObject()
            w.field("key", group.key)
            w.field("count", group.count)
            w.field("avg_ms", group.mean / 1e6, decimals: 6)
            w.field("p50_ms", Double(group.p50) / 1e6, decimals: 6)
            w.field("p90_ms", Double(group.p90) / 1e6, decimals: 6)
            w.field("p99_ms", Double(group.p99) / 1e6, decimals: 6)
            w.field("max_ms", Double(group.max) / 1e6, decimals: 6)
            w.beginArray("slowest")
            for record in group.top { record.writeJSON(into: &w) }
            w.endArray()
            w.endObject()
        }
        w.endArray()
        writeLag(into: &w)
        w.endObject()
        w.newline()
        return w.bytes
    }

    public func text() -> String {
        let groups = statistics.summaries
        let total = groups.reduce(0) { $0 + $1.count }
        var out = "\(total) requests in \(RecordFormatter.fixed(window, decimals: 1)) s, grouped by \(statistics.grouping.rawValue)"
        out += ", \(lostEvents) events lost"
        if connectionsEvicted > 0 { out += ", \(connectionsEvicted) connections evicted (too many open at once)" }
        if incomplete > 0 { out += ", \(incomplete) incomplete left out" }
        out += "\n\n"
        guard !groups.isEmpty else {
            return out + "no requests seen (are the filters right? is the traffic HTTP/1.x, HTTP/2 or gRPC in cleartext?)\n"
        }
        let keyWidth = max(12, groups.map(\.key.count).max() ?? 0)
        let columns = ["count", "avg ms", "p50 ms", "p90 ms", "p99 ms", "max ms"]
        out += RecordFormatter.pad(statistics.grouping.rawValue, keyWidth)
        for c in columns { out += RecordFormatter.leftPad(c, 10) }
        out += "\n"
        for g in groups {
            out += RecordFormatter.pad(g.key, keyWidth) + RecordFormatter.leftPad("\(g.count)", 10)
            for v in [g.mean, Double(g.p50), Double(g.p90), Double(g.p99), Double(g.max)] {
                out += RecordFormatter.leftPad(RecordFormatter.milliseconds(v), 10)
            }
            out += "\n"
        }
        out += lagText()
        let what = statistics.ranking == .slowest ? "slowest" : "biggest responses"
        for g in groups where !g.top.isEmpty {
            out += "\n\(g.key): \(what)\n"
            for (n, record) in g.top.enumerated() {
                out += "  \(n + 1). \(RecordFormatter.milliseconds(record.duration)) ms  \(RecordFormatter.request(record))"
                out += "  \(RecordFormatter.bytes(record.requestBytes))→\(RecordFormatter.bytes(record.responseBytes))"
                out += "  at \(WallClock.rfc3339(unixNanoseconds: record.start).dropFirst(11).prefix(12))"
                if record.retransmits > 0 { out += "  retransmits \(record.retransmits)" }
                out += "\n"
                out += hopLines(hops.chain(for: record))
            }
        }
        return out
    }

    /// The chain, one hop per line: hop, request, duration, self, network and server time.
    private func hopLines(_ chain: HopChain) -> String {
        var out = ""
        if chain.parentMissing { out += "       ↑ (the request this one served was not seen)\n" }
        for hop in chain.hops {
            let indent = String(repeating: "  ", count: hop.depth)
            guard let r = hop.record else {
                out += "       \(indent)… \(hop.omitted) more\n"
                continue
            }
            var line = "     \(hop.isFocus ? "▶" : " ") \(indent)"
            line += RecordFormatter.pad(r.hop ?? "?", 24) + " " + RecordFormatter.pad(RecordFormatter.request(r), 32)
            line += " " + RecordFormatter.leftPad(RecordFormatter.milliseconds(r.duration), 9) + " ms"
            line += "  self " + RecordFormatter.milliseconds(r.selfTime)
            line += "  net " + RecordFormatter.milliseconds(r.network)
            line += "  server " + RecordFormatter.milliseconds(r.serverTime)
            if r.retransmits > 0 { line += "  retransmits \(r.retransmits)" }
            if let link = hop.link { line += "  " + RecordFormatter.chain(link) }
            out += line + "\n"
        }
        return out
    }
}
