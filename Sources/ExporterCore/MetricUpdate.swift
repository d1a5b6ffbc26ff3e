/// One change to one series: what the pure metrics core (`RequestMetrics`,
/// `ExporterHealth`) computes and the stores (`SeriesStore` for remote
/// write, `PrometheusExposition` for `/metrics`) apply, so both show the
/// same numbers without the core touching either.
public enum MetricUpdate: Sendable, Hashable {
    /// Adds to a counter (never negative).
    case increment(MetricFamily, [MetricLabel], by: Double)
    /// Sets a gauge.
    case set(MetricFamily, [MetricLabel], to: Double)
    /// Counts values into a histogram (a batch: the series is looked up once).
    case observe(MetricFamily, [MetricLabel], [Double])

    public var family: MetricFamily {
        switch self {
        case .increment(let f, _, _), .set(let f, _, _), .observe(let f, _, _): return f
        }
    }

    public var labels: [MetricLabel] {
        switch self {
        case .increment(_, let l, _), .set(_, let l, _), .observe(_, let l, _): return l
        }
    }
}
