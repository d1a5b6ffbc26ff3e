/// What the analyzer did and what it could not do, for `pipetrace` to
/// report: every input it gave up on is counted here rather than lost.
public struct AnalyzerCounters: Sendable, Hashable {
    public var events: UInt64 = 0
    public var dataEvents: UInt64 = 0
    /// Bytes moved by data events (captured or not).
    public var bytes: UInt64 = 0
    public var records: UInt64 = 0
    /// Records emitted without a complete request and final response.
    public var incompleteRecords: UInt64 = 0
    /// Records that joined a client's and a server's view.
    public var mergedRecords: UInt64 = 0
    /// Merged records whose server time exceeded the client's duration; network time clamped to 0.
    public var networkTimeClamped: UInt64 = 0
    /// Bytes that broke the protocol's grammar.
    public var malformed: UInt64 = 0
    /// Uncaptured bytes hid framing (a head, a chunk-size line between messages).
    public var framingLost: UInt64 = 0
    /// HTTP Upgrade or CONNECT: the connection stopped being parsed.
    public var protocolSwitches: UInt64 = 0
    /// Connections parsed again from a later message start after an error.
    public var resyncs: UInt64 = 0
    /// Connections ignored after too many parse errors.
    public var connectionsGivenUp: UInt64 = 0
    /// Connections whose bytes no registered protocol recognized.
    public var connectionsUnrecognized: UInt64 = 0
    /// Connections no protocol recognized, followed as `tcp` flows of turns.
    public var connectionsAsFlows: UInt64 = 0
    /// Connections whose client/server role came from their bytes, not the probe.
    public var rolesInferred: UInt64 = 0
    public var connectionsClosed: UInt64 = 0
    public var connectionsIdleDropped: UInt64 = 0
    /// Connections closed early because `maxConnections` were held (their exchanges emitted as they stood).
    public var connectionsEvicted: UInt64 = 0
    /// Exchanges emitted early because a connection had too many in flight.
    public var exchangesOverflowed: UInt64 = 0
    /// Views emitted alone because the other end's view did not come in time or did not match.
    public var viewsUnmatched: UInt64 = 0
    public var retransmittedSegments: UInt64 = 0
    /// Retransmitted segments on a known connection with no exchange in flight.
    public var retransmitsOutsideRequests: UInt64 = 0
    /// Retransmits on connections the analyzer never saw data on.
    public var retransmitsUnknownConnection: UInt64 = 0
    /// Retransmit attempts that failed to leave the host (not counted as retransmits).
    public var retransmitsFailed: UInt64 = 0
    public var resets: UInt64 = 0

    public init() {}
}
