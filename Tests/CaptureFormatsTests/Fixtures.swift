import CaptureFormats
import Events

/// Small packets and headers with known bytes, for exact expectations.
enum Fixtures {
    static let client = Endpoint(address: IPAddress("10.0.0.2")!, port: 40000)
    static let server = Endpoint(address: IPAddress("10.0.0.1")!, port: 8080)

    static func header(pid: UInt32 = 42, comm: String = "curl", container: String? = "lb",
                       timestamp: UInt64 = 1_000, local: Endpoint = client, remote: Endpoint = server) -> EventHeader {
        EventHeader(pid: pid, tid: pid, comm: comm, netns: 4_026_531_840, cgroupID: 7, connectionID: 3,
                    timestamp: timestamp, tuple: SocketTuple(local: local, remote: remote), container: container)
    }

    /// An IPv4 + TCP packet from `source` to `destination` with `payload`.
    static func tcpPacket(from source: Endpoint, to destination: Endpoint, sequence: UInt32 = 1000,
                          flags: UInt8 = 0x18, payload: [UInt8] = []) -> [UInt8] {
        let total = 40 + payload.count
        var b: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0, 1, 0x40, 0, 64, 6, 0, 0]
        b += source.address.bytes + destination.address.bytes
        b += [UInt8(source.port >> 8), UInt8(source.port & 0xff), UInt8(destination.port >> 8), UInt8(destination.port & 0xff)]
        b += [UInt8(sequence >> 24), UInt8(sequence >> 16 & 0xff), UInt8(sequence >> 8 & 0xff), UInt8(sequence & 0xff)]
        b += [0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]
        return b + payload
    }

    static func packet(_ bytes: [UInt8], direction: Direction = .egress, header: EventHeader = header(),
                       unix: Int64 = 1_700_000_000_123_456_789, interface: CaptureInterface = lbEth0) -> AnnotatedPacket {
        AnnotatedPacket(event: PacketEvent(header: header, direction: direction, interfaceIndex: interface.index,
                                           length: UInt32(bytes.count), bytes: bytes),
                        unixNanoseconds: unix, interface: interface)
    }

    static let lbEth0 = CaptureInterface(netns: 4_026_531_840, index: 2, name: "eth0", container: "lb")
}

/// Hex of bytes, for failure messages a person can compare.
func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: " ")
}
