/// Writes pcapng (draft-ietf-opsawg-pcapng) as Wireshark and tshark read it
/// with no plugin: a Section Header Block, an Interface Description Block per
/// (namespace, device) the first time one of its packets comes by, and an
/// Enhanced Packet Block per packet with its direction flag and comment.
/// Packets start at the IP header; timestamps in nanoseconds. Little-endian,
/// as the blocks' byte-order magic says.
public struct PcapngWriter: CaptureFormat {
    /// Raw IP (the packet begins with an IPv4 or IPv6 header) under the
    /// number Linux gives DLT_RAW, 12, not LINKTYPE_RAW (101): libpcap up to
    /// 1.10.4 (Debian 12 has 1.10.3) refuses a pcapng whose second 101
    /// interface "differs" from the first, comparing it with the first one's
    /// DLT (12), so `pipetrace analyze` and tcpdump could not read a capture
    /// of several interfaces. Wireshark and libpcap both read 12 as raw IP.
    public static let linkTypeRaw: UInt16 = 12

    public let application: String
    public let snapLength: UInt32
    private var interfaceIDs: [InterfaceKey: UInt32] = [:]

    private struct InterfaceKey: Hashable {
        var netns: UInt32
        var index: UInt32
    }

    /// - Parameter snapLength: what the interfaces declare as their snap length.
    public init(application: String = "pipetrace", snapLength: UInt32 = 65535) {
        self.application = application
        self.snapLength = snapLength
    }

    /// Interfaces described so far.
    public var interfaceCount: Int { interfaceIDs.count }

    public mutating func begin() -> [UInt8] {
        var body = Bytes()
        body.u32(0x1A2B_3C4D) // byte-order magic
        body.u16(1)           // major version
        body.u16(0)           // minor version
        body.u64(UInt64.max)  // section length: not given
        body.option(4, Array(application.utf8)) // shb_userappl
        body.endOfOptions()
        return PcapngWriter.block(type: 0x0A0D_0D0A, body: body.bytes)
    }

    public mutating func encode(_ packet: AnnotatedPacket) -> [UInt8] {
        var out: [UInt8] = []
        let key = InterfaceKey(netns: packet.interface.netns, index: packet.interface.index)
        let id: UInt32
        if let known = interfaceIDs[key] {
            id = known
        } else {
            id = UInt32(interfaceIDs.count)
            interfaceIDs[key] = id
            out += interfaceBlock(packet.interface)
        }
        var body = Bytes()
        let ns = UInt64(max(0, packet.unixNanoseconds))
        body.u32(id)
        body.u32(UInt32(truncatingIfNeeded: ns >> 32))
        body.u32(UInt32(truncatingIfNeeded: ns))
        body.u32(UInt32(packet.event.bytes.count))
        body.u32(max(packet.event.length, UInt32(packet.event.bytes.count)))
        body.append(packet.event.bytes)
        body.pad()
        body.option(1, Array(packet.comment.utf8)) // opt_comment
        // epb_flags: bits 0-1 are the direction, 01 inbound, 10 outbound.
        var flags = Bytes()
        flags.u32(packet.event.direction == .ingress ? 1 : 2)
        body.option(2, flags.bytes)
        body.endOfOptions()
        out += PcapngWriter.block(type: 6, body: body.bytes)
        return out
    }

    /// pcapng has no place for records of their own: they are in the packets' comments.
    public func encode(_ note: CaptureNote) -> [UInt8] { [] }

    private func interfaceBlock(_ interface: CaptureInterface) -> [UInt8] {
        var body = Bytes()
        body.u16(PcapngWriter.linkTypeRaw)
        body.u16(0) // reserved
        body.u32(snapLength)
        body.option(2, Array(interface.name.utf8))    // if_name
        body.option(1, Array(interface.comment.utf8)) // opt_comment
        body.option(9, [9])                           // if_tsresol: 10^-9 s
        body.endOfOptions()
        return PcapngWriter.block(type: 1, body: body.bytes)
    }

    /// type, total length, body, total length again.
    private static func block(type: UInt32, body: [UInt8]) -> [UInt8] {
        var b = Bytes()
        let total = UInt32(12 + body.count)
        b.u32(type)
        b.u32(total)
        b.append(body)
        b.u32(total)
        return b.bytes
    }
}

/// Little-endian building of pcapng block bodies.
struct Bytes {
    var bytes: [UInt8] = []

    mutating func u16(_ v: UInt16) { bytes += [UInt8(v & 0xff), UInt8(v >> 8)] }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func append(_ b: [UInt8]) { bytes += b }

    /// Zeros up to the next multiple of 4.
    mutating func pad() {
        while bytes.count % 4 != 0 { bytes.append(0) }
    }

    /// An option: code, length, value padded to 4 bytes.
    mutating func option(_ code: UInt16, _ value: [UInt8]) {
        u16(code)
        u16(UInt16(min(value.count, Int(UInt16.max))))
        bytes += value.prefix(Int(UInt16.max))
        pad()
    }

    mutating func endOfOptions() { u32(0) }
}
