import Analyzer

/// The pure metrics core: request records in, `MetricUpdate`s out. No I/O,
/// no clock: a test is records in, updates (and so series) out.
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

    /// Requests at or above this duration count as slow (nanoseconds).
    public var slowThreshold: UInt64
    /// Distinct target templates per server container before `{other}`.
    public var maxTargets: Int
    private var targets: [String: Set<String>] = [:]

    public init(slowThreshold: UInt64 = 500_000_000, maxTargets: Int = 50) {
        self.slowThreshold = slowThreshold
        self.maxTargets = maxTargets
    }

    /// The updates one record makes.
    public mutating func updates(for record: RequestRecord) -> [MetricUpdate] {
        let client = record.client.container ?? "unknown"
        let server = record.server.container ?? "unknown"
        let pair = [MetricLabel("client_container", client), MetricLabel("server_container", server)]
        var out: [MetricUpdate] = []
        if record.retransmits > 0 {
            out.append(.increment(Self.retransmits, pair, by: Double(record.retransmits)))
        }
        let target = boundedTarget(TargetTemplate.make(record.target), server: server)
        var labels = pair + [MetricLabel("protocol", record.protocolName), MetricLabel("method", record.method ?? ""),
                             MetricLabel("target", target)]
        guard record.isComplete else {
            out.append(.increment(Self.incomplete, labels, by: 1))
            return out
        }
        labels.append(MetricLabel("status_class", Self.statusClass(record.status)))
        out.append(.observe(Self.duration, labels, Double(record.duration) / 1e9))
        if let network = record.network { out.append(.observe(Self.network, labels, Double(network) / 1e9)) }
        if let serverTime = record.serverTime { out.append(.observe(Self.serverTime, labels, Double(serverTime) / 1e9)) }
        if record.duration >= slowThreshold { out.append(.increment(Self.slow, labels, by: 1)) }
        return out
    }

    /// "2xx" … "5xx", "1xx", or "none" when no final response was seen.
    public static func statusClass(_ status: Int?) -> String {
        guard let status, (100...599).contains(status) else { return "none" }
        return "\(status / 100)xx"
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
