/// One series as remote write carries it: every label (`__name__` first,
/// then sorted by name, as the protocol asks) and its samples.
public struct TimeSeries: Sendable, Hashable {
    public struct Sample: Sendable, Hashable {
        public var value: Double
        /// Milliseconds since the Unix epoch.
        public var timestamp: Int64

        public init(value: Double, timestamp: Int64) {
            self.value = value
            self.timestamp = timestamp
        }
    }

    public var labels: [MetricLabel]
    public var samples: [Sample]

    public init(labels: [MetricLabel], samples: [Sample]) {
        self.labels = labels
        self.samples = samples
    }

    /// The value of `__name__`.
    public var name: String { labels.first { $0.name == "__name__" }?.value ?? "" }
}
