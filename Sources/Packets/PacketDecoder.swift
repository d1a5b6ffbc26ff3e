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

    // MARK: IP and TCP

    /// `b`: from the IP header; the headers are read by Events' `IPTCPHeaders`.
    private static func ip(_ b: UnsafeRawBufferPointer, cut: Int, timestamp: UInt64) throws(PacketDecodingError) -> RawOutcome {
        let h: IPTCPHeaders
        switch try IPTCPHeaders.read(b, cut: cut) {
        case .tcp(let headers): h = headers
        case .fragment: return .skipped(.fragment)
        case .notTCP: return .skipped(.notTCP)
        }
        guard h.end >= h.payloadOffset else { throw .truncated("tcp options") }
        let payload = b.bytes(h.payloadOffset..<h.end)
        let t = h.tcpOffset
        let segment = RawSegment(
            timestamp: timestamp,
            source: EndpointKey(high: h.source.high, low: h.source.low, port: try b.uint16(at: t, layer: "tcp header"),
                                isIPv6: h.isIPv6),
            destination: EndpointKey(high: h.destination.high, low: h.destination.low,
                                     port: try b.uint16(at: t + 2, layer: "tcp header"), isIPv6: h.isIPv6),
            sequence: try b.uint32(at: t + 4, layer: "tcp header"),
            acknowledgment: try b.uint32(at: t + 8, layer: "tcp header"),
            flags: TCPFlags(rawValue: try b.uint8(at: t + 13, layer: "tcp header") & 0x1f),
            payload: payload,
            payloadLength: max(UInt32(h.segmentLength - (h.payloadOffset - t)), UInt32(payload.count)))
        return .tcp(segment)
    }
}
