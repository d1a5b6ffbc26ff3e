/// A metric name with its help text and type: what every series of that
/// name shares. The families pipetrace exports are constants
/// (`RequestMetrics`, `ExporterHealth`), so a typo is a compile error.
public struct MetricFamily: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case counter
        case gauge
        /// Upper bounds in the metric's base unit (seconds), ascending, without +Inf.
        case histogram(buckets: [Double])
    }

    /// The Prometheus name, base units and `_total` for counters included.
    public let name: String
    public let help: String
    public let kind: Kind

    public init(name: String, help: String, kind: Kind) {
        self.name = name
        self.help = help
        self.kind = kind
    }
}
