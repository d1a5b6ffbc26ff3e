import Events
import Testing

@Suite("IPTCPHeaders: the one reader of IPv4, IPv6 and TCP headers")
struct IPTCPHeadersTests {
    /// A TCP header of 20 bytes (data offset 5) and `payload`.
    func tcp(_ payload: [UInt8]) -> [UInt8] {
        [0x9c, 0x40, 0x1f, 0x90] + [0, 0, 0, 1] + [0, 0, 0, 0] + [0x50, 0x18, 0xff, 0xff] + [0, 0, 0, 0] + payload
    }

    func ipv4(_ segment: [UInt8], fragment: UInt16 = 0, protocolNumber: UInt8 = 6) -> [UInt8] {
        let total = UInt16(20 + segment.count)
        return [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0, 1, UInt8(fragment >> 8), UInt8(fragment & 0xff),
                64, protocolNumber, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2] + segment
    }

    /// IPv6 with one hop-by-hop options header (8 bytes) before TCP.
    func ipv6HopByHop(_ segment: [UInt8]) -> [UInt8] {
        let length = UInt16(8 + segment.count)
        let fixed: [UInt8] = [0x60, 0, 0, 0, UInt8(length >> 8), UInt8(length & 0xff), 0, 64]
        let addresses = [UInt8](repeating: 0, count: 15) + [1] + [UInt8](repeating: 0, count: 15) + [2]
        return fixed + addresses + [6, 0, 1, 4, 0, 0, 0, 0] + segment
    }

    func read(_ packet: [UInt8], cut: Int = 0) throws(PacketDecodingError) -> IPTCPHeaders.Outcome {
        let result = packet.withUnsafeBytes { b in Result { () throws(PacketDecodingError) in try IPTCPHeaders.read(b, cut: cut) } }
        return try result.get()
    }

    @Test("IPv4: the TCP header after the IP header's length, the payload after the data offset")
    func ipv4Offsets() throws {
        guard case .tcp(let h) = try read(ipv4(tcp(Array("GET /".utf8)))) else { Issue.record("not TCP"); return }
        #expect(!h.isIPv6)
        #expect((h.tcpOffset, h.payloadOffset, h.segmentLength, h.end) == (20, 40, 25, 45))
        #expect(h.source.low == 0x0a00_0001 && h.destination.low == 0x0a00_0002)
    }

    @Test("IPv6: extension headers are walked to TCP")
    func ipv6ExtensionHeaders() throws {
        guard case .tcp(let h) = try read(ipv6HopByHop(tcp(Array("GET /".utf8)))) else { Issue.record("not TCP"); return }
        #expect(h.isIPv6)
        #expect((h.tcpOffset, h.payloadOffset, h.segmentLength, h.end) == (48, 68, 25, 73))
        #expect(h.source == (high: 0, low: 1) && h.destination == (high: 0, low: 2))
    }

    @Test("fragments and other protocols are told apart; cut or contradicting headers throw the reason")
    func refusals() throws {
        guard case .fragment = try read(ipv4(tcp([]), fragment: 0x2000)) else { Issue.record("more fragments not seen"); return }
        guard case .notTCP = try read(ipv4(tcp([]), protocolNumber: 17)) else { Issue.record("UDP not seen"); return }
        #expect(throws: PacketDecodingError.truncated("tcp header")) { try read(Array(ipv4(tcp([])).prefix(39)), cut: 1) }
        var lying = ipv4(tcp([]))
        lying[32] = 0xf0 // a data offset of 60 bytes in a 20-byte segment
        #expect(throws: PacketDecodingError.malformed("tcp data offset")) { try read(lying) }
        #expect(throws: PacketDecodingError.truncated("ipv4 packet shorter than its total length")) {
            try read(Array(ipv4(tcp(Array("GET /".utf8))).prefix(44)))
        }
    }

    @Test("BIG TCP: an IPv4 total length of 0 on a packet past 64 KiB is the packet's own length; on a shorter one it is malformed")
    func bigTCP() throws {
        var packet = ipv4(tcp([]))
        packet[2] = 0
        packet[3] = 0
        guard case .tcp(let h) = try read(packet, cut: 70_000) else { Issue.record("not TCP"); return }
        #expect((h.segmentLength, h.end) == (70_020, 40))
        #expect(throws: PacketDecodingError.malformed("ipv4 lengths")) { try read(packet, cut: 1000) }
    }
}
