import TestSupport
import Events
import Packets

/// Hand-made frames for tests: Ethernet, Linux cooked (v1/v2) or raw IP
/// around an IPv4 or IPv6 packet around a TCP segment, with correct lengths
/// (checksums zero: the decoder does not check them).
struct PacketBuilder {
    var source: Endpoint
    var destination: Endpoint

    static let client = Endpoint(address: IPAddress("10.0.0.1")!, port: 40000)
    static let server = Endpoint(address: IPAddress("10.0.0.2")!, port: 8080)

    init(from source: Endpoint = client, to destination: Endpoint = server) {
        self.source = source
        self.destination = destination
    }

    var reversed: PacketBuilder { PacketBuilder(from: destination, to: source) }

    func tcp(sequence: UInt32, acknowledgment: UInt32 = 0, flags: TCPFlags, payload: [UInt8] = []) -> [UInt8] {
        var b: [UInt8] = []
        b += be16(source.port) + be16(destination.port) + be32(sequence) + be32(acknowledgment)
        b += [5 << 4, flags.rawValue] + be16(65535) + [0, 0, 0, 0]
        return b + payload
    }

    func ip(_ tcp: [UInt8]) -> [UInt8] {
        if source.address.isIPv4 {
            var h: [UInt8] = [0x45, 0] + be16(UInt16(20 + tcp.count)) + [0, 1, 0x40, 0, 64, 6, 0, 0]
            h += source.address.bytes + destination.address.bytes
            return h + tcp
        }
        var h: [UInt8] = [0x60, 0, 0, 0] + be16(UInt16(tcp.count)) + [6, 64]
        h += source.address.bytes + destination.address.bytes
        return h + tcp
    }

    func ethernet(_ ip: [UInt8]) -> [UInt8] {
        [UInt8](repeating: 0x02, count: 6) + [UInt8](repeating: 0x04, count: 6)
            + be16(source.address.isIPv4 ? 0x0800 : 0x86dd) + ip
    }

    /// A whole Ethernet frame carrying one TCP segment.
    func frame(sequence: UInt32, acknowledgment: UInt32 = 0, flags: TCPFlags = [.ack], payload: String = "") -> [UInt8] {
        ethernet(ip(tcp(sequence: sequence, acknowledgment: acknowledgment, flags: flags, payload: Array(payload.utf8))))
    }

    /// The same frame as a packet captured at `time` ns.
    func packet(at time: UInt64, sequence: UInt32, acknowledgment: UInt32 = 0, flags: TCPFlags = [.ack],
                payload: String = "") -> CapturedPacket {
        CapturedPacket(timestamp: time, linkType: .ethernet,
                       bytes: frame(sequence: sequence, acknowledgment: acknowledgment, flags: flags, payload: payload))
    }

    /// A decoded segment, for the reassembler alone.
    func segment(at time: UInt64, sequence: UInt32, acknowledgment: UInt32 = 0, flags: TCPFlags = [.ack],
                 payload: String = "") -> TCPSegment {
        TCPSegment(timestamp: time, source: source, destination: destination, sequence: sequence,
                   acknowledgment: acknowledgment, flags: flags, payload: Array(payload.utf8)[...])
    }
}

func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)] }

/// A classic pcap file (microsecond timestamps, little-endian) holding `frames`, for the CLI tests.
func pcapFile(linkType: UInt32 = 1, _ frames: [(time: UInt64, bytes: [UInt8])]) -> [UInt8] {
    var file: [UInt8] = le32(0xa1b2c3d4) + le16(2) + le16(4) + le32(0) + le32(0) + le32(262_144) + le32(linkType)
    for (time, bytes) in frames {
        file += le32(UInt32(time / 1_000_000_000)) + le32(UInt32(time % 1_000_000_000 / 1000))
        file += le32(UInt32(bytes.count)) + le32(UInt32(bytes.count)) + bytes
    }
    return file
}
extension StreamReassembler.Output {
    /// The bytes delivered, with each missing or gap byte as "_".
    static func text(_ outputs: [StreamReassembler.Output]) -> String {
        var s = ""
        for o in outputs {
            switch o {
            case .bytes(let b, let missing): s += String(decoding: b, as: UTF8.self) + String(repeating: "_", count: Int(missing))
            case .gap(let n): s += String(repeating: "_", count: Int(n))
            case .end: s += "|"
            }
        }
        return s
    }
}
