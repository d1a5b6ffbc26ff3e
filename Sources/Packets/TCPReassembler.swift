import Events

/// Turns TCP segments, in capture order, into the events the live probe
/// produces for the same traffic, so the same `Analyzer` reads a capture
/// file as it reads the kernel: `.data` per newly contiguous run of bytes
/// (timestamped with the packet that made it contiguous), `.connectionOpened`
/// on a handshake, `.stateChanged` on each FIN, `.reset` and
/// `.connectionClosed`, and a `.retransmit` per segment that carried bytes
/// already seen.
///
/// Every connection is told from its client's side (the probe's view of a
/// client socket): the client is the SYN's sender; for a connection already
/// open when the capture began, the end with the higher port, and the
/// analyzer confirms the roles from the first request it recognizes. Events
/// carry no process: pid 0, empty comm, no container, a connection id of
/// the reassembler's own.
///
/// Pure and bounded: per-direction buffering is capped, idle connections
/// are dropped by packet time, and at most `maxConnections` are held.
public struct TCPReassembler: Sendable {
    /// Bounds on what is held.
    public struct Configuration: Sendable {
        /// Out-of-order bytes one direction holds before it gives up on a hole.
        public var maxPendingBytes: Int
        /// A connection with no segment for this long (ns of capture time) is closed.
        public var idleTimeout: UInt64
        /// Connections held at most; beyond, the longest idle ones are closed.
        public var maxConnections: Int

        public init(maxPendingBytes: Int = 4 << 20, idleTimeout: UInt64 = 300_000_000_000, maxConnections: Int = 200_000) {
            self.maxPendingBytes = maxPendingBytes
            self.idleTimeout = idleTimeout
            self.maxConnections = max(1, maxConnections)
        }
    }

    /// A connection by its two ends, whichever sent the packet.
    struct FlowKey: Hashable, Sendable {
        var low: EndpointKey
        var high: EndpointKey

        init(_ a: EndpointKey, _ b: EndpointKey) {
            (low, high) = a < b ? (a, b) : (b, a)
        }

        /// Hashed once per segment: an IPv4 connection (the common case) as
        /// the two words that hold all of it, rather than each field on its
        /// own (half the hashing). Still every bit, so keys an attacker
        /// chooses collide no more than the keyed hash lets them.
        func hash(into hasher: inout Hasher) {
            if !low.isIPv6 && !high.isIPv6 {
                hasher.combine(low.low << 32 | high.low & 0xffff_ffff)
                hasher.combine(UInt64(low.port) << 16 | UInt64(high.port))
            } else {
                hasher.combine(low)
                hasher.combine(high)
            }
        }

        /// Where the table's recent places look for the connection: a few multiplications, not a keyed hash.
        var hint: Int {
            let ports = UInt64(low.port) << 16 | UInt64(high.port)
            let mixed = (low.low &+ ports &* 0x9e37_79b9_7f4a_7c15) &* 0xff51_afd7_ed55_8ccd
                ^ (high.low &+ low.high ^ high.high) &* 0xc4ce_b9fe_1a85_ec53
            return Int(truncatingIfNeeded: mixed >> 56)
        }
    }

    /// A connection held: who it is, and its two directions' reassembly.
    /// Its identity sits behind one reference, so moving a flow out of its
    /// slot and back, once per segment, moves three words.
    struct Flow: Sendable {
        /// What never changes while the connection is held.
        final class Identity: Sendable {
            let key: FlowKey
            let id: UInt64
            let client: EndpointKey
            /// `.client` when the handshake told who the client is; else the analyzer decides.
            let role: Role
            /// What every event of the connection says of it, its timestamp
            /// aside: no process, and the client's socket's view (`tuple`).
            let header: EventHeader

            init(key: FlowKey, id: UInt64, client: EndpointKey, tuple: SocketTuple, role: Role) {
                self.key = key
                self.id = id
                self.client = client
                self.role = role
                header = EventHeader(pid: 0, tid: 0, comm: "", netns: 0, cgroupID: 0, connectionID: id, timestamp: 0,
                                     tuple: tuple)
            }
        }

