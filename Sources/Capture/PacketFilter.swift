import CLibPcap

/// A tcpdump/pcap-filter expression ("tcp port 8080 and host 10.0.0.1"),
/// compiled by libpcap for packets that start at the IP header (raw IP,
/// IPv4 and IPv6) and run in user space on each captured packet.
public final class PacketFilter {
    /// libpcap refused the expression; its message says why.
    public struct InvalidExpression: Error, CustomStringConvertible {
        public let expression: String
        public let message: String
        public var description: String { "invalid filter expression '\(expression)': \(message)" }
    }

    public let expression: String
    private let filter: OpaquePointer

    public init(expression: String) throws {
        self.expression = expression
        var error = [CChar](repeating: 0, count: 512)
        guard let compiled = pt_pcap_filter_compile(expression, &error, error.count) else {
            throw InvalidExpression(expression: expression,
                                    message: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        filter = compiled
    }

    deinit { pt_pcap_filter_free(filter) }

    /// Whether the packet (from its IP header; `length` on the wire) passes the filter.
    public func matches(_ bytes: [UInt8], length: Int) -> Bool {
        bytes.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return false }
            return pt_pcap_filter_matches(filter, base, UInt32(p.count), UInt32(max(length, p.count))) != 0
        }
    }
}
