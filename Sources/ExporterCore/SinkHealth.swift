/// What one sink has done so far: cumulative counts and its current backlog.
/// Sinks fill it in on their own threads; `ExporterHealth` turns it into series.
public struct SinkHealth: Sendable, Hashable {
    /// Batches waiting in memory.
    public var queueDepth: Int = 0
    /// Batches and bytes waiting on disk.
    public var spoolBatches: Int = 0
    public var spoolBytes: Int = 0
    /// Samples delivered (accepted by the receiver).
    public var sentPoints: UInt64 = 0
    /// Failed attempts by reason ("connect", "timeout", "http_503", ...); each is retried or spooled.
    public var errors: [String: UInt64] = [:]
    /// Samples given up for good, by reason ("spool_full", "rejected", "spool_io").
    public var droppedPoints: [String: UInt64] = [:]

    public init() {}
}
