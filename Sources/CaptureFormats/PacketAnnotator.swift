import Analyzer
import Events
import Packets

/// Puts on each captured packet what the rest of the probe learnt about it,
/// which often arrives later than the packet: the owner of a socket first
/// seen in its handshake, the request a packet starts (a record completes
/// only with its response, or after the analyzer's merge window), the
/// retransmit the kernel reports after sending, the receiver on this host of
/// a packet captured leaving its sender (its delivery). So packets wait here
/// for `hold` nanoseconds before they are handed out, in arrival order: long
/// enough for owners, deliveries and retransmits (micro- to milliseconds
/// later) and for the record of a short request, short enough that a capture
/// killed loses less than a second. A record that comes after its request's
/// first packet has gone goes on the packet that completed its response,
/// still held then (the record follows it by the analyzer's merge window at
/// most, shorter than `hold`). Pure: events, records and times in, annotated
/// packets out.
public struct PacketAnnotator: Sendable {
    /// How long a packet waits for what concerns it (CLOCK_MONOTONIC ns).
    public let hold: UInt64
    private var held: [Held] = []
    private var heldStart = 0
    private var newest: UInt64 = 0
    /// The latest wall-clock time of a packet handed out: a request that began before it may have lost its first packet.
    private var releasedUntil: Int64 = .min
    private var owners: [FlowKey: EventHeader] = [:]
    /// Packets removed from the front of `held`: held[i] is packet number `removed + i`.
    private var removed = 0
    /// Packets held that left a socket of this host and whose delivery has
    /// not come, by fingerprint: their numbers, oldest first.
    private var leaving: [Fingerprint: [Int]] = [:]
    /// The same packets, those with data, by acknowledgment number: where a piece finds its whole.
    private var leavingByAck: [UInt32: [Int]] = [:]

    /// Packets marked as some request's first or some response's first, so no other exchange takes them.
    public private(set) var requestsMarked = 0
    /// Requests whose summary went on the packet that completed the response (the first had gone).
    public private(set) var requestsMarkedAtEnd = 0
    /// Requests none of whose packets was still held: their summary is in the JSON lines only.
    public private(set) var requestsUnmarked = 0
    public private(set) var retransmitsMarked = 0
    /// Packets that name their receiver on this host.
    public private(set) var receiversNamed = 0
    /// Deliveries whose packet was not held: let go by the expression, lost, or already handed out.
    public private(set) var deliveriesUnmatched = 0
    /// Packets seen entering that are pieces of one captured leaving (the path cut it after the
    /// egress hook, as loopback does with a GSO packet beyond 64 KiB): not written again.
    public private(set) var piecesDropped = 0

    private struct Held: Sendable {
        var packet: AnnotatedPacket
        /// The TCP segment inside, nil for a packet that does not decode.
        var segment: TCPSegment?
        /// Set for a packet that left a socket of this host.
        var fingerprint: Fingerprint?
    }

    /// What one packet has on both sides of a veth, bridge or loopback, as
    /// packets.bpf.c keys it: not its addresses or ports (NAT may change
    /// them, namespaces may share them) but its sequence and acknowledgment
    /// numbers, IPv4 id, flags, window and length.
    struct Fingerprint: Hashable, Sendable {
        var sequence: UInt32
        var acknowledgment: UInt32
        var length: UInt32
        var ipID: UInt16
        var window: UInt16
        var flags: UInt8
        /// TCP payload bytes (of the whole packet, not only those captured).
        var payload: UInt32

        init?(_ packet: PacketEvent) {
            let b = packet.bytes
            let read = b.withUnsafeBytes { try? IPTCPHeaders.read($0, cut: max(0, Int(packet.length) - $0.count)) }
            guard case .tcp(let headers)? = read, Int(packet.length) >= headers.payloadOffset else { return nil }
            let ip = headers.tcpOffset
            func u16(_ i: Int) -> UInt16 { UInt16(b[i]) << 8 | UInt16(b[i + 1]) }
            func u32(_ i: Int) -> UInt32 { UInt32(u16(i)) << 16 | UInt32(u16(i + 2)) }
            ipID = headers.isIPv6 ? 0 : u16(4)
            sequence = u32(ip + 4)
            acknowledgment = u32(ip + 8)
            flags = b[ip + 13]
            window = u16(ip + 14)
            length = packet.length
            payload = packet.length - UInt32(headers.payloadOffset)
        }

