import Events

/// Decodes a captured packet down to its TCP segment: link layer (Ethernet
/// with VLAN tags, Linux cooked v1/v2, raw IP, loopback), IPv4 or IPv6 (with
/// extension headers), TCP. Captures are attacker-controlled: every length
/// is checked against the bytes present, and a packet that does not add up
/// is rejected with the reason, never trusted. Checksums are not verified
/// (captures on the sending host carry offloaded, unfinished ones).
public enum PacketDecoder {
    /// What a packet turned out to be.
    public enum Outcome: Sendable, Hashable {
        case tcp(TCPSegment)
        /// Well-formed, but nothing the reassembler reads.
        case skipped(SkipReason)
    }

    public enum SkipReason: String, Sendable, Hashable {
        case unsupportedLinkType, notIP, notTCP
        /// IP fragments are not reassembled (TCP traffic rarely fragments).
        case fragment
    }

    /// Decodes one packet; throws for a packet whose headers are cut or contradict themselves.
    public static func decode(_ packet: CapturedPacket) throws(PacketDecodingError) -> Outcome {
        let decoded: Result<Outcome, PacketDecodingError> = packet.bytes.withUnsafeBytes { bytes in
            Result { () throws(PacketDecodingError) -> Outcome in
                switch try decodeRaw(bytes, linkType: packet.linkType, originalLength: packet.originalLength,
                                     timestamp: packet.timestamp) {
                case .tcp(let raw):
                    // The payload as a slice of the packet's own array: no copy.
                    let start = raw.payload.isEmpty ? packet.bytes.count : raw.payload.baseAddress! - bytes.baseAddress!
                    return .tcp(TCPSegment(raw, payload: packet.bytes[start..<(start + raw.payload.count)]))
                case .skipped(let reason):
                    return .skipped(reason)
                }
            }
        }
        return try decoded.get()
    }

    /// What `decode` finds, before the addresses become `Endpoint`s: the reassembler's fast path.
    enum RawOutcome {
        case tcp(RawSegment)
        case skipped(SkipReason)
    }

    /// Decodes a packet where its reader holds it; the segment's payload points into `bytes`.
    /// `originalLength`: the packet's length on the wire (more than `bytes.count` when the snap length cut it).
    static func decodeRaw(_ bytes: UnsafeRawBufferPointer, linkType: LinkType, originalLength: Int,
                          timestamp: UInt64) throws(PacketDecodingError) -> RawOutcome {
        guard let network = try networkLayer(linkType, bytes) else {
            return .skipped(linkType.isSupported ? .notIP : .unsupportedLinkType)
        }
        // Bytes the snap length cut off this packet, at its end.
        let cut = max(originalLength, bytes.count) - bytes.count
        return try ip(network, cut: cut, timestamp: timestamp)
    }

    // MARK: Link layer

    /// The IP packet inside the frame, or nil when the frame carries something else.
    private static func networkLayer(_ linkType: LinkType, _ b: UnsafeRawBufferPointer) throws(PacketDecodingError) -> UnsafeRawBufferPointer? {
        switch linkType {
        case .ethernet:
            var offset = 12
            var type = try b.uint16(at: offset, layer: "ethernet")
            // 802.1Q / 802.1ad tags, possibly stacked.
            while type == 0x8100 || type == 0x88a8 || type == 0x9100 {
                offset += 4
                type = try b.uint16(at: offset, layer: "vlan")
            }
            return isIP(type) ? b.dropping(offset + 2) : nil
        case .linuxSLL:
            let type = try b.uint16(at: 14, layer: "linux cooked header")
            return isIP(type) ? b.dropping(16) : nil
        case .linuxSLL2:
            let type = try b.uint16(at: 0, layer: "linux cooked v2 header")
            guard b.count >= 20 else { throw .truncated("linux cooked v2 header") }
            return isIP(type) ? b.dropping(20) : nil
        case .null:
            // Host byte order of whoever captured: accept either.
            let little = try b.uint32(at: 0, layer: "loopback header").byteSwapped
            let family = little > 0xffff ? little.byteSwapped : little
            return [2, 24, 28, 30].contains(family) ? b.dropping(4) : nil
        case .raw, .ipv4, .ipv6:
            return b
        case .unsupported:
            return nil
        }
    }

    private static func isIP(_ etherType: UInt16) -> Bool { etherType == 0x0800 || etherType == 0x86dd }

    // MARK: IP

    private static func ip(_ b: UnsafeRawBufferPointer, cut: Int, timestamp: UInt64) throws(PacketDecodingError) -> RawOutcome {
        let first = try b.uint8(at: 0, layer: "ip header")
        switch first >> 4 {
        case 4: return try ipv4(b, cut: cut, timestamp: timestamp)
        case 6: return try ipv6(b, cut: cut, timestamp: timestamp)
        default: throw .malformed("ip version \(first >> 4)")
        }
    }

