/// The total time covered by possibly overlapping intervals (children called
/// in parallel count once), with a bounded number of stored intervals.
struct IntervalUnion: Sendable, Hashable {
    /// Disjoint, sorted by start.
    private(set) var intervals: [Range<UInt64>] = []
    static let maxIntervals = 64

    mutating func insert(_ interval: Range<UInt64>) {
        guard !interval.isEmpty else { return }
        var merged = interval
        var kept: [Range<UInt64>] = []
        kept.reserveCapacity(intervals.count + 1)
        for existing in intervals {
            if existing.upperBound < merged.lowerBound || existing.lowerBound > merged.upperBound {
                kept.append(existing)
            } else {
                merged = min(existing.lowerBound, merged.lowerBound)..<max(existing.upperBound, merged.upperBound)
            }
        }
        let index = kept.firstIndex { $0.lowerBound > merged.lowerBound } ?? kept.endIndex
        kept.insert(merged, at: index)
        if kept.count > IntervalUnion.maxIntervals {
            // Bridge the two oldest: overstates the covered time by one gap, bounded memory.
            kept[0] = kept[0].lowerBound..<kept[1].upperBound
            kept.remove(at: 1)
        }
        intervals = kept
    }

    var total: UInt64 { intervals.reduce(0) { $0 + ($1.upperBound - $1.lowerBound) } }
}
