import Analyzer

/// What the HTML report draws, gathered record by record: per group (hop by
/// default) each complete record's start and duration, per container pair
/// the retransmits over time, and the slowest records overall. Pure; about
/// 16 bytes per record plus the groups, so 100k records take under 2 MiB.
public struct RequestTimeline: Sendable {
    /// One complete record of a group: where it sits in the window and how long it took.
    struct Sample: Sendable {
        var start: Int64
        var duration: UInt64
    }

    /// One group's records.
    struct Group: Sendable {
        var key: String
        var samples: [Sample] = []
        var durations = LatencyHistogram()
        /// Exchanges cut short: counted, not timed.
        var incomplete: UInt64 = 0
        /// Responses with a 5xx status.
        var serverErrors: UInt64 = 0
    }

    /// Retransmits seen on one container pair, at the start of the record they happened under.
    struct Retransmits: Sendable {
        var key: String
        var samples: [(start: Int64, count: UInt32)] = []
        var total: UInt64 = 0
    }

    public let grouping: RequestStatistics.Grouping
    /// How many of the slowest records are kept (their chains are the report's waterfalls).
    public let slowestCount: Int
    private(set) var groups: [Group] = []
    private var groupIndex: [String: Int] = [:]
    private(set) var pairs: [Retransmits] = []
    private var pairIndex: [String: Int] = [:]
    /// The slowest complete records, slowest first.
    private(set) var slowest: [RequestRecord] = []
    /// Earliest start and latest end of any record (Unix ns); `first > last` while empty.
    private(set) var first: Int64 = .max
    private(set) var last: Int64 = .min
    public private(set) var records: UInt64 = 0

    public init(grouping: RequestStatistics.Grouping = .hop, slowestCount: Int = 10) {
        self.grouping = grouping
        self.slowestCount = max(0, slowestCount)
    }

    /// Returns whether the record is now among the slowest (its chain is drawn).
    @discardableResult
    public mutating func add(_ record: RequestRecord) -> Bool {
        records += 1
        first = min(first, record.start)
        last = max(last, record.start &+ Int64(clamping: record.duration))
        let index = Self.slot(RequestStatistics.key(record, grouping), in: &groups, &groupIndex) { Group(key: $0) }
        if record.retransmits > 0 { addRetransmits(record) }
        guard record.isComplete else {
            groups[index].incomplete += 1
            return false
        }
        groups[index].samples.append(Sample(start: record.start, duration: record.duration))
        groups[index].durations.record(record.duration)
        if let status = record.status, status >= 500 { groups[index].serverErrors += 1 }
        guard slowestCount > 0, slowest.count < slowestCount || record.duration > slowest[slowest.count - 1].duration else { return false }
        // Ties keep the earlier record ahead.
        let at = slowest.firstIndex { $0.duration < record.duration } ?? slowest.endIndex
        slowest.insert(record, at: at)
        if slowest.count > slowestCount { slowest.removeLast() }
        return true
    }

    private mutating func addRetransmits(_ record: RequestRecord) {
        let index = Self.slot(Self.pairKey(record), in: &pairs, &pairIndex) { Retransmits(key: $0) }
        pairs[index].samples.append((record.start, record.retransmits))
        pairs[index].total += UInt64(record.retransmits)
    }

    /// Where `key`'s entry is in `list`, appended (made by `make`) if new.
    private static func slot<Entry>(_ key: String, in list: inout [Entry], _ index: inout [String: Int],
                                    _ make: (String) -> Entry) -> Int {
        if let known = index[key] { return known }
        list.append(make(key))
        index[key] = list.count - 1
        return list.count - 1
    }

    /// "client→server" by container, or by address when neither end has one (a capture file).
    static func pairKey(_ record: RequestRecord) -> String {
        if let hop = record.hop { return hop }
        let port = record.server.port.map { ":\($0)" } ?? ""
        return "\(record.client.ip ?? "?")→\(record.server.ip ?? "?")\(port)"
    }
}
