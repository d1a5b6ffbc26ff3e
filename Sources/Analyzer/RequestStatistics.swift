/// What `pipetrace stat` prints: records grouped by one dimension, with
/// count, mean, p50/p90/p99/max of their duration (three significant
/// digits, see `LatencyHistogram`) and each group's top records. Memory
/// follows the number of groups, not of records.
public struct RequestStatistics: Sendable {
    /// What records are grouped by.
    public enum Grouping: String, Sendable, Hashable, CaseIterable {
        /// The other end from the traced process: the server for client and
        /// merged views, the client for server views ("10.0.0.2:8080").
        case remote
        /// Method and path without the query ("GET /api/v1/query"), to keep groups few.
        case target
        /// "<client container>→<server container>".
        case hop
        /// The serving container (the client's when the server's is unknown).
        case container
        case `protocol`
        /// A Kafka client by its group (group APIs) or client id ("?" for other protocols).
        case consumer
    }

    /// Which records a group keeps as its top ones.
    public enum Ranking: String, Sendable, Hashable, CaseIterable {
        /// Longest duration.
        case slowest
        /// Most response bytes.
        case biggest
    }

    /// One group's numbers. Times in nanoseconds.
    public struct Summary: Sendable, Hashable {
        public var key: String
        public var count: UInt64
        public var mean: Double
        public var p50: UInt64
        public var p90: UInt64
        public var p99: UInt64
        public var max: UInt64
        /// Best first by the ranking; at most `topCount`.
        public var top: [RequestRecord]
    }

    struct Group: Sendable {
        var durations = LatencyHistogram()
        var top: [RequestRecord] = []
    }

    public let grouping: Grouping
    public let ranking: Ranking
    public let topCount: Int
    private var groups: [GroupKey: Group] = [:]

    public init(grouping: Grouping, ranking: Ranking = .slowest, topCount: Int = 5) {
        self.grouping = grouping
        self.ranking = ranking
        self.topCount = Swift.max(0, topCount)
    }

    /// Returns whether the record entered its group's top list.
    @discardableResult
    public mutating func add(_ record: RequestRecord) -> Bool {
        // The group is changed where it lies in the dictionary: one hash of its key, not two.
        RequestStatistics.add(record, to: &groups[GroupKey(record, grouping), default: Group()],
                              ranking: ranking, topCount: topCount)
    }

    private static func add(_ record: RequestRecord, to group: inout Group, ranking: Ranking, topCount: Int) -> Bool {
        group.durations.record(record.duration)
        let metric = rank(record, ranking)
        // An idle long poll waited by design: it is counted, but not ranked among the slowest.
        if ranking == .slowest && record.isIdleLongPoll { return false }
        guard topCount > 0, group.top.count < topCount || metric > rank(group.top[group.top.count - 1], ranking) else { return false }
        // Ties keep the earlier record ahead.
        let index = group.top.firstIndex { rank($0, ranking) < metric } ?? group.top.endIndex
        group.top.insert(record, at: index)
        if group.top.count > topCount { group.top.removeLast() }
        return true
    }

    /// Every group, the busiest first (then by key).
    public var summaries: [Summary] {
        groups.map { key, group in
            Summary(key: key.text(grouping), count: group.durations.count, mean: group.durations.mean,
                    p50: group.durations.value(atPercentile: 50), p90: group.durations.value(atPercentile: 90),
                    p99: group.durations.value(atPercentile: 99), max: group.durations.max, top: group.top)
        }.sorted { $0.count != $1.count ? $0.count > $1.count : $0.key < $1.key }
    }

    private static func rank(_ record: RequestRecord, _ ranking: Ranking) -> UInt64 {
        ranking == .slowest ? record.duration : record.responseBytes
    }

    /// The text of `record`'s group, as `summaries` shows it.
    public static func key(_ record: RequestRecord, _ grouping: Grouping) -> String {
        GroupKey(record, grouping).text(grouping)
    }

    /// A group's key as the record's own fields: made per record without
    /// formatting a string (the text is made per group, for the summary).
    /// Keys that differ have different texts: an address holds no ':' unless
    /// it is IPv6 (bracketed in the text), and "?" is no method or container.
    struct GroupKey: Hashable, Sendable {
        var first: String?
        var second: String?
        var port: UInt16?

        init(_ record: RequestRecord, _ grouping: Grouping) {
            switch grouping {
            case .remote:
                let peer = record.side == .server ? record.client : record.server
                first = peer.ip
                port = peer.ip == nil ? nil : peer.port
            case .target:
                first = record.method
                second = record.target.map { target in
                    target.utf8.firstIndex(of: UInt8(ascii: "?")).map { String(target[..<$0]) } ?? target
                }
            case .hop:
                first = record.client.container
                second = record.server.container
            case .container:
                first = record.server.container ?? record.client.container
            case .protocol:
                first = record.protocolName
            case .consumer:
                first = record.attributes["kafka.group_id"] ?? record.attributes["kafka.client_id"]
            }
        }

        func text(_ grouping: Grouping) -> String {
            switch grouping {
            case .remote:
                guard let ip = first else { return "?" }
                let host = ip.contains(":") ? "[\(ip)]" : ip
                return port.map { "\(host):\($0)" } ?? host
            case .target:
                return RequestRecord.operationText(first, second)
            case .hop:
                return RequestRecord.hop(client: first, server: second) ?? "?"
            case .container, .protocol, .consumer:
                return first ?? "?"
            }
        }
    }
}
