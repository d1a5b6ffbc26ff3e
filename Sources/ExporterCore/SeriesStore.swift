/// The current value of every series, as remote write sends them: a pure
/// value that applies `MetricUpdate`s and flattens itself into
/// `TimeSeries` (a histogram becomes its cumulative `_bucket{le}`, `_sum`
/// and `_count` series, as Prometheus stores it).
///
/// The same updates go to `PrometheusExposition` for `/metrics`;
/// swift-prometheus' registry only writes text and cannot be read back,
/// so remote write keeps its own copy of the numbers here.
public struct SeriesStore: Sendable {
    struct HistogramValue: Sendable, Hashable {
        /// Non-cumulative counts per bucket, the last one for +Inf.
        var counts: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0
    }

    enum Value: Sendable, Hashable {
        case scalar(Double)
        case histogram(HistogramValue)
    }

    struct Key: Sendable, Hashable {
        var family: String
        var labels: [MetricLabel]
    }

    private var families: [String: MetricFamily] = [:]
    private var values: [Key: Value] = [:]

    public init() {}

    public mutating func apply(_ update: MetricUpdate) {
        let family = update.family
        families[family.name] = family
        let key = Key(family: family.name, labels: update.labels.sorted())
        switch update {
        case .increment(_, _, let amount):
            guard case .scalar(let old) = values[key] ?? .scalar(0) else { return }
            values[key] = .scalar(old + max(0, amount))
        case .set(_, _, let value):
            values[key] = .scalar(value)
        case .observe(_, _, let observed):
            guard case .histogram(let buckets) = family.kind else { return }
            guard case .histogram(var h) = values[key] ?? .histogram(HistogramValue(counts: Array(repeating: 0, count: buckets.count + 1)))
            else { return }
            for value in observed {
                let index = buckets.firstIndex { value <= $0 } ?? buckets.count
                h.counts[index] += 1
                h.sum += value
                h.count += 1
            }
            values[key] = .histogram(h)
        }
    }

    public mutating func apply(_ updates: [MetricUpdate]) {
        for update in updates { apply(update) }
    }

    /// Every series with one sample at `timestamp` (ms since the epoch),
    /// sorted by name and labels so a batch is the same bytes for the same state.
    public func timeSeries(at timestamp: Int64) -> [TimeSeries] {
        var out: [TimeSeries] = []
        out.reserveCapacity(values.count)
        for (key, value) in values {
            func series(_ name: String, _ v: Double, _ extra: [MetricLabel] = []) -> TimeSeries {
                TimeSeries(labels: [MetricLabel("__name__", name)] + (key.labels + extra).sorted(),
                           samples: [.init(value: v, timestamp: timestamp)])
            }
            switch value {
            case .scalar(let v):
                out.append(series(key.family, v))
            case .histogram(let h):
                guard case .histogram(let buckets)? = families[key.family]?.kind else { continue }
                var cumulative: UInt64 = 0
                for (i, bound) in buckets.enumerated() {
                    cumulative += h.counts[i]
                    out.append(series(key.family + "_bucket", Double(cumulative), [MetricLabel("le", bound.description)]))
                }
                out.append(series(key.family + "_bucket", Double(h.count), [MetricLabel("le", "+Inf")]))
                out.append(series(key.family + "_sum", h.sum))
                out.append(series(key.family + "_count", Double(h.count)))
            }
        }
        return out.sorted { a, b in a.labels.lexicographicallyPrecedes(b.labels) }
    }
}
