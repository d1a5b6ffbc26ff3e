import Events

/// How many events a source delivered and how many it lost (a full ring buffer).
public struct ExportEventCounts: Sendable, Hashable {
    public var events: UInt64
    public var lostEvents: UInt64

    public init(events: UInt64 = 0, lostEvents: UInt64 = 0) {
        self.events = events
        self.lostEvents = lostEvents
    }
}

/// The two clocks the export reads, injected so a test sets the time.
public struct ExportClock: Sendable {
    /// Nanoseconds from any fixed start: export intervals and rates.
    public var monotonicNanoseconds: @Sendable () -> UInt64
    /// Milliseconds since 1970: the timestamps of the samples sent.
    public var wallMilliseconds: @Sendable () -> Int64

    public init(monotonicNanoseconds: @escaping @Sendable () -> UInt64, wallMilliseconds: @escaping @Sendable () -> Int64) {
        self.monotonicNanoseconds = monotonicNanoseconds
        self.wallMilliseconds = wallMilliseconds
    }
}
