import Analyzer
import Events
import Packets

/// Puts on each captured packet what the rest of the probe learnt about it,
/// which often arrives later than the packet: the owner of a socket first
/// seen in its handshake, the request a packet starts (a record completes
/// only with its response, or after the analyzer's merge window), the
/// retransmit the kernel reports after sending. So packets wait here for
/// `hold` nanoseconds before they are handed out, in arrival order. Pure:
/// events and records in, annotated packets out.
public struct PacketAnnotator: Sendable {
    /// How long a packet waits for what concerns it (CLOCK_MONOTONIC ns).
    public let hold: UInt64
    private var held: [Held] = []
    private var heldStart = 0
    private var newest: UInt64 = 0
    private var owners: [FlowKey: EventHeader] = [:]

    /// Packets marked as some request's first or some response's first, so no other exchange takes them.
    public private(set) var requestsMarked = 0
    public private(set) var retransmitsMarked = 0

    private struct Held: Sendable {
        var packet: AnnotatedPacket
        /// The TCP segment inside, nil for a packet that does not decode.
        var segment: TCPSegment?
    }

    private struct FlowKey: Hashable, Sendable {
        var netns: UInt32
        var tuple: SocketTuple
    }

    /// - Parameter hold: longer than the analyzer's merge window, so a record
    ///   seen from one end only still finds its packets.
    public init(hold: UInt64 = 12_000_000_000) {
        self.hold = hold
    }

    /// Takes a packet; returns the packets whose wait is over.
    public mutating func add(_ packet: AnnotatedPacket) -> [AnnotatedPacket] {
        let captured = CapturedPacket(timestamp: 0, linkType: .raw, bytes: packet.event.bytes,
                                      originalLength: Int(packet.event.length))
        var segment: TCPSegment?
        if case .tcp(let s)? = try? PacketDecoder.decode(captured) { segment = s }
        held.append(Held(packet: packet, segment: segment))
        newest = max(newest, packet.event.header.timestamp)
        return release(olderThan: newest > hold ? newest - hold : 0)
    }

    /// Learns a socket's owner from an event a process raised on it (data, open).
    public mutating func learnOwner(_ header: EventHeader) {
        guard header.pid != 0 else { return }
        owners[FlowKey(netns: header.netns, tuple: header.tuple)] = header
    }

    /// Marks the first packet of the record's request, and of its response.
    public mutating func add(_ record: RequestRecord) {
        guard let clientIP = record.client.ip.flatMap({ IPAddress($0) }), let clientPort = record.client.port,
              let serverIP = record.server.ip.flatMap({ IPAddress($0) }), let serverPort = record.server.port else { return }
        let client = Endpoint(address: clientIP, port: clientPort)
        let server = Endpoint(address: serverIP, port: serverPort)
        // The client's copy (egress) when the client was traced: the first one at or after the request began.
        let slack: Int64 = 1_000_000
        guard let request = pick(from: client, to: server, direction: .egress, { $0 >= record.start - slack }, earliest: true, response: false)
            ?? pick(from: client, to: server, direction: .ingress, { $0 <= record.start + slack }, earliest: false, response: false) else { return }
        held[request].packet.requestStarted = record
        requestsMarked += 1
        let after = held[request].packet.unixNanoseconds
        if let response = pick(from: server, to: client, direction: .egress, { $0 >= after }, earliest: true, response: true)
            ?? pick(from: server, to: client, direction: .ingress, { $0 >= after }, earliest: true, response: true) {
            held[response].packet.responseStarted = record
        }
    }

    /// Marks the segment the kernel sent again: its last copy sent before the report.
    public mutating func add(_ retransmit: RetransmitEvent) {
        let h = retransmit.header
        var found: Int?
        for i in heldStart..<held.count {
            let p = held[i].packet.event
            guard p.direction == .egress, p.header.netns == h.netns, p.header.tuple == h.tuple,
                  let s = held[i].segment, s.sequence == retransmit.sequence, s.payloadLength > 0 else { continue }
            if p.header.timestamp <= h.timestamp + 1_000_000 { found = i }
        }
        if let found, !held[found].packet.isRetransmit {
            held[found].packet.isRetransmit = true
            retransmitsMarked += 1
        }
    }

    /// Hands out every packet still waiting.
    public mutating func finish() -> [AnnotatedPacket] {
        release(olderThan: .max)
    }

    private func pick(from source: Endpoint, to destination: Endpoint, direction: Direction,
                      _ inWindow: (Int64) -> Bool, earliest: Bool, response: Bool) -> Int? {
        var found: Int?
        for i in heldStart..<held.count {
            let h = held[i]
            guard h.packet.event.direction == direction, let s = h.segment, s.payloadLength > 0,
                  s.source == source, s.destination == destination,
                  (response ? h.packet.responseStarted : h.packet.requestStarted) == nil,
                  inWindow(h.packet.unixNanoseconds) else { continue }
            found = i
            if earliest { break }
        }
        return found
    }

    private mutating func release(olderThan limit: UInt64) -> [AnnotatedPacket] {
        var out: [AnnotatedPacket] = []
        while heldStart < held.count, limit == .max || held[heldStart].packet.event.header.timestamp < limit {
            var packet = held[heldStart].packet
            let h = packet.event.header
            if h.pid == 0, let owner = owners[FlowKey(netns: h.netns, tuple: h.tuple)] {
                packet.event.header.pid = owner.pid
                packet.event.header.tid = owner.tid
                packet.event.header.comm = owner.comm
                packet.event.header.cgroupID = owner.cgroupID
                packet.event.header.connectionID = owner.connectionID
                if packet.event.header.container == nil { packet.event.header.container = owner.container }
            }
            out.append(packet)
            heldStart += 1
        }
        if heldStart > 4096 && heldStart * 2 > held.count {
            held.removeFirst(heldStart)
            heldStart = 0
        }
        return out
    }
}
