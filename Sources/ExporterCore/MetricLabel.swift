/// One label of a series: `client_container="lb"`.
public struct MetricLabel: Sendable, Hashable, Comparable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    public static func < (a: MetricLabel, b: MetricLabel) -> Bool {
        (a.name, a.value) < (b.name, b.value)
    }
}
