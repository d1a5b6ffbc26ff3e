/// The link-layer header a capture file's packets start with, as tcpdump.org's
/// LINKTYPE_ numbers name them. Only the ones a TCP capture of a Linux host
/// comes in are decoded; the rest are skipped and counted.
public enum LinkType: Sendable, Hashable {
    /// BSD loopback: a 4-byte address family in the capturing host's byte order.
    case null
    case ethernet
    /// The packet starts with its IP header (version in the first nibble).
    case raw
    /// `tcpdump -i any` before libpcap 1.10: 16-byte "cooked" header.
    case linuxSLL
    /// `tcpdump -i any` since libpcap 1.10: 20-byte cooked header with the interface index.
    case linuxSLL2
    case ipv4
    case ipv6
    case unsupported(Int32)

    /// The type for a LINKTYPE_/DLT_ number (DLT_RAW is 12 or 14 depending on the platform).
    public init(_ number: Int32) {
        switch number {
        case 0: self = .null
        case 1: self = .ethernet
        case 12, 14, 101: self = .raw
        case 113: self = .linuxSLL
        case 276: self = .linuxSLL2
        case 228: self = .ipv4
        case 229: self = .ipv6
        default: self = .unsupported(number)
        }
    }

    public var isSupported: Bool {
        if case .unsupported = self { return false }
        return true
    }
}
