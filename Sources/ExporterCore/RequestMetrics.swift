import Analyzer

/// The pure metrics core: request records in, `MetricUpdate`s out. No I/O,
/// no clock: a test is records in, updates (and so series) out.
///
/// Records are added one by one (`add`, on the tracing loop's hot path) and
/// their updates taken in batches (`takeUpdates`, after each poll): a batch
/// has one update per changed series, so the stores look a series up once
/// per batch instead of once per record. A record finds its hop's series
/// through one hash of its raw fields; the label arrays are built once per
/// series, not per record.
///
/// Label cardinality is bounded: targets are templated (`TargetTemplate`)
/// and at most `maxTargets` distinct templates per server container get
/// their own label value; later ones are counted under `{other}`.
public struct RequestMetrics: Sendable {
    /// Histogram buckets in seconds: 0.5 ms to 10 s, roughly ×2.5 apart.
    public static let latencyBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    public static let duration = MetricFamily(
        name: "pipetrace_request_duration_seconds",
        help: "Request to last response byte, per hop, as seen by the traced end (the client's when both are traced).",
        kind: .histogram(buckets: latencyBuckets))
    public static let network = MetricFamily(
        name: "pipetrace_request_network_seconds",
        help: "Client duration minus server time: time on the wire and in kernels (both ends traced only).",
        kind: .histogram(buckets: latencyBuckets))
    public static let serverTime = MetricFamily(
        name: "pipetrace_request_server_seconds",
        help: "Server's read of the request to its write of the response (server end traced only).",
        kind: .histogram(buckets: latencyBuckets))
    public static let slow = MetricFamily(
        name: "pipetrace_slow_requests_total",
        help: "Requests slower than the configured threshold (slow_ms).",
        kind: .counter)
    public static let retransmits = MetricFamily(
        name: "pipetrace_tcp_retransmits_total",
        help: "TCP segments retransmitted while a request was in flight, per container pair.",
        kind: .counter)
    public static let incomplete = MetricFamily(
        name: "pipetrace_incomplete_requests_total",
        help: "Exchanges cut short (close, parse error, limit): counted, not timed.",
        kind: .counter)

    /// A record's fields as they arrive: what finds its hop without templating the target again.
    private struct RecordKey: Hashable {
        var client: String?
        var server: String?
        var protocolName: String
        var method: String?
        var target: String?
        /// Status / 100 for a complete record (0: none), -1 for an incomplete one.
        var statusClass: Int
    }

    /// The label values of one hop: templated, bounded, as the series show them.
    private struct HopKey: Hashable {
        var client: String
        var server: String
        var protocolName: String
        var method: String
        var target: String
        /// nil for incomplete records, which are counted without a status class.
        var statusClass: String?
    }

    /// One hop's labels and what its records added since the last `takeUpdates`.
    private struct Hop {
        /// Sorted by name, as the stores keep them.
        var labels: [MetricLabel]
        var pair: [MetricLabel]
        var durations: [Double] = []
        var networks: [Double] = []
        var serverTimes: [Double] = []
        var slow = 0
        var incomplete = 0
        var retransmits: UInt64 = 0
        var changed = false
    }

    /// Requests at or above this duration count as slow (nanoseconds).
    public var slowThreshold: UInt64
    /// Distinct target templates per server container before `{other}`.
    public var maxTargets: Int {
        didSet { // a record's hop may change with the bound
            recent.removeAll()
            for i in lastKeys.indices { lastKeys[i] = nil }
        }
    }
    private var targets: [String: Set<String>] = [:]
    private var hops: [Hop] = []
    private var hopIndex: [HopKey: Int] = [:]
    /// Hops of recently seen raw fields: bounded, since raw targets (ids, queries) are not.
    private var recent: [RecordKey: Int] = [:]
    private static let maxRecent = 4096
    /// The last keys found, in front of `recent`, by a cheap fold of their
    /// lengths: comparing a key costs far less than hashing its strings.
    private var lastKeys = [(key: RecordKey, index: Int)?](repeating: nil, count: 8)
    /// Hops with something to take, in the order they changed.
    private var changed: [Int] = []
    /// Kafka's own series (lag, throttling, produce errors), from its records.
    private var kafka = KafkaMetrics()
    private var amqp = AMQPMetrics()

    public init(slowThreshold: UInt64 = 500_000_000, maxTargets: Int = 50) {
        self.slowThreshold = slowThreshold
        self.maxTargets = maxTargets
    }

