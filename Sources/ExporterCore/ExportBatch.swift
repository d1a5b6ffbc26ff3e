/// One request body ready to send (remote write: snappy-compressed
/// protobuf) with its place in the sink's order and its sample count.
public struct ExportBatch: Sendable, Hashable {
    /// Increasing per sink, across restarts (the spool remembers): the replay order.
    public var sequence: UInt64
    public var body: [UInt8]
    public var points: Int

    public init(sequence: UInt64, body: [UInt8], points: Int) {
        self.sequence = sequence
        self.body = body
        self.points = points
    }
}