        let identity: Identity
        var streams: [StreamReassembler]
        var lastSeen: UInt64

        var key: FlowKey { identity.key }
        var id: UInt64 { identity.id }
        var client: EndpointKey { identity.client }
        var role: Role { identity.role }
        var isFinished: Bool { streams[0].isFinished && streams[1].isFinished }
    }

    public let configuration: Configuration
    public private(set) var counters = ReassemblyCounters()
    /// Connections live in slots, reused after a close, that their key finds
    /// (Events' `SlotTable`): a segment hashes its key once, and its
    /// connection is moved out of the slot and back, never copied. Recently
    /// seen connections are found by their key's cheap `hint` instead of the
    /// dictionary's keyed hash (nearly every segment, up to a few hundred busy
    /// connections); keys that collide there cost a dictionary lookup.
    private var flows = SlotTable<FlowKey, Flow, FlowKey>(recentPlaces: 256)
    private var nextConnectionID: UInt64 = 1
    private var lastSweep: UInt64 = 0
    /// One segment's stream outputs; kept between segments so its storage is reused.
    private var outputs: [StreamReassembler.Output] = []

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Connections held now.
    public var openConnections: Int { flows.count }

    /// Takes the next segment of the capture; returns the events it completes.
    public mutating func process(_ segment: TCPSegment) -> [ProbeEvent] {
        var events: [ProbeEvent] = []
        segment.payload.withUnsafeBytes { process(RawSegment(segment, payload: $0), into: &events) }
        return events
    }

    /// Takes the next segment of the capture; appends the events it completes to `events`.
    mutating func process(_ segment: RawSegment, into events: inout [ProbeEvent]) {
        counters.segments += 1
        sweep(now: segment.timestamp, into: &events)
        let key = FlowKey(segment.source, segment.destination)
        let isSYN = segment.flags.contains(.syn)
        var flow: Flow
        var slot: Int
        if let existingSlot = flows.slot(key, tag: key, hint: key.hint), let existing = flows.take(existingSlot) {
            flow = existing
            slot = existingSlot
            let repeatsHandshake = segment.source == existing.client
                && existing.streams[0].nextSequence == segment.sequence &+ 1
            if isSYN && !segment.flags.contains(.ack) && !repeatsHandshake {
                // A new handshake on the same addresses and ports: the old connection is over.
                release(key)
                close(existing, at: segment.timestamp, into: &events)
                flow = newFlow(segment, key, into: &events)
                slot = reserve(key)
            }
        } else {
            // A segment with nothing in it for a connection not held (its ACK, FIN, RST after the close): nothing to do.
            guard isSYN || segment.payloadLength > 0 else {
                counters.segmentsOutsideConnections += 1
                return
            }
            flow = newFlow(segment, key, into: &events)
            slot = reserve(key)
        }
        flow.lastSeen = segment.timestamp
        handle(segment, &flow, into: &events)
        if segment.flags.contains(.rst) || flow.isFinished {
            if segment.flags.contains(.rst) {
                counters.resets += 1
                let header = header(flow, segment.timestamp)
                events.append(.reset(ResetEvent(header: header, sent: segment.source == flow.client, state: .established)))
            }
            release(key)
            close(flow, at: segment.timestamp, into: &events)
        } else {
            flows.put(flow, in: slot)
        }
    }

    /// The capture ended: what every connection holds is delivered (holes as gaps) and each is closed.
    public mutating func finish() -> [ProbeEvent] {
        var events: [ProbeEvent] = []
        for flow in flows.values.sorted(by: { $0.id < $1.id }) {
            close(flow, at: flow.lastSeen, into: &events)
        }
        flows.removeAll()
        return events
    }

    // MARK: Connections

    /// A slot for a new connection named `key`, empty until the caller puts it there.
    private mutating func reserve(_ key: FlowKey) -> Int { flows.reserve(key, tag: (key, key.hint)) }

    /// Forgets the connection named `key` and frees its slot; returns what the slot held.
    @discardableResult
    private mutating func release(_ key: FlowKey) -> Flow? { flows.remove(key, tag: (key, key.hint)) }

