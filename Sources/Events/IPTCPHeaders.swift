/// Where an IP packet's TCP segment lies, read from its IPv4 or IPv6 header
/// (with extension headers) and its TCP header: the one reader of these
/// headers, for the capture decoder (Packets), the packet redactor
/// (Redaction) and the capture annotator (CaptureFormats). Packets are
/// attacker-controlled: every length is checked against the bytes present
/// and the others, and headers that do not add up throw the reason. `cut`
/// (the bytes a snap length left out) also says how long a BIG TCP packet
/// is, whose IP length field is 0.
public struct IPTCPHeaders: Sendable {
    public var isIPv6: Bool
    /// The addresses as two 64-bit halves (IPv4: `low` alone).
    public var source: (high: UInt64, low: UInt64)
    public var destination: (high: UInt64, low: UInt64)
    /// Where the TCP header starts, from the IP header.
    public var tcpOffset: Int
    /// Where the TCP payload starts (the TCP options may lie beyond the bytes present).
    public var payloadOffset: Int
    /// The TCP segment's length (header and payload) by the IP header.
    public var segmentLength: Int
    /// Where the segment's bytes present end: link padding after the IP packet is not part of it.
    public var end: Int

    public enum Outcome: Sendable {
        case tcp(IPTCPHeaders)
        /// An IP fragment (not reassembled; TCP traffic rarely fragments).
        case fragment
        /// Well-formed IP that does not carry TCP.
        case notTCP
    }

    /// Reads the headers of the packet `b` (from its IP header), of which
    /// `cut` bytes at the end were not captured (a snap length). The fixed
    /// 20 bytes of the TCP header must be present, its options need not be.
    public static func read(_ b: UnsafeRawBufferPointer, cut: Int) throws(PacketDecodingError) -> Outcome {
        let first = try b.uint8(at: 0, layer: "ip header")
        switch first >> 4 {
        case 4: return try ipv4(b, cut: cut)
        case 6: return try ipv6(b, cut: cut)
        default: throw .malformed("ip version \(first >> 4)")
        }
    }

    private static func ipv4(_ b: UnsafeRawBufferPointer, cut: Int) throws(PacketDecodingError) -> Outcome {
        guard b.count >= 20 else { throw .truncated("ipv4 header") }
        let headerLength = Int(try b.uint8(at: 0, layer: "ipv4 header") & 0x0f) * 4
        var totalLength = Int(try b.uint16(at: 2, layer: "ipv4 header"))
        // BIG TCP: a GSO packet past 64 KiB has a total length of 0; its length is the packet's own.
        if totalLength == 0 && b.count + cut > 0xffff { totalLength = b.count + cut }
        guard headerLength >= 20, totalLength >= headerLength else { throw .malformed("ipv4 lengths") }
        guard b.count >= headerLength else { throw .truncated("ipv4 options") }
        // Captured bytes beyond the total length are link padding; fewer were cut by the snap length.
        guard b.count + cut >= totalLength else { throw .truncated("ipv4 packet shorter than its total length") }
        let fragment = try b.uint16(at: 6, layer: "ipv4 header")
        if fragment & 0x3fff != 0 { return .fragment }
        guard try b.uint8(at: 9, layer: "ipv4 header") == 6 else { return .notTCP }
        let source = (high: UInt64(0), low: UInt64(try b.uint32(at: 12, layer: "ipv4 header")))
        let destination = (high: UInt64(0), low: UInt64(try b.uint32(at: 16, layer: "ipv4 header")))
        return try tcp(b, at: headerLength, end: min(b.count, totalLength), length: totalLength - headerLength,
                       source: source, destination: destination, isIPv6: false)
    }

