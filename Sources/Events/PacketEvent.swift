/// One TCP packet of a traced connection, from its IP header, as it crossed
/// the socket layer (cgroup ingress or egress). A packet sent between two
/// namespaces of the same host is seen twice: leaving one, entering the other.
public struct PacketEvent: Sendable, Hashable {
    /// Who owns the socket (pid 0 and empty comm when the connection table
    /// does not know it yet, as for a handshake the kernel answers alone);
    /// `tuple` is read from the packet, this host's end as `local`.
    public var header: EventHeader
    /// Egress: a socket of this host sent it. Ingress: one received it.
    public var direction: Direction
    /// The device it arrived on or leaves by, in the socket's namespace; 0 if none.
    public var interfaceIndex: UInt32
    /// The packet's true length (a GSO packet is one packet here, before the device cuts it).
    public var length: UInt32
    /// The first bytes, up to the snap length, starting with the IP header.
    public var bytes: [UInt8]

    public init(header: EventHeader, direction: Direction, interfaceIndex: UInt32, length: UInt32, bytes: [UInt8]) {
        self.header = header
        self.direction = direction
        self.interfaceIndex = interfaceIndex
        self.length = length
        self.bytes = bytes
    }

    /// Fewer bytes captured than the packet had: the snap length cut it.
    public var isTruncated: Bool { UInt32(bytes.count) < length }
}
