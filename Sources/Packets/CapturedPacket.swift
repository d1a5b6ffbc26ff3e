/// One packet as a capture file holds it: when, how it is framed, the bytes
/// captured and how long it was on the wire (longer when the snap length cut it).
public struct CapturedPacket: Sendable, Hashable {
    /// Nanoseconds since the Unix epoch.
    public var timestamp: UInt64
    public var linkType: LinkType
    public var bytes: [UInt8]
    /// Length on the wire; `bytes.count` when nothing was cut.
    public var originalLength: Int

    public init(timestamp: UInt64, linkType: LinkType, bytes: [UInt8], originalLength: Int? = nil) {
        self.timestamp = timestamp
        self.linkType = linkType
        self.bytes = bytes
        self.originalLength = max(originalLength ?? bytes.count, bytes.count)
    }
}