    /// Counts one record into its hop's series (taken by `takeUpdates`).
    public mutating func add(_ record: RequestRecord) {
        let key = RecordKey(client: record.client.container, server: record.server.container,
                            protocolName: record.protocolName, method: record.method, target: record.target,
                            statusClass: Self.statusKey(record))
        let slot = (key.statusClass &+ (key.target?.utf8.count ?? 0) &* 3 &+ (key.server?.utf8.count ?? 0) &* 5
                    &+ (key.method?.utf8.count ?? 0)) & (lastKeys.count - 1)
        let index: Int
        if let last = lastKeys[slot], last.key == key {
            index = last.index
        } else if let known = recent[key] {
            index = known
            lastKeys[slot] = (key, index)
        } else {
            index = hop(for: record)
            if recent.count >= Self.maxRecent { recent.removeAll(keepingCapacity: true) }
            recent[key] = index
            lastKeys[slot] = (key, index)
        }
        if !hops[index].changed {
            hops[index].changed = true
            changed.append(index)
        }
        hops[index].retransmits += UInt64(record.retransmits)
        if record.protocolName == KafkaParser.protocolName { kafka.add(record) }
        if record.protocolName == AMQPParser.protocolName { amqp.add(record) }
        guard record.isComplete else {
            hops[index].incomplete += 1
            return
        }
        hops[index].durations.append(Double(record.duration) / 1e9)
        if let network = record.network { hops[index].networks.append(Double(network) / 1e9) }
        if let serverTime = record.serverTime { hops[index].serverTimes.append(Double(serverTime) / 1e9) }
        if record.duration >= slowThreshold && !record.isIdleLongPoll { hops[index].slow += 1 }
    }

    /// The updates of every record added since the last call: one per changed series.
    public mutating func takeUpdates() -> [MetricUpdate] {
        var out: [MetricUpdate] = []
        for index in changed {
            var hop = Hop(labels: [], pair: [])
            swap(&hop, &hops[index])
            if hop.retransmits > 0 { out.append(.increment(Self.retransmits, hop.pair, by: Double(hop.retransmits))) }
            if hop.incomplete > 0 { out.append(.increment(Self.incomplete, hop.labels, by: Double(hop.incomplete))) }
            if !hop.durations.isEmpty { out.append(.observe(Self.duration, hop.labels, hop.durations)) }
            if !hop.networks.isEmpty { out.append(.observe(Self.network, hop.labels, hop.networks)) }
            if !hop.serverTimes.isEmpty { out.append(.observe(Self.serverTime, hop.labels, hop.serverTimes)) }
            if hop.slow > 0 { out.append(.increment(Self.slow, hop.labels, by: Double(hop.slow))) }
            hop.durations.removeAll(keepingCapacity: true)
            hop.networks.removeAll(keepingCapacity: true)
            hop.serverTimes.removeAll(keepingCapacity: true)
            (hop.retransmits, hop.incomplete, hop.slow, hop.changed) = (0, 0, 0, false)
            swap(&hop, &hops[index])
        }
        changed.removeAll(keepingCapacity: true)
        out += kafka.takeUpdates()
        out += amqp.takeUpdates()
        return out
    }

    /// The updates one record makes (`add`, then `takeUpdates`).
    public mutating func updates(for record: RequestRecord) -> [MetricUpdate] {
        add(record)
        return takeUpdates()
    }

    /// A record's `status_class` as a number for `RecordKey`: status / 100 for
    /// HTTP (0: none), 1000 + the outcome's place for other protocols, -1
    /// for an incomplete record.
    private static func statusKey(_ record: RequestRecord) -> Int {
        guard record.isComplete else { return -1 }
        if isHTTP(record.protocolName) { return record.status.map { $0 / 100 } ?? 0 }
        return 1000 + (record.outcome.flatMap { RequestRecord.Outcome.allCases.firstIndex(of: $0) }.map { $0 + 1 } ?? 0)
    }

    /// Whether `status_class` is HTTP's for this protocol ("http/1.1", "h2", ...).
    static func isHTTP(_ protocolName: String) -> Bool {
        protocolName.hasPrefix("http/") || protocolName == "h2"
    }

    /// A record's `status_class` label: HTTP's status class ("2xx") for HTTP,
    /// the protocol-neutral outcome ("ok", "client_error", ...) for other
    /// protocols (gRPC), "none" when no final response was seen.
    public static func statusClass(_ record: RequestRecord) -> String {
        if isHTTP(record.protocolName) { return statusClass(record.status) }
        return record.outcome?.rawValue ?? "none"
    }

    /// "2xx" … "5xx", "1xx", or "none" when no final response was seen.
    public static func statusClass(_ status: Int?) -> String {
        guard let status, (100...599).contains(status) else { return "none" }
        return "\(status / 100)xx"
    }

    /// The hop of a record whose raw fields were not seen recently: templated, bounded, found or made.
    private mutating func hop(for record: RequestRecord) -> Int {
        let server = record.server.container ?? "unknown"
        let key = HopKey(client: record.client.container ?? "unknown", server: server,
                         protocolName: record.protocolName, method: record.method ?? "",
                         target: boundedTarget(TargetTemplate.make(record.target), server: server),
                         statusClass: record.isComplete ? Self.statusClass(record) : nil)
        if let index = hopIndex[key] { return index }
        let pair = [MetricLabel("client_container", key.client), MetricLabel("server_container", key.server)]
        var labels = pair + [MetricLabel("protocol", key.protocolName), MetricLabel("method", key.method),
                             MetricLabel("target", key.target)]
        if let statusClass = key.statusClass { labels.append(MetricLabel("status_class", statusClass)) }
        hops.append(Hop(labels: labels.sorted(), pair: pair))
        hopIndex[key] = hops.count - 1
        return hops.count - 1
    }

    private mutating func boundedTarget(_ template: String, server: String) -> String {
        var known = targets[server, default: []]
        if known.contains(template) { return template }
        guard known.count < maxTargets else { return "{other}" }
        known.insert(template)
        targets[server] = known
        return template
    }
}