    private mutating func newFlow(_ segment: RawSegment, _ key: FlowKey, into events: inout [ProbeEvent]) -> Flow {
        let client: EndpointKey, server: EndpointKey, role: Role
        if segment.flags.contains(.syn) {
            let fromClient = !segment.flags.contains(.ack)
            (client, server) = fromClient ? (segment.source, segment.destination) : (segment.destination, segment.source)
            role = .client
            counters.connectionsFromHandshake += 1
        } else {
            // Already open: servers listen on the lower port (ephemeral ports are high).
            let sourceIsClient = segment.source.port >= segment.destination.port
            (client, server) = sourceIsClient ? (segment.source, segment.destination) : (segment.destination, segment.source)
            role = .unknown
            counters.connectionsAlreadyOpen += 1
        }
        let stream = StreamReassembler(maxPendingBytes: configuration.maxPendingBytes)
        let identity = Flow.Identity(key: key, id: nextConnectionID, client: client,
                                     tuple: SocketTuple(local: client.endpoint, remote: server.endpoint), role: role)
        let flow = Flow(identity: identity, streams: [stream, stream], lastSeen: segment.timestamp)
        nextConnectionID += 1
        if role == .client {
            events.append(.connectionOpened(ConnectionEvent(header: header(flow, segment.timestamp), fd: -1, role: .client)))
        }
        if flows.count >= configuration.maxConnections { evictIdlest(into: &events) }
        return flow
    }

    /// The reused output buffer, empty; the caller gives it back emptied.
    private mutating func takeOutputs() -> [StreamReassembler.Output] {
        var taken: [StreamReassembler.Output] = []
        swap(&taken, &outputs)
        assert(taken.isEmpty, "outputs left from an earlier segment would go to this one's flow")
        return taken
    }

    private mutating func handle(_ segment: RawSegment, _ flow: inout Flow, into events: inout [ProbeEvent]) {
        let fromClient = segment.source == flow.client
        let sender = fromClient ? 0 : 1
        let timestamp = segment.timestamp
        var sequence = segment.sequence
        if segment.flags.contains(.syn) {
            if flow.streams[sender].synchronize(initialSequence: segment.sequence) {
                retransmitted(segment.sequence, flow, timestamp, into: &events)
            }
            sequence &+= 1
        }
        var outputs = takeOutputs()
        defer { self.outputs = outputs }
        if segment.flags.contains(.ack) {
            // Acknowledged holes in the other direction are given up before this segment's bytes.
            flow.streams[1 - sender].acknowledge(segment.acknowledgment, into: &outputs)
            append(&outputs, fromClient: !fromClient, flow, timestamp, into: &events)
        }
        let missing = segment.payloadLength - UInt32(segment.payload.count)
        let fin = segment.flags.contains(.fin), rst = segment.flags.contains(.rst)
        if !fin && !rst && flow.streams[sender].receiveInOrder(sequence: sequence, length: segment.payloadLength) {
            // The common case: the bytes follow on, straight from the packet into their event.
            if segment.payloadLength > 0 {
                counters.bytes += UInt64(segment.payloadLength)
                events.append(dataEvent(header(flow, timestamp), fromClient: fromClient, role: flow.role,
                                        length: UInt64(segment.payloadLength), payload: [UInt8](segment.payload)))
            }
            return
        }
        // The payload leaves the packet here, in one array: a `.data` event's payload shares it.
        let payload = segment.payload.isEmpty ? [] : [UInt8](segment.payload)[...]
        if flow.streams[sender].receive(sequence: sequence, bytes: payload, missing: missing, fin: fin,
                                        into: &outputs) {
            retransmitted(sequence, flow, timestamp, into: &events)
        }
        if rst {
            flow.streams[sender].flush(into: &outputs)
            append(&outputs, fromClient: fromClient, flow, timestamp, into: &events)
            flow.streams[1 - sender].flush(into: &outputs)
        }
        append(&outputs, fromClient: rst ? !fromClient : fromClient, flow, timestamp, into: &events)
    }

