/// What the reassembler did and what it could not do, for the summary line
/// of `pipetrace analyze`: a capture that missed packets says so.
public struct ReassemblyCounters: Sendable, Hashable {
    public var segments: UInt64 = 0
    /// Payload bytes delivered in order (captured or cut by the snap length).
    public var bytes: UInt64 = 0
    /// Connections whose handshake is in the capture.
    public var connectionsFromHandshake: UInt64 = 0
    /// Connections already open when the capture began.
    public var connectionsAlreadyOpen: UInt64 = 0
    public var connectionsClosed: UInt64 = 0
    public var connectionsIdleClosed: UInt64 = 0
    public var connectionsEvicted: UInt64 = 0
    /// Segments that carried only bytes already seen (or a SYN again).
    public var retransmittedSegments: UInt64 = 0
    /// Holes in a stream that never filled: bytes sent but not captured.
    public var gaps: UInt64 = 0
    public var gapBytes: UInt64 = 0
    public var resets: UInt64 = 0
    /// Empty segments (ACK, FIN, RST) of connections not held: nothing to reassemble.
    public var segmentsOutsideConnections: UInt64 = 0

    public init() {}

    public var connections: UInt64 { connectionsFromHandshake + connectionsAlreadyOpen }
}
