/// An IPv4 or IPv6 address as the kernel stores it (network byte order).
///
/// Held inline (two words and a flag), not as an array: every event carries
/// two of them, and an array each would be two allocations per event.
public struct IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The address bytes, big-endian, left-aligned in 16 bytes: bytes 0-7
    /// in `high`, 8-15 in `low` (an IPv4 address uses the top 4 of `high`).
    private let high: UInt64
    private let low: UInt64
    public let isIPv4: Bool

    private init(high: UInt64, low: UInt64, isIPv4: Bool) {
        self.high = high
        self.low = low
        self.isIPv4 = isIPv4
    }

    /// Exactly 4 bytes.
    public init(ipv4 bytes: [UInt8]) {
        precondition(bytes.count == 4)
        self.init(high: IPAddress.bigEndian(bytes[...]) << 32, low: 0, isIPv4: true)
    }

    /// Exactly 16 bytes.
    public init(ipv6 bytes: [UInt8]) {
        precondition(bytes.count == 16)
        self.init(high: IPAddress.bigEndian(bytes[0..<8]), low: IPAddress.bigEndian(bytes[8..<16]), isIPv4: false)
    }

    /// The first 4 (IPv4) or 16 bytes of `raw`, as the kernel's structs hold them.
    init(raw: UnsafeRawBufferPointer, isIPv4: Bool) {
        if isIPv4 {
            self.init(high: UInt64(UInt32(bigEndian: raw.loadUnaligned(as: UInt32.self))) << 32, low: 0, isIPv4: true)
        } else {
            self.init(high: UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self)),
                      low: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)), isIPv4: false)
        }
    }

    /// An address from its text form ("10.0.0.1", "::1"), or nil if it is not one.
    public init?(_ text: Substring) {
        if let v4 = IPAddress.parseIPv4(text) {
            self.init(ipv4: v4)
        } else if let v6 = IPAddress.parseIPv6(text) {
            self.init(ipv6: v6)
        } else {
            return nil
        }
    }

    public init?(_ text: String) { self.init(Substring(text)) }

    /// 4 bytes for IPv4, 16 for IPv6.
    public var bytes: [UInt8] {
        let count = isIPv4 ? 4 : 16
        return (0..<count).map { i in UInt8(truncatingIfNeeded: (i < 8 ? high : low) >> (56 - 8 * UInt64(i % 8))) }
    }

    /// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address it carries.
    public var unmapped: IPAddress {
        if !isIPv4, high == 0, low >> 32 == 0xffff {
            return IPAddress(high: low << 32, low: 0, isIPv4: true)
        }
        return self
    }

    /// The order of the bytes, as `bytes.lexicographicallyPrecedes` would give it.
    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        (a.high, a.low, a.isIPv4 ? 0 : 1) < (b.high, b.low, b.isIPv4 ? 0 : 1)
    }

    /// The 4 bytes of an IPv4 address as one number (first byte highest).
    var ipv4Value: UInt32 { UInt32(truncatingIfNeeded: high >> 32) }

    public var description: String {
        if isIPv4 {
            let b = ipv4Value
            return "\(b >> 24).\(b >> 16 & 0xff).\(b >> 8 & 0xff).\(b & 0xff)"
        }
        return IPAddress.formatIPv6(bytes)
    }

    private static func bigEndian(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    private static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, let v = UInt8(part) else { return nil }
            out.append(v)
        }
        return out
    }

    private static func parseIPv6(_ text: Substring) -> [UInt8]? {
        let halves = text.split(separator: "::", maxSplits: 1, omittingEmptySubsequences: false)
        guard halves.count <= 2 else { return nil }
        func groups(_ s: Substring) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            for g in s.split(separator: ":", omittingEmptySubsequences: false) {
                guard !g.isEmpty, g.count <= 4, let v = UInt16(g, radix: 16) else { return nil }
                out.append(v)
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return nil }
            all += Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    }

    private static func formatIPv6(_ b: [UInt8]) -> String {
        let groups = (0..<8).map { UInt16(b[2 * $0]) << 8 | UInt16(b[2 * $0 + 1]) }
        // RFC 5952: compress the longest run (length >= 2) of zero groups.
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
                i = j
            } else {
                i += 1
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        if bestStart < 0 { return hex.joined(separator: ":") }
        let head = hex[0..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLen)...].joined(separator: ":")
        return head + "::" + tail
    }
}