    private static func ipv6(_ b: UnsafeRawBufferPointer, cut: Int) throws(PacketDecodingError) -> Outcome {
        guard b.count >= 40 else { throw .truncated("ipv6 header") }
        var payloadLength = Int(try b.uint16(at: 4, layer: "ipv6 header"))
        // BIG TCP over IPv6, as for IPv4 (the stack keeps no jumbo option on it).
        if payloadLength == 0 && b.count + cut - 40 > 0xffff { payloadLength = b.count + cut - 40 }
        guard payloadLength > 0 else { throw .malformed("ipv6 payload length 0 (jumbogram)") }
        guard b.count + cut >= 40 + payloadLength else { throw .truncated("ipv6 packet shorter than its payload length") }
        var next = try b.uint8(at: 6, layer: "ipv6 header")
        var offset = 40
        // Extension headers until TCP; each is checked against the payload length.
        for _ in 0..<16 {
            switch next {
            case 6:
                let source = (high: try b.uint64(at: 8, layer: "ipv6 header"), low: try b.uint64(at: 16, layer: "ipv6 header"))
                let destination = (high: try b.uint64(at: 24, layer: "ipv6 header"), low: try b.uint64(at: 32, layer: "ipv6 header"))
                let end = min(b.count, 40 + payloadLength)
                guard offset <= end else { throw .truncated("ipv6 extension headers") }
                return try tcp(b, at: offset, end: end, length: 40 + payloadLength - offset,
                               source: source, destination: destination, isIPv6: true)
            case 0, 43, 60, 51:
                guard offset + 2 <= b.count else { throw .truncated("ipv6 extension header") }
                let size = Int(try b.uint8(at: offset + 1, layer: "ipv6 extension header"))
                let length = next == 51 ? (size + 2) * 4 : (size + 1) * 8
                next = try b.uint8(at: offset, layer: "ipv6 extension header")
                offset += length
                guard offset <= 40 + payloadLength else { throw .malformed("ipv6 extension header beyond the payload") }
            case 44:
                return .fragment
            default:
                return .notTCP
            }
        }
        throw .malformed("too many ipv6 extension headers")
    }

    /// The TCP header at `offset`; `end`: where the segment's bytes present end; `length`: its length per the IP header.
    private static func tcp(_ b: UnsafeRawBufferPointer, at offset: Int, end: Int, length: Int,
                            source: (high: UInt64, low: UInt64), destination: (high: UInt64, low: UInt64),
                            isIPv6: Bool) throws(PacketDecodingError) -> Outcome {
        guard end - offset >= 20 else { throw .truncated("tcp header") }
        let headerLength = Int(try b.uint8(at: offset + 12, layer: "tcp header") >> 4) * 4
        guard headerLength >= 20, headerLength <= length else { throw .malformed("tcp data offset") }
        return .tcp(IPTCPHeaders(isIPv6: isIPv6, source: source, destination: destination, tcpOffset: offset,
                                 payloadOffset: offset + headerLength, segmentLength: length, end: end))
    }
}

/// Why a packet could not be decoded: the layer whose header was cut short,
/// or the field that made no sense.
public enum PacketDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    case truncated(String)
    case malformed(String)

    public var description: String {
        switch self {
        case .truncated(let layer): "truncated \(layer)"
        case .malformed(let what): "malformed \(what)"
        }
    }
}

/// Every read of a packet's bytes goes through these: each checks its
/// offset against the bytes present and throws a truncation naming `layer`,
/// so no header field, however it lies, reads outside the packet.
extension UnsafeRawBufferPointer {
    package func uint8(at offset: Int, layer: String) throws(PacketDecodingError) -> UInt8 {
        guard offset >= 0, offset < count else { throw .truncated(layer) }
        return load(fromByteOffset: offset, as: UInt8.self)
    }

    /// Big-endian 16 bits at `offset`.
    package func uint16(at offset: Int, layer: String) throws(PacketDecodingError) -> UInt16 {
        guard offset >= 0, offset <= count - 2 else { throw .truncated(layer) }
        return UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    package func uint32(at offset: Int, layer: String) throws(PacketDecodingError) -> UInt32 {
        guard offset >= 0, offset <= count - 4 else { throw .truncated(layer) }
        return UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    package func uint64(at offset: Int, layer: String) throws(PacketDecodingError) -> UInt64 {
        guard offset >= 0, offset <= count - 8 else { throw .truncated(layer) }
        return UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// The bytes in `range`, clamped to the bytes present.
    package func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        let lower = Swift.min(Swift.max(range.lowerBound, 0), count)
        let upper = Swift.min(Swift.max(range.upperBound, lower), count)
        return UnsafeRawBufferPointer(rebasing: self[lower..<upper])
    }

    /// The bytes after the first `prefix` (none when there are fewer).
    package func dropping(_ prefix: Int) -> UnsafeRawBufferPointer { bytes(prefix..<count) }
}
