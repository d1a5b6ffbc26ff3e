import Events

/// What the analyzer needs from outside: the wall-clock mapping (it reads no
/// clock itself), the protocols to recognize, and the bounds that keep its
/// memory proportional to open connections. Times are nanoseconds of the
/// events' CLOCK_MONOTONIC.
public struct AnalyzerConfiguration: Sendable {
    /// Turns event timestamps into records' wall-clock `start`.
    public var wallClock: WallClock
    public var protocols: ProtocolRegistry
    /// A connection with no event for this long is closed and its state dropped.
    public var idleTimeout: UInt64
    /// How long one end's view of an exchange waits for the other end's before
    /// it is emitted on its own.
    public var mergeWindow: UInt64
    /// How often idle connections and stale views are looked for.
    public var sweepInterval: UInt64
    /// Segments on a new connection that may fail detection before it is given up.
    public var maxDetectionAttempts: Int
    /// Parse errors on one connection before it is given up.
    public var maxResyncs: Int
    /// Exchanges in flight on one connection; the oldest is emitted incomplete beyond this.
    public var maxExchangesPerConnection: Int
    /// Views waiting for the other end, per connection pair.
    public var maxHeldViewsPerPair: Int
    /// Connections held at once (the probe's own table holds 65536 sockets):
    /// beyond it the least recently active eighth is closed early, counted as
    /// `connectionsEvicted`, so memory stays bounded under a flood.
    public var maxConnections: Int
    /// Where a record's `duration` is measured from.
    public var durationOrigin: DurationOrigin
    /// A connection no protocol recognizes becomes a `tcp` flow of turns
    /// (`TCPFlowParser`): at once when it was seen from its start, after
    /// `maxDetectionAttempts` segments when the probe attached to it open.
    /// False: it is given up (counted in `connectionsUnrecognized`).
    public var unrecognizedAsFlows: Bool

    /// Where a record's `duration` starts; it always ends at the response's last byte.
    public enum DurationOrigin: String, Sendable, Hashable {
        /// The request's first byte: what the client waited, writes included (live tracing).
        case requestStart
        /// The request's last byte: what Wireshark's `http.time` measures, from
        /// the packet that completes the request to the one that completes the
        /// response. For capture files, where the request's first packet says
        /// nothing about when the client began writing.
        case requestEnd
    }

    public init(wallClock: WallClock = WallClock(offsetNanoseconds: 0),
                protocols: ProtocolRegistry = .standard,
                idleTimeout: UInt64 = 300_000_000_000,
                mergeWindow: UInt64 = 10_000_000_000,
                sweepInterval: UInt64 = 1_000_000_000,
                maxDetectionAttempts: Int = 8,
                maxResyncs: Int = 4,
                maxExchangesPerConnection: Int = 1024,
                maxHeldViewsPerPair: Int = 1024,
                maxConnections: Int = 65536,
                durationOrigin: DurationOrigin = .requestStart,
                unrecognizedAsFlows: Bool = true) {
        self.wallClock = wallClock
        self.protocols = protocols
        self.idleTimeout = idleTimeout
        self.mergeWindow = mergeWindow
        self.sweepInterval = sweepInterval
        self.maxDetectionAttempts = maxDetectionAttempts
        self.maxResyncs = maxResyncs
        self.maxExchangesPerConnection = maxExchangesPerConnection
        self.maxHeldViewsPerPair = maxHeldViewsPerPair
        self.maxConnections = max(8, maxConnections)
        self.durationOrigin = durationOrigin
        self.unrecognizedAsFlows = unrecognizedAsFlows
    }
}