    private mutating func retransmitted(_ sequence: UInt32, _ flow: Flow, _ timestamp: UInt64,
                                        into events: inout [ProbeEvent]) {
        counters.retransmittedSegments += 1
        events.append(.retransmit(RetransmitEvent(header: header(flow, timestamp), segments: 1, sequence: sequence, state: .established, error: 0)))
    }

    /// Delivers what both directions hold and ends the connection.
    private mutating func close(_ flow: Flow, at timestamp: UInt64, into events: inout [ProbeEvent]) {
        var flow = flow
        for sender in 0..<2 {
            var outputs: [StreamReassembler.Output] = []
            flow.streams[sender].flush(into: &outputs)
            append(&outputs, fromClient: sender == 0, flow, timestamp, into: &events)
        }
        for stream in flow.streams {
            counters.gaps += stream.gaps
            counters.gapBytes += stream.gapBytes
        }
        counters.connectionsClosed += 1
        events.append(.connectionClosed(ConnectionEvent(header: header(flow, timestamp), fd: -1, role: flow.role)))
    }

    private func header(_ flow: Flow, _ timestamp: UInt64) -> EventHeader {
        var header = flow.identity.header
        header.timestamp = timestamp
        return header
    }

    /// The stream's output as the probe's events for the client's socket; `outputs` is left empty.
    private mutating func append(_ outputs: inout [StreamReassembler.Output], fromClient: Bool, _ flow: Flow,
                                 _ timestamp: UInt64, into events: inout [ProbeEvent]) {
        guard !outputs.isEmpty else { return } // most segments (bare ACKs) deliver nothing: no header to build
        let header = header(flow, timestamp)
        for output in outputs {
            switch output {
            case .bytes(let bytes, let missing):
                let length = UInt64(bytes.count) + UInt64(missing)
                counters.bytes += length
                events.append(dataEvent(header, fromClient: fromClient, role: flow.role, length: length,
                                        payload: Array(bytes)))
            case .gap(let size):
                events.append(dataEvent(header, fromClient: fromClient, role: flow.role, length: UInt64(size),
                                        payload: [], payloadUnavailable: true))
            case .end:
                // The client's socket sees its own FIN as FIN_WAIT1, the server's as CLOSE_WAIT.
                events.append(.stateChanged(StateChangeEvent(header: header, oldState: .established,
                                                             newState: fromClient ? .finWait1 : .closeWait)))
            }
        }
        outputs.removeAll(keepingCapacity: true)
    }

    /// `length` bytes of the stream as the client's socket moves them: written when the client sent them, else read.
    private func dataEvent(_ header: EventHeader, fromClient: Bool, role: Role, length: UInt64, payload: [UInt8],
                           payloadUnavailable: Bool = false) -> ProbeEvent {
        .data(DataEvent(header: header, enterTimestamp: header.timestamp, direction: fromClient ? .egress : .ingress,
                        syscall: fromClient ? .write : .read, fd: -1, role: role, length: length, payload: payload,
                        payloadUnavailable: payloadUnavailable))
    }

    // MARK: Bounds

    private mutating func sweep(now: UInt64, into events: inout [ProbeEvent]) {
        guard now >= lastSweep &+ 1_000_000_000 else { return }
        lastSweep = now
        guard now > configuration.idleTimeout else { return }
        let cutoff = now - configuration.idleTimeout
        let idle = flows.values.filter { $0.lastSeen < cutoff }.sorted { $0.id < $1.id }
        for flow in idle {
            release(flow.key)
            counters.connectionsIdleClosed += 1
            close(flow, at: now, into: &events)
        }
    }

    /// Closes the longest idle tenth of the connections, so that the next ones fit.
    private mutating func evictIdlest(into events: inout [ProbeEvent]) {
        let victims = flows.values.sorted { ($0.lastSeen, $0.id) < ($1.lastSeen, $1.id) }
            .prefix(max(1, flows.count / 10))
        for flow in victims {
            release(flow.key)
            counters.connectionsEvicted += 1
            close(flow, at: flow.lastSeen, into: &events)
        }
    }
}
