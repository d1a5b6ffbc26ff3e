/// How complete the capture is: what the kernel side or the decoder had to drop.
public struct ProbeStatistics: Sendable, Hashable {
    /// Events the BPF side could not put on the ring buffer (it was full).
    public var lostEvents: UInt64 = 0
    /// Records that did not decode (never expected; a layout mismatch).
    public var malformedEvents: UInt64 = 0
    /// Sockets not tracked because the connection table was full.
    public var connectionTableFull: UInt64 = 0
    /// Events delivered.
    public var events: UInt64 = 0

    public init() {}
}