    private static func ipv4(_ b: UnsafeRawBufferPointer, cut: Int, timestamp: UInt64) throws(PacketDecodingError) -> RawOutcome {
        guard b.count >= 20 else { throw .truncated("ipv4 header") }
        let headerLength = Int(try b.uint8(at: 0, layer: "ipv4 header") & 0x0f) * 4
        let totalLength = Int(try b.uint16(at: 2, layer: "ipv4 header"))
        guard headerLength >= 20, totalLength >= headerLength else { throw .malformed("ipv4 lengths") }
        guard b.count >= headerLength else { throw .truncated("ipv4 options") }
        // Captured bytes beyond the total length are link padding; fewer were cut by the snap length.
        guard b.count + cut >= totalLength else { throw .truncated("ipv4 packet shorter than its total length") }
        let fragment = try b.uint16(at: 6, layer: "ipv4 header")
        if fragment & 0x3fff != 0 { return .skipped(.fragment) }
        guard try b.uint8(at: 9, layer: "ipv4 header") == 6 else { return .skipped(.notTCP) }
        let source = (high: UInt64(0), low: UInt64(try b.uint32(at: 12, layer: "ipv4 header")))
        let destination = (high: UInt64(0), low: UInt64(try b.uint32(at: 16, layer: "ipv4 header")))
        return try tcp(b.bytes(headerLength..<min(b.count, totalLength)), length: totalLength - headerLength,
                       source: source, destination: destination, isIPv6: false, timestamp: timestamp)
    }

    private static func ipv6(_ b: UnsafeRawBufferPointer, cut: Int, timestamp: UInt64) throws(PacketDecodingError) -> RawOutcome {
        guard b.count >= 40 else { throw .truncated("ipv6 header") }
        let payloadLength = Int(try b.uint16(at: 4, layer: "ipv6 header"))
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
                return try tcp(b.bytes(offset..<end), length: 40 + payloadLength - offset,
                               source: source, destination: destination, isIPv6: true, timestamp: timestamp)
            case 0, 43, 60, 51:
                guard offset + 2 <= b.count else { throw .truncated("ipv6 extension header") }
                let size = Int(try b.uint8(at: offset + 1, layer: "ipv6 extension header"))
                let length = next == 51 ? (size + 2) * 4 : (size + 1) * 8
                next = try b.uint8(at: offset, layer: "ipv6 extension header")
                offset += length
                guard offset <= 40 + payloadLength else { throw .malformed("ipv6 extension header beyond the payload") }
            case 44:
                return .skipped(.fragment)
            default:
                return .skipped(.notTCP)
            }
        }
        throw .malformed("too many ipv6 extension headers")
    }

    // MARK: TCP

    /// `b`: the captured part of the segment; `length`: its length per the IP header.
    private static func tcp(_ b: UnsafeRawBufferPointer, length: Int, source: (high: UInt64, low: UInt64),
                            destination: (high: UInt64, low: UInt64), isIPv6: Bool,
                            timestamp: UInt64) throws(PacketDecodingError) -> RawOutcome {
        guard b.count >= 20 else { throw .truncated("tcp header") }
        let headerLength = Int(try b.uint8(at: 12, layer: "tcp header") >> 4) * 4
        guard headerLength >= 20, headerLength <= length else { throw .malformed("tcp data offset") }
        guard b.count >= headerLength else { throw .truncated("tcp options") }
        let payload = b.dropping(headerLength)
        let segment = RawSegment(
            timestamp: timestamp,
            source: EndpointKey(high: source.high, low: source.low, port: try b.uint16(at: 0, layer: "tcp header"),
                                isIPv6: isIPv6),
            destination: EndpointKey(high: destination.high, low: destination.low,
                                     port: try b.uint16(at: 2, layer: "tcp header"), isIPv6: isIPv6),
            sequence: try b.uint32(at: 4, layer: "tcp header"),
            acknowledgment: try b.uint32(at: 8, layer: "tcp header"),
            flags: TCPFlags(rawValue: try b.uint8(at: 13, layer: "tcp header") & 0x1f),
            payload: payload,
            payloadLength: max(UInt32(length - headerLength), UInt32(payload.count)))
        return .tcp(segment)
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
    func uint8(at offset: Int, layer: String) throws(PacketDecodingError) -> UInt8 {
        guard offset >= 0, offset < count else { throw .truncated(layer) }
        return load(fromByteOffset: offset, as: UInt8.self)
    }

    /// Big-endian 16 bits at `offset`.
    func uint16(at offset: Int, layer: String) throws(PacketDecodingError) -> UInt16 {
        guard offset >= 0, offset <= count - 2 else { throw .truncated(layer) }
        return UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    func uint32(at offset: Int, layer: String) throws(PacketDecodingError) -> UInt32 {
        guard offset >= 0, offset <= count - 4 else { throw .truncated(layer) }
        return UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    func uint64(at offset: Int, layer: String) throws(PacketDecodingError) -> UInt64 {
        guard offset >= 0, offset <= count - 8 else { throw .truncated(layer) }
        return UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// The bytes in `range`, clamped to the bytes present.
    func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        let lower = Swift.min(Swift.max(range.lowerBound, 0), count)
        let upper = Swift.min(Swift.max(range.upperBound, lower), count)
        return UnsafeRawBufferPointer(rebasing: self[lower..<upper])
    }

    /// The bytes after the first `prefix` (none when there are fewer).
    func dropping(_ prefix: Int) -> UnsafeRawBufferPointer { bytes(prefix..<count) }
}
