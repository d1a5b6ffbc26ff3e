import CaptureFormats
import Packets
import Testing

@Suite("Reading JSON captures back")
struct TraceeJSONReaderTests {
    let packet: [UInt8] = [0x45, 0, 0, 60] + Array(repeating: 7, count: 36) // IPv4, total length 60, 40 captured

    func line(_ event: String, data: String, timestamp: String = "1795237923123456789") -> [UInt8] {
        Array(#"{"timestamp":\#(timestamp),"processName":"nginx","eventName":"\#(event)","args":[{"name":"data","type":"[]byte","value":"\#(data)"}]}"#.utf8)
    }

    @Test("a net_packet_raw event gives its packet, time, and the length on the wire from the IP header")
    func packetEvent() {
        let result = TraceeJSONReader.read(line("net_packet_raw", data: Base64.encode(packet)))
        #expect(result == .packet(CapturedPacket(timestamp: 1_795_237_923_123_456_789, linkType: .raw, bytes: packet,
                                                 originalLength: 60)))
    }

    @Test("base64 decodes what the writer encodes, for every length")
    func base64RoundTrip() {
        var rng = SystemRandomNumberGenerator()
        for n in 0..<70 {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect(Base64.decode(Array(Base64.encode(bytes).utf8)) == bytes)
        }
        #expect(Base64.decode(Array("a$b=".utf8)) == nil)
        #expect(Base64.decode(Array("QQ==QQ".utf8)) == nil)
    }

    @Test("other events are recognised and skipped; broken lines are malformed, never a crash")
    func otherAndMalformed() {
        #expect(TraceeJSONReader.read(line("net_flow_tcp_begin", data: "")) == .otherEvent)
        for bad in ["", "{", "[1,2]", #"{"eventName":1}"#, #"{"eventName":"net_packet_raw"}"#,
                    #"{"eventName":"net_packet_raw","timestamp":-1,"args":[]}"#,
                    String(decoding: line("net_packet_raw", data: "!!notbase64"), as: UTF8.self),
                    String(decoding: line("net_packet_raw", data: Base64.encode(packet), timestamp: "\"soon\""), as: UTF8.self)] {
            guard case .malformed = TraceeJSONReader.read(Array(bad.utf8)) else {
                Issue.record("accepted: \(bad)")
                continue
            }
        }
    }

    @Test("random and mutated lines never crash the reader")
    func fuzz() {
        var rng = SystemRandomNumberGenerator()
        let valid = line("net_packet_raw", data: Base64.encode(packet))
        for _ in 0..<3000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            _ = TraceeJSONReader.read(bytes)
            _ = TraceeJSONReader.read((0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
    }

    @Test("a file is taken for JSON by its first non-blank byte")
    func sniffing() {
        #expect(TraceeJSONReader.looksLikeJSON(Array("\n  {\"timestamp\":1}".utf8)))
        #expect(!TraceeJSONReader.looksLikeJSON([0x0a, 0x0d, 0x0d, 0x0a])) // pcapng's block type
        #expect(!TraceeJSONReader.looksLikeJSON([0xd4, 0xc3, 0xb2, 0xa1])) // pcap's magic
    }
}
