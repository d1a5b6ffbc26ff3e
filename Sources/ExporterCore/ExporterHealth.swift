/// The health series: turns successive `HealthSnapshot`s into updates,
/// counters as the difference from the previous snapshot. Pure.
public struct ExporterHealth: Sendable {
    public static let events = MetricFamily(name: "pipetrace_events_total", help: "Probe events delivered to user space.", kind: .counter)
    public static let lostEvents = MetricFamily(
        name: "pipetrace_lost_events_total", help: "Probe events lost in the kernel because the ring buffer was full.", kind: .counter)
    public static let eventsRate = MetricFamily(
        name: "pipetrace_events_per_second", help: "Probe events per second over the last export interval.", kind: .gauge)
    public static let records = MetricFamily(name: "pipetrace_requests_total", help: "Request records the analyzer made.", kind: .counter)
    public static let ownTraffic = MetricFamily(
        name: "pipetrace_own_traffic_requests_total",
        help: "Records of pipetrace's own export and /metrics traffic, left out of the request series.", kind: .counter)
    public static let connectionsEvicted = MetricFamily(
        name: "pipetrace_connections_evicted_total",
        help: "Connections the analyzer stopped following early because it followed its maximum at once (a flood of connections).",
        kind: .counter)
    public static let queueDepth = MetricFamily(
        name: "pipetrace_export_queue_batches", help: "Batches waiting in memory for a sink.", kind: .gauge)
    public static let spoolBatches = MetricFamily(
        name: "pipetrace_export_spool_batches", help: "Batches spooled to disk for a sink that is unreachable.", kind: .gauge)
    public static let spoolBytes = MetricFamily(
        name: "pipetrace_export_spool_bytes", help: "Bytes spooled to disk for a sink.", kind: .gauge)
    public static let sentPoints = MetricFamily(
        name: "pipetrace_export_sent_points_total", help: "Samples a sink accepted.", kind: .counter)
    public static let errors = MetricFamily(
        name: "pipetrace_export_errors_total", help: "Failed export attempts, by reason; each is retried or spooled.", kind: .counter)
    public static let dropped = MetricFamily(
        name: "pipetrace_export_dropped_points_total", help: "Samples given up for good, by reason.", kind: .counter)

    public static let probeFeature = MetricFamily(
        name: "pipetrace_probe_feature",
        help: "1 for the state each probe feature is in (active, degraded: refused by this kernel, off), 0 for the others.",
        kind: .gauge)
    static let featureStates = ["active", "degraded", "off"]

    private var previous = HealthSnapshot()
    private var first = true

    public init() {}

    /// The updates that bring the health series to `snapshot`.
    public mutating func updates(for snapshot: HealthSnapshot) -> [MetricUpdate] {
        var out: [MetricUpdate] = []
        func delta(_ family: MetricFamily, _ labels: [MetricLabel], _ now: UInt64, _ before: UInt64, new: Bool = false) {
            // Emitted even at 0 the first time, so every series exists from the start.
            if now > before || first || new { out.append(.increment(family, labels, by: Double(now &- min(now, before)))) }
        }
        delta(Self.events, [], snapshot.events, previous.events)
        delta(Self.lostEvents, [], snapshot.lostEvents, previous.lostEvents)
        delta(Self.records, [], snapshot.records, previous.records)
        delta(Self.ownTraffic, [], snapshot.ownTrafficRecords, previous.ownTrafficRecords)
        delta(Self.connectionsEvicted, [], snapshot.connectionsEvicted, previous.connectionsEvicted)
        out.append(.set(Self.eventsRate, [], to: snapshot.eventsPerSecond))
        for (feature, state) in snapshot.probeFeatures.sorted(by: { $0.key < $1.key }) where first || previous.probeFeatures[feature] != state {
            for candidate in Self.featureStates {
                out.append(.set(Self.probeFeature, [MetricLabel("feature", feature), MetricLabel("state", candidate)],
                                to: candidate == state ? 1 : 0))
            }
        }
        for (name, sink) in snapshot.sinks.sorted(by: { $0.key < $1.key }) {
            let label = [MetricLabel("sink", name)]
            let isNew = previous.sinks[name] == nil
            let before = previous.sinks[name] ?? SinkHealth()
            out.append(.set(Self.queueDepth, label, to: Double(sink.queueDepth)))
            out.append(.set(Self.spoolBatches, label, to: Double(sink.spoolBatches)))
            out.append(.set(Self.spoolBytes, label, to: Double(sink.spoolBytes)))
            delta(Self.sentPoints, label, sink.sentPoints, before.sentPoints, new: isNew)
            for (reason, n) in sink.errors.sorted(by: { $0.key < $1.key }) {
                let old = before.errors[reason] ?? 0
                if n > old { out.append(.increment(Self.errors, label + [MetricLabel("reason", reason)], by: Double(n - old))) }
            }
            for (reason, n) in sink.droppedPoints.sorted(by: { $0.key < $1.key }) {
                let old = before.droppedPoints[reason] ?? 0
                if n > old { out.append(.increment(Self.dropped, label + [MetricLabel("reason", reason)], by: Double(n - old))) }
            }
        }
        previous = snapshot
        first = false
        return out
    }
}
