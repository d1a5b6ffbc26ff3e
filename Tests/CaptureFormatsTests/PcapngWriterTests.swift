import CaptureFormats
import Events
import Testing

@Suite("pcapng writer")
struct PcapngWriterTests {
    @Test("the section header names the application and leaves the section length open")
    func sectionHeader() {
        var writer = PcapngWriter(application: "pt")
        let expected: [UInt8] = [
            0x0a, 0x0d, 0x0d, 0x0a, 0x28, 0, 0, 0, // SHB, 40 bytes
            0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0,     // byte-order magic, version 1.0
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // section length unknown
            4, 0, 2, 0, 0x70, 0x74, 0, 0,           // shb_userappl "pt"
            0, 0, 0, 0,                             // end of options
            0x28, 0, 0, 0,
        ]
        let bytes = writer.begin()
        #expect(bytes == expected, "\(hex(bytes))")
    }

    @Test("the first packet of an interface brings its description; the packet has its time, direction and comment")
    func interfaceAndPacket() {
        var writer = PcapngWriter(snapLength: 1514)
        let ip: [UInt8] = [0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1]
        let interface = CaptureInterface(netns: 1, index: 2, name: "eth0", container: "lb")
        let packet = Fixtures.packet(ip, direction: .ingress, header: Fixtures.header(pid: 0, comm: "", container: "lb"),
                                     unix: 0x0000_0001_0000_0002, interface: interface)
        let bytes = writer.encode(packet)
        let comment = Array("Container: lb\nNetns: 1".utf8) // 22 bytes, padded to 24
        let idb: [UInt8] = [1, 0, 0, 0, 68, 0, 0, 0, 12, 0, 0, 0, 0xea, 0x05, 0, 0]
            + [2, 0, 4, 0] + Array("eth0".utf8)
            + [1, 0, 22, 0] + comment + [0, 0]
            + [9, 0, 1, 0, 9, 0, 0, 0]
            + [0, 0, 0, 0, 68, 0, 0, 0]
        let epb: [UInt8] = [6, 0, 0, 0, 84, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 20, 0, 0, 0, 20, 0, 0, 0]
            + ip
            + [1, 0, 13, 0] + Array("Container: lb".utf8) + [0, 0, 0]
            + [2, 0, 4, 0, 1, 0, 0, 0] // epb_flags: inbound
            + [0, 0, 0, 0, 84, 0, 0, 0]
        #expect(bytes == idb + epb, "\(hex(bytes))")
        // The same interface again: no second description; another namespace: a new one.
        #expect(writer.encode(packet).count == epb.count)
        var other = interface
        other.netns = 9
        #expect(writer.encode(Fixtures.packet(ip, interface: other)).count > epb.count)
        #expect(writer.interfaceCount == 2)
    }

    @Test("the comment carries the process, the container, the request summary and the retransmit mark")
    func comment() {
        var packet = Fixtures.packet(Fixtures.tcpPacket(from: Fixtures.client, to: Fixtures.server))
        packet.requestStarted = RecordFixtures.record(duration: 14_849_999)
        packet.isRetransmit = true
        #expect(packet.comment == "PID: 42\nCmd: curl\nContainer: lb\nHTTP GET /metrics 200 14.8 ms hop collector→lb\nTCP retransmit")
    }
}
