/// One TCP packet of a traced connection, from its IP header, as it crossed
/// the socket layer (cgroup ingress or egress). A packet sent between two
/// sockets of the same host is captured once, leaving; entering, it comes
/// again as a delivery (headers only) that names its receiver.
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
    /// The receiving end of a packet already captured leaving its sender on
    /// this host: `bytes` hold only its IP and TCP headers, `header` names
    /// the receiver. Not a packet of its own.
    public var isDelivery: Bool

    public init(header: EventHeader, direction: Direction, interfaceIndex: UInt32, length: UInt32, bytes: [UInt8],
                isDelivery: Bool = false) {
        self.header = header
        self.direction = direction
        self.interfaceIndex = interfaceIndex
        self.length = length
        self.bytes = bytes
        self.isDelivery = isDelivery
    }

    /// Fewer bytes captured than the packet had: the snap length cut it.
    public var isTruncated: Bool { UInt32(bytes.count) < length }
}
