import Events

/// The control bits of a TCP header.
public struct TCPFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let fin = TCPFlags(rawValue: 0x01)
    public static let syn = TCPFlags(rawValue: 0x02)
    public static let rst = TCPFlags(rawValue: 0x04)
    public static let psh = TCPFlags(rawValue: 0x08)
    public static let ack = TCPFlags(rawValue: 0x10)
}

/// One decoded TCP segment: the unit the reassembler consumes. Its payload
/// is what was captured; `payloadLength` is what the IP header says was
/// sent, longer when the capture's snap length cut the packet.
public struct TCPSegment: Sendable, Hashable {
    /// Nanoseconds since the Unix epoch (the packet's capture time).
    public var timestamp: UInt64
    public var source: Endpoint
    public var destination: Endpoint
    public var sequence: UInt32
    public var acknowledgment: UInt32
    public var flags: TCPFlags
    public var payload: ArraySlice<UInt8>
    public var payloadLength: UInt32

    public init(timestamp: UInt64, source: Endpoint, destination: Endpoint, sequence: UInt32,
                acknowledgment: UInt32 = 0, flags: TCPFlags, payload: ArraySlice<UInt8> = [],
                payloadLength: UInt32? = nil) {
        self.timestamp = timestamp
        self.source = source
        self.destination = destination
        self.sequence = sequence
        self.acknowledgment = acknowledgment
        self.flags = flags
        self.payload = payload
        self.payloadLength = max(payloadLength ?? UInt32(payload.count), UInt32(payload.count))
    }
}
