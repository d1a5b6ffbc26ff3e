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

extension TCPSegment {
    /// The public form of a segment the decoder found: its addresses as
    /// `Endpoint`s, its payload `payload` (the raw one's bytes, owned).
    init(_ raw: RawSegment, payload: ArraySlice<UInt8>) {
        self.init(timestamp: raw.timestamp, source: raw.source.endpoint, destination: raw.destination.endpoint,
                  sequence: raw.sequence, acknowledgment: raw.acknowledgment, flags: raw.flags, payload: payload,
                  payloadLength: raw.payloadLength)
    }
}

/// A decoded segment as the reassembler works on it, with nothing
/// allocated or reference-counted per packet: its addresses are plain
/// numbers, and its payload points into the packet where its reader holds
/// it (libpcap's buffer), so it is valid only while that packet is being
/// processed. Whatever outlives the packet (a delivered or a held payload)
/// is copied out of it.
struct RawSegment {
    var timestamp: UInt64
    var source: EndpointKey
    var destination: EndpointKey
    var sequence: UInt32
    var acknowledgment: UInt32
    var flags: TCPFlags
    /// The captured payload, inside the packet's bytes.
    var payload: UnsafeRawBufferPointer
    /// What the IP header says the payload is; longer than `payload` when the snap length cut it.
    var payloadLength: UInt32

    init(timestamp: UInt64, source: EndpointKey, destination: EndpointKey, sequence: UInt32, acknowledgment: UInt32,
         flags: TCPFlags, payload: UnsafeRawBufferPointer, payloadLength: UInt32) {
        self.timestamp = timestamp
        self.source = source
        self.destination = destination
        self.sequence = sequence
        self.acknowledgment = acknowledgment
        self.flags = flags
        self.payload = payload
        self.payloadLength = payloadLength
    }

    /// `segment` with its payload at `payload` (the segment's bytes, valid as long as the raw segment is used).
    init(_ segment: TCPSegment, payload: UnsafeRawBufferPointer) {
        self.init(timestamp: segment.timestamp, source: EndpointKey(segment.source),
                  destination: EndpointKey(segment.destination), sequence: segment.sequence,
                  acknowledgment: segment.acknowledgment, flags: segment.flags, payload: payload,
                  payloadLength: segment.payloadLength)
    }
}

/// An IPv4 or IPv6 address and a port as two words and a flag: hashed and
/// compared without touching the heap, and made an `Endpoint` only once per
/// connection.
struct EndpointKey: Hashable {
    /// The address's first 8 bytes (IPv6), big-endian; 0 for IPv4.
    var high: UInt64
    /// The address's last 8 bytes (IPv6), or the IPv4 address in the low 32 bits, big-endian.
    var low: UInt64
    var port: UInt16
    var isIPv6: Bool

    init(high: UInt64, low: UInt64, port: UInt16, isIPv6: Bool) {
        self.high = high
        self.low = low
        self.port = port
        self.isIPv6 = isIPv6
    }

    init(_ endpoint: Endpoint) {
        let bytes = endpoint.address.bytes
        func word(_ range: Range<Int>) -> UInt64 { bytes[range].reduce(0) { $0 << 8 | UInt64($1) } }
        isIPv6 = !endpoint.address.isIPv4
        high = isIPv6 ? word(0..<8) : 0
        low = isIPv6 ? word(8..<16) : word(0..<4)
        port = endpoint.port
    }

    var endpoint: Endpoint {
        func bytes(_ word: UInt64, _ count: Int) -> [UInt8] { (0..<count).reversed().map { UInt8(truncatingIfNeeded: word >> (8 * $0)) } }
        let address = isIPv6 ? IPAddress(ipv6: bytes(high, 8) + bytes(low, 8)) : IPAddress(ipv4: bytes(low, 4))
        return Endpoint(address: address, port: port)
    }

    /// A total order, to name a connection by its two ends whichever sent the packet.
    static func < (a: EndpointKey, b: EndpointKey) -> Bool {
        (a.isIPv6 ? 1 : 0, a.high, a.low, a.port) < (b.isIPv6 ? 1 : 0, b.high, b.low, b.port)
    }
}
