/// pipetrace's own state at one moment, for its health series.
public struct HealthSnapshot: Sendable, Hashable {
    /// Probe events delivered and lost (ring buffer full) since start.
    public var events: UInt64 = 0
    public var lostEvents: UInt64 = 0
    /// Events per second over the last interval (the edge measures it).
    public var eventsPerSecond: Double = 0
    /// Request records made since start, and those left out as pipetrace's own export traffic.
    public var records: UInt64 = 0
    public var ownTrafficRecords: UInt64 = 0
    /// Connections the analyzer closed early because it followed its maximum at once (a flood).
    public var connectionsEvicted: UInt64 = 0
    /// The probe's features by name ("recvmmsg/sendmmsg"), each with its
    /// state: "active", "degraded" (the kernel refused it) or "off".
    public var probeFeatures: [String: String] = [:]
    /// Per sink, by its name (its URL).
    public var sinks: [String: SinkHealth] = [:]

    public init() {}
}
