/// Durations (or any non-negative integers) counted with three significant
/// decimal digits, the way HdrHistogram does it: linear sub-buckets inside
/// power-of-two buckets, so every value is kept to within 1/1024 of itself
/// from 1 ns to centuries. Memory follows the number of distinct buckets
/// used, not the number of values.
public struct LatencyHistogram: Sendable, Hashable {
    /// log2 of half the sub-buckets per bucket: 2048 sub-buckets resolve 3 significant digits.
    static let subBucketHalfCountMagnitude = 10
    static let subBucketHalfCount = 1 << subBucketHalfCountMagnitude
    static let subBucketMask: UInt64 = (1 << (subBucketHalfCountMagnitude + 1)) - 1

    private var counts: [Int: UInt64] = [:]
    public private(set) var count: UInt64 = 0
    /// Exact sum, for the mean.
    public private(set) var sum: UInt64 = 0
    /// Exact extremes.
    public private(set) var min: UInt64 = .max
    public private(set) var max: UInt64 = 0

    public init() {}

    public mutating func record(_ value: UInt64) {
        counts[LatencyHistogram.index(value), default: 0] += 1
        count += 1
        sum &+= value
        min = Swift.min(min, value)
        max = Swift.max(max, value)
    }

    public var mean: Double { count == 0 ? 0 : Double(sum) / Double(count) }

    /// The smallest recorded value that `percentile`% of values are at or
    /// below, to three significant digits (exact for the maximum).
    public func value(atPercentile percentile: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let wanted = Swift.max(1, UInt64((Swift.min(100, Swift.max(0, percentile)) / 100 * Double(count)).rounded(.up)))
        var seen: UInt64 = 0
        for index in counts.keys.sorted() {
            seen += counts[index]!
            if seen >= wanted {
                return Swift.max(min, Swift.min(max, LatencyHistogram.highestEquivalentValue(index)))
            }
        }
        return max
    }

    /// Adds another histogram's values.
    public mutating func add(_ other: LatencyHistogram) {
        for (index, n) in other.counts { counts[index, default: 0] += n }
        count += other.count
        sum &+= other.sum
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
    }

    static func index(_ value: UInt64) -> Int {
        let bucket = 64 - subBucketHalfCountMagnitude - 1 - (value | subBucketMask).leadingZeroBitCount
        let subBucket = Int(value >> UInt64(bucket))
        return (bucket + 1) << subBucketHalfCountMagnitude + (subBucket - subBucketHalfCount)
    }

    static func lowestValue(_ index: Int) -> (value: UInt64, bucket: Int) {
        var bucket = (index >> subBucketHalfCountMagnitude) - 1
        var subBucket = (index & (subBucketHalfCount - 1)) + subBucketHalfCount
        if bucket < 0 {
            subBucket -= subBucketHalfCount
            bucket = 0
        }
        return (UInt64(subBucket) << UInt64(bucket), bucket)
    }

    static func highestEquivalentValue(_ index: Int) -> UInt64 {
        let (value, bucket) = lowestValue(index)
        return value + ((UInt64(1) << UInt64(bucket)) - 1)
    }
}
