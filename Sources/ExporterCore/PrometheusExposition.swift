import Prometheus
import Synchronization

/// `/metrics` text, written by swift-prometheus' registry. It receives the
/// same `MetricUpdate`s as `SeriesStore`; the registry is locked inside,
/// so the HTTP server's thread may `render()` while the tracing loop applies.
public final class PrometheusExposition: Sendable {
    private enum Handle {
        case counter(Counter)
        case gauge(Gauge)
        case histogram(ValueHistogram)
    }

    private struct Key: Hashable {
        var family: String
        var labels: [MetricLabel]
    }

    private let registry = PrometheusCollectorRegistry()
    private let handles = Mutex<[Key: Handle]>([:])

    public init() {}

    public func apply(_ update: MetricUpdate) {
        let family = update.family
        let labels = update.labels.sorted()
        let handle = handles.withLock { handles in
            let key = Key(family: family.name, labels: labels)
            if let existing = handles[key] { return existing }
            let pairs = labels.map { ($0.name, $0.value) }
            // The whole name as metricName, no unit: our names already end in their unit.
            let descriptor = MetricNameDescriptor(metricName: family.name, unitName: "", helpText: family.help)
            let made: Handle
            switch family.kind {
            case .counter: made = .counter(registry.makeCounter(descriptor: descriptor, labels: pairs))
            case .gauge: made = .gauge(registry.makeGauge(descriptor: descriptor, labels: pairs))
            case .histogram(let buckets):
                made = .histogram(registry.makeValueHistogram(descriptor: descriptor, labels: pairs, buckets: buckets))
            }
            handles[key] = made
            return made
        }
        switch (update, handle) {
        case (.increment(_, _, let amount), .counter(let c)): c.increment(by: max(0, amount))
        case (.set(_, _, let value), .gauge(let g)): g.set(value)
        case (.observe(_, _, let values), .histogram(let h)): for value in values { h.record(value) }
        default: break
        }
    }

    public func apply(_ updates: [MetricUpdate]) {
        for update in updates { apply(update) }
    }

    /// The exposition text (format 0.0.4).
    public func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