        /// This packet's data lies within `whole`'s, sent with the same acknowledgment.
        func isPiece(of whole: Fingerprint) -> Bool {
            let offset = sequence &- whole.sequence
            return acknowledgment == whole.acknowledgment && payload > 0 && offset < whole.payload
                && UInt64(offset) + UInt64(payload) <= UInt64(whole.payload)
        }
    }

    private struct FlowKey: Hashable, Sendable {
        var netns: UInt32
        var tuple: SocketTuple
    }

    /// - Parameter hold: longer than the analyzer's merge window (and its
    ///   sweep), so a record seen from one end only still finds the packet
    ///   that completed it.
    public init(hold: UInt64 = 700_000_000) {
        self.hold = hold
    }

    /// Takes a packet; returns the packets whose wait is over.
    public mutating func add(_ packet: AnnotatedPacket) -> [AnnotatedPacket] {
        let captured = CapturedPacket(timestamp: 0, linkType: .raw, bytes: packet.event.bytes,
                                      originalLength: Int(packet.event.length))
        var segment: TCPSegment?
        if case .tcp(let s)? = try? PacketDecoder.decode(captured) { segment = s }
        if packet.event.direction == .ingress, let piece = Fingerprint(packet.event), piece.payload > 0,
           let whole = leavingByAck[piece.acknowledgment]?.first(where: { piece.isPiece(of: held[$0 - removed].fingerprint!) }) {
            if held[whole - removed].packet.receiver == nil {
                held[whole - removed].packet.receiver = packet.event.header
                receiversNamed += 1
            }
            piecesDropped += 1
            return []
        }
        let fingerprint = packet.event.direction == .egress ? Fingerprint(packet.event) : nil
        if let fingerprint {
            leaving[fingerprint, default: []].append(removed + held.count)
            if fingerprint.payload > 0 { leavingByAck[fingerprint.acknowledgment, default: []].append(removed + held.count) }
        }
        held.append(Held(packet: packet, segment: segment, fingerprint: fingerprint))
        newest = max(newest, packet.event.header.timestamp)
        return release(olderThan: newest > hold ? newest - hold : 0)
    }

    /// Joins a delivery (the receiving end of a packet captured leaving its
    /// sender on this host) to that packet, which then names its receiver:
    /// the oldest held copy with the same fingerprint not yet joined.
    public mutating func join(_ delivery: PacketEvent) {
        guard let fingerprint = Fingerprint(delivery), var numbers = leaving[fingerprint], !numbers.isEmpty else {
            deliveriesUnmatched += 1
            return
        }
        let number = numbers.removeFirst()
        leaving[fingerprint] = numbers.isEmpty ? nil : numbers
        held[number - removed].packet.receiver = delivery.header
        receiversNamed += 1
    }

    /// Learns a socket's owner from an event a process raised on it (data, open).
    public mutating func learnOwner(_ header: EventHeader) {
        guard header.pid != 0 else { return }
        owners[FlowKey(netns: header.netns, tuple: header.tuple)] = header
    }

