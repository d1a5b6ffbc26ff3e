import Events

/// A capture file's packets replayed as the probe's events: decodes each
/// packet to its TCP segment and reassembles the connections. Bad packets
/// (the file is someone else's bytes) are skipped and counted, never fatal.
/// Pure: whoever reads the file hands packets in, in file order.
public struct CaptureReplay: Sendable {
    public private(set) var reassembler: TCPReassembler
    public private(set) var counters = PacketCounters()
    /// Capture time of the first and the last packet, ns since the Unix epoch.
    public private(set) var firstTimestamp: UInt64?
    public private(set) var lastTimestamp: UInt64?

    public init(configuration: TCPReassembler.Configuration = TCPReassembler.Configuration()) {
        reassembler = TCPReassembler(configuration: configuration)
    }

    /// Takes the next packet of the file; returns the events it completes.
    public mutating func process(_ packet: CapturedPacket) -> [ProbeEvent] {
        var events: [ProbeEvent] = []
        process(packet, into: &events)
        return events
    }

    /// Takes the next packet of the file; appends the events it completes to
    /// `events` (which the caller empties and reuses: no array per packet).
    public mutating func process(_ packet: CapturedPacket, into events: inout [ProbeEvent]) {
        packet.bytes.withUnsafeBytes { bytes in
            process(timestamp: packet.timestamp, linkType: packet.linkType, bytes: bytes,
                    originalLength: packet.originalLength, into: &events)
        }
    }

    /// Takes the next packet where its reader holds it (libpcap's buffer),
    /// read only during the call: the packet is decoded in place, and only
    /// the payload bytes an event carries are copied out of it.
    /// `originalLength`: the packet's length on the wire (longer than
    /// `bytes` when the snap length cut it).
    public mutating func process(timestamp: UInt64, linkType: LinkType, bytes: UnsafeRawBufferPointer,
                                 originalLength: Int, into events: inout [ProbeEvent]) {
        counters.packets += 1
        if firstTimestamp == nil { firstTimestamp = timestamp }
        lastTimestamp = max(lastTimestamp ?? 0, timestamp)
        do {
            switch try PacketDecoder.decodeRaw(bytes, linkType: linkType, originalLength: originalLength,
                                               timestamp: timestamp) {
            case .tcp(let segment):
                counters.tcpSegments += 1
                reassembler.process(segment, into: &events)
            case .skipped(let reason):
                switch reason {
                case .unsupportedLinkType: counters.unsupportedLinkType += 1
                case .notIP, .notTCP: counters.notTCP += 1
                case .fragment: counters.fragments += 1
                }
            }
        } catch {
            counters.malformed += 1
            if counters.firstMalformed == nil { counters.firstMalformed = "packet \(counters.packets): \(error)" }
        }
    }

    /// The file ended: every connection still held is delivered and closed.
    public mutating func finish() -> [ProbeEvent] { reassembler.finish() }

    /// Seconds between the first and the last packet.
    public var duration: Double {
        guard let first = firstTimestamp, let last = lastTimestamp, last > first else { return 0 }
        return Double(last - first) / 1e9
    }
}

/// Packets by what became of them.
public struct PacketCounters: Sendable, Hashable {
    public var packets: UInt64 = 0
    public var tcpSegments: UInt64 = 0
    /// Not IP, or IP but not TCP.
    public var notTCP: UInt64 = 0
    public var fragments: UInt64 = 0
    public var unsupportedLinkType: UInt64 = 0
    /// Headers cut short or contradicting themselves: skipped.
    public var malformed: UInt64 = 0
    /// The first malformed packet and why, for the summary.
    public var firstMalformed: String?

    public init() {}
}
