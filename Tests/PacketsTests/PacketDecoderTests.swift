import Events
import Packets
import Testing

@Suite("PacketDecoder: link layer, IP and TCP headers, checked against the bytes present")
struct PacketDecoderTests {
    let builder = PacketBuilder()

    func segment(_ packet: CapturedPacket) throws -> TCPSegment {
        guard case .tcp(let segment) = try PacketDecoder.decode(packet) else {
            Issue.record("not decoded as TCP")
            throw PacketDecodingError.malformed("test")
        }
        return segment
    }

    @Test("Ethernet, IPv4, TCP: addresses, ports, sequence numbers, flags and payload")
    func ethernet() throws {
        let s = try segment(builder.packet(at: 7, sequence: 123, acknowledgment: 456, flags: [.psh, .ack], payload: "GET /"))
        #expect(s.source == PacketBuilder.client && s.destination == PacketBuilder.server)
        #expect(s.sequence == 123 && s.acknowledgment == 456 && s.flags == [.psh, .ack])
        #expect(Array(s.payload) == Array("GET /".utf8) && s.payloadLength == 5 && s.timestamp == 7)
    }

    @Test("Ethernet padding after a short IP packet is not payload")
    func padding() throws {
        let frame = builder.frame(sequence: 1, payload: "a") + [0, 0, 0, 0]
        let s = try segment(CapturedPacket(timestamp: 0, linkType: .ethernet, bytes: frame))
        #expect(Array(s.payload) == Array("a".utf8))
    }

    @Test("VLAN tags, Linux cooked v1 and v2, raw IPv6 and loopback frames decode to the same segment")
    func linkTypes() throws {
        let ip = builder.ip(builder.tcp(sequence: 9, flags: [.ack], payload: Array("x".utf8)))
        let vlan = [UInt8](repeating: 2, count: 12) + be16(0x8100) + [0, 5] + be16(0x0800) + ip
        let sll = be16(0) + be16(1) + be16(6) + [UInt8](repeating: 0, count: 8) + be16(0x0800) + ip
        let sll2 = be16(0x0800) + [0, 0] + be32(3) + be16(1) + [0, 6] + [UInt8](repeating: 0, count: 8) + ip
        let loopback = le32(2) + ip
        for (type, bytes) in [(LinkType.ethernet, vlan), (.linuxSLL, sll), (.linuxSLL2, sll2), (.raw, ip), (.null, loopback)] {
            let s = try segment(CapturedPacket(timestamp: 0, linkType: type, bytes: bytes))
            #expect(s.sequence == 9 && Array(s.payload) == Array("x".utf8), "\(type)")
        }
        let v6 = PacketBuilder(from: Endpoint(address: IPAddress("::1")!, port: 1), to: Endpoint(address: IPAddress("::2")!, port: 2))
        let s = try segment(CapturedPacket(timestamp: 0, linkType: .raw, bytes: v6.ip(v6.tcp(sequence: 4, flags: [.syn]))))
        #expect(s.source.address.description == "::1" && s.flags == [.syn])
    }

    @Test("a packet the snap length cut keeps its true payload length")
    func snapLength() throws {
        let frame = builder.frame(sequence: 1, payload: "0123456789")
        let s = try segment(CapturedPacket(timestamp: 0, linkType: .ethernet, bytes: Array(frame.dropLast(4)),
                                           originalLength: frame.count))
        #expect(Array(s.payload) == Array("012345".utf8) && s.payloadLength == 10)
    }

    @Test("headers cut short or contradicting themselves are errors naming the layer")
    func malformed() {
        let frame = builder.frame(sequence: 1, payload: "abc")
        #expect(throws: PacketDecodingError.truncated("ethernet")) {
            try PacketDecoder.decode(CapturedPacket(timestamp: 0, linkType: .ethernet, bytes: Array(frame.prefix(10))))
        }
        #expect(throws: PacketDecodingError.truncated("tcp header")) {
            try PacketDecoder.decode(CapturedPacket(timestamp: 0, linkType: .ethernet, bytes: Array(frame.prefix(14 + 20 + 8)),
                                                    originalLength: frame.count))
        }
        // Cut with no snap length to explain it: the IP total length lies.
        #expect(throws: PacketDecodingError.self) {
            try PacketDecoder.decode(CapturedPacket(timestamp: 0, linkType: .ethernet, bytes: Array(frame.dropLast(2))))
        }
        var badOffset = frame
        badOffset[14 + 20 + 12] = 0x20 // data offset 2 words
        #expect(throws: PacketDecodingError.malformed("tcp data offset")) {
            try PacketDecoder.decode(CapturedPacket(timestamp: 0, linkType: .ethernet, bytes: badOffset))
        }
        var badVersion = frame
        badVersion[14] = 0x75
        #expect(throws: PacketDecodingError.malformed("ip version 7")) {
            try PacketDecoder.decode(CapturedPacket(timestamp: 0, linkType: .ethernet, bytes: badVersion))
        }
    }

    @Test("ARP, UDP, IP fragments and unknown link types are skipped, not errors")
    func skipped() throws {
        let frame = builder.frame(sequence: 1, payload: "abc")
        var arp = frame
        arp[12] = 0x08; arp[13] = 0x06
        #expect(try PacketDecoder.decode(CapturedPacket(timestamp: 0, linkType: .ethernet, bytes: arp)) == .skipped(.notIP))
        var udp = frame
        udp[14 + 9] = 17
        #expect(try PacketDecoder.decode(CapturedPacket(timestamp: 0, linkType: .ethernet, bytes: udp)) == .skipped(.notTCP))
        var fragment = frame
        fragment[14 + 6] = 0x20 // more fragments
        #expect(try PacketDecoder.decode(CapturedPacket(timestamp: 0, linkType: .ethernet, bytes: fragment)) == .skipped(.fragment))
        #expect(try PacketDecoder.decode(CapturedPacket(timestamp: 0, linkType: LinkType(147), bytes: frame))
                == .skipped(.unsupportedLinkType))
    }
}
