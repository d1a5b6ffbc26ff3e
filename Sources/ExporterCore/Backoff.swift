/// Exponential backoff with jitter: the n-th consecutive failure waits
/// between half and all of `initial × 2ⁿ`, capped at `maximum`, so
/// many exporters that lost the same receiver do not retry in step. Pure:
/// the random number is passed in.
public struct Backoff: Sendable, Hashable {
    public var initial: Double
    public var maximum: Double
    public private(set) var failures = 0

    public init(initial: Double = 0.5, maximum: Double = 30) {
        self.initial = initial
        self.maximum = maximum
    }

    /// Records a failure; returns the seconds to wait before the next try.
    /// `random` is uniform in 0..<1.
    public mutating func failed(random: Double) -> Double {
        let ceiling = min(maximum, initial * Double(1 << min(failures, 30)))
        failures += 1
        return ceiling / 2 + ceiling / 2 * random
    }

    public mutating func succeeded() { failures = 0 }
}