    /// Marks the first packet of the record's request, and of its response;
    /// when the request's first has gone, the last held packet of the response
    /// (the one that completed it) carries the summary instead.
    public mutating func add(_ record: RequestRecord) {
        guard let clientIP = record.client.ip.flatMap({ IPAddress($0) }), let clientPort = record.client.port,
              let serverIP = record.server.ip.flatMap({ IPAddress($0) }), let serverPort = record.server.port else { return }
        let client = Endpoint(address: clientIP, port: clientPort)
        let server = Endpoint(address: serverIP, port: serverPort)
        // The client's copy (egress) when the client was traced: the first one at or after the request began,
        // else within the slack before it. On a multiplexed connection (HTTP/2) other streams' and control
        // frames' packets lie within the slack: the slack is a fallback, not the window.
        let slack: Int64 = 1_000_000
        guard record.start - slack > releasedUntil,
              let request = pick(from: client, to: server, direction: .egress, { $0 >= record.start }, earliest: true, response: false)
            ?? pick(from: client, to: server, direction: .egress, { $0 >= record.start - slack }, earliest: true, response: false)
            ?? pick(from: client, to: server, direction: .ingress, { $0 <= record.start + slack }, earliest: false, response: false) else {
            markEnd(of: record, from: server, to: client)
            return
        }
        held[request].packet.requestStarted = record
        requestsMarked += 1
        let after = held[request].packet.unixNanoseconds
        if let response = pick(from: server, to: client, direction: .egress, { $0 >= after }, earliest: true, response: true)
            ?? pick(from: server, to: client, direction: .ingress, { $0 >= after }, earliest: true, response: true) {
            held[response].packet.responseStarted = record
        }
    }

    /// The newest held data packet of the response (either copy) between the
    /// record's start and end, not yet some other exchange's end.
    private mutating func markEnd(of record: RequestRecord, from server: Endpoint, to client: Endpoint) {
        let slack: Int64 = 1_000_000
        let start = record.start - slack, end = record.start + Int64(clamping: record.duration) + slack
        for i in stride(from: held.count - 1, through: heldStart, by: -1) {
            let h = held[i]
            guard let s = h.segment, s.payloadLength > 0, s.source == server, s.destination == client,
                  h.packet.requestCompleted == nil, (start...end).contains(h.packet.unixNanoseconds) else { continue }
            held[i].packet.requestCompleted = record
            requestsMarkedAtEnd += 1
            return
        }
        requestsUnmarked += 1
    }

    /// Marks the segment the kernel sent again: its last copy sent before the report.
    /// A failed attempt (the first copy still queued on this host, say) sent nothing to mark.
    public mutating func add(_ retransmit: RetransmitEvent) {
        guard retransmit.error == 0 else { return }
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

    /// Hands out the packets that have waited `hold` by `now` (CLOCK_MONOTONIC
    /// ns): called as time passes, so packets leave when no new one comes.
    public mutating func release(at now: UInt64) -> [AnnotatedPacket] {
        release(olderThan: now > hold ? now - hold : 0)
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
            if let fingerprint = held[heldStart].fingerprint {
                let number = removed + heldStart
                if var numbers = leaving[fingerprint] {
                    numbers.removeAll { $0 == number }
                    leaving[fingerprint] = numbers.isEmpty ? nil : numbers
                }
                if var numbers = leavingByAck[fingerprint.acknowledgment] {
                    numbers.removeAll { $0 == number }
                    leavingByAck[fingerprint.acknowledgment] = numbers.isEmpty ? nil : numbers
                }
            }
            releasedUntil = max(releasedUntil, packet.unixNanoseconds)
            resolveOwner(&packet.event.header)
            if packet.receiver != nil { resolveOwner(&packet.receiver!) }
            out.append(packet)
            heldStart += 1
        }
        if heldStart > 4096 && heldStart * 2 > held.count {
            held.removeFirst(heldStart)
            removed += heldStart
            heldStart = 0
        }
        return out
    }

    /// Names the process of a packet seen before its socket was in the connection table.
    private func resolveOwner(_ h: inout EventHeader) {
        guard h.pid == 0, let owner = owners[FlowKey(netns: h.netns, tuple: h.tuple)] else { return }
        h.pid = owner.pid
        h.tid = owner.tid
        h.comm = owner.comm
        h.cgroupID = owner.cgroupID
        h.connectionID = owner.connectionID
        if h.container == nil {
            h.container = owner.container
            h.containerID = owner.containerID
        }
    }
}

