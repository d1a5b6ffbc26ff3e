import Events

extension Redactor {
    /// Masks the credentials in the TCP payload of one IP packet (IPv4 or
    /// IPv6, from its IP header, possibly cut by a snap length), in place:
    /// same length, and the TCP checksum updated for the bytes changed
    /// (RFC 1624), so a checksum that was right stays right, and one the
    /// kernel had left for the NIC to fill (checksum offload) stays as it
    /// was relative to the data. Returns how many bytes it masked; 0 for a
    /// packet it cannot read (not TCP, a fragment, headers cut short or
    /// contradicting themselves: Events' `IPTCPHeaders` decides).
    @discardableResult
    public func redactPacket(_ packet: inout [UInt8]) -> Int {
        guard isEnabled else { return 0 }
        // The bytes after a snap length are unknown: the reader does not hold the packet to its IP length.
        let read = packet.withUnsafeBytes { try? IPTCPHeaders.read($0, cut: Int(UInt16.max)) }
        guard case .tcp(let headers)? = read else { return 0 }
        let tcp = headers.tcpOffset, payload = headers.payloadOffset
        guard payload < packet.count else { return 0 }
        let before = packet
        let masked = redact(&packet, in: payload..<packet.count)
        guard masked > 0 else { return 0 }
        // One's-complement sum over the 16-bit words that changed, offsets from the TCP header.
        var sum = UInt32(~(UInt16(packet[tcp + 16]) << 8 | UInt16(packet[tcp + 17])))
        var word = payload - (payload - tcp) % 2
        while word < packet.count {
            let old = UInt16(before[word]) << 8 | UInt16(word + 1 < before.count ? before[word + 1] : 0)
            let new = UInt16(packet[word]) << 8 | UInt16(word + 1 < packet.count ? packet[word + 1] : 0)
            if old != new { sum += UInt32(~old) + UInt32(new) }
            word += 2
        }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        let checksum = ~UInt16(sum)
        packet[tcp + 16] = UInt8(checksum >> 8)
        packet[tcp + 17] = UInt8(checksum & 0xff)
        return masked
    }
}
