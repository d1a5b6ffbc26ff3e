import Events

/// Turns the probe's events, in order of arrival, into request records.
///
/// A pure value: no I/O, no clock (time is the events' own), no globals, so
/// a test is events in, records out. Per connection it reassembles each
/// direction's bytes, recognizes the protocol from the first ones, lets that
/// protocol's parser find message boundaries, and times them with the
/// syscalls that moved them. It then joins the two ends of a connection when
/// both are traced, links requests a server makes while serving another to
/// that one, and attributes retransmits to the requests in flight.
///
/// Memory follows open connections: a connection's state is dropped when it
/// closes or goes idle, with its unfinished exchanges emitted as they are.
public struct Analyzer: Sendable {
    public let configuration: AnalyzerConfiguration
    /// What was done and what was given up, for reporting.
    public private(set) var counters = AnalyzerCounters()

    private var connections = ConnectionTable()
    /// Connections by namespace and tuple, for events without the probe's id.
    private var byTuple: [NetnsTuple: ConnectionKey] = [:]
    /// Open connections by normalized tuple, to tell whether the other end is traced.
    private var openTuples: [PrehashedKey<SocketTuple>: Int] = [:]
    /// Server-side exchanges in flight, by the serving process: the candidate parents.
    private var serving: [UInt32: [ExchangeReference]] = [:]
    private var merger: BothEndsMerger
    private var nextRecordID: UInt64 = 1
    private var nextSequence: UInt64 = 0
    /// The latest event time seen: the analyzer's only notion of now.
    private var now: UInt64 = 0
    private var lastSweep: UInt64 = 0
    /// The parser's findings for one segment; kept between segments so its storage is reused.
    private var parserEvents: [ParserEvent] = []
    /// The most first bytes a registered parser needs to recognize its protocol.
    private let detectionBytes: Int

    public init(configuration: AnalyzerConfiguration = AnalyzerConfiguration()) {
        self.configuration = configuration
        merger = BothEndsMerger(maxHeldPerPair: configuration.maxHeldViewsPerPair)
        detectionBytes = configuration.protocols.detectionBytes
    }

    /// Connections with state held.
    public var openConnections: Int { connections.count }

    /// Takes the next event; returns the records it completed.
    public mutating func process(_ event: ProbeEvent) -> [RequestRecord] {
        var out: [RequestRecord] = []
        process(event, into: &out)
        return out
    }

    /// Takes the next event; appends the records it completed to `out`. A
    /// loop that empties and reuses `out` makes no array per record.
    public mutating func process(_ event: ProbeEvent, into out: inout [RequestRecord]) {
        counters.events += 1
        evictIfFull(into: &out)
        // Each case reads the header from its own event: `event.header` would copy
        // a data event's header out, and the header is most of its size.
        switch event {
        case .data(let data):
            advance(to: data.header.timestamp)
            handle(data, into: &out)
        case .connectionOpened(let open):
            advance(to: open.header.timestamp)
            let (slot, entry) = takeOrCreate(open.header)
            if open.role != .unknown { entry.state.role = open.role }
            // Opened in front of the probe: its first bytes are the protocol's first.
            if entry.state.parsing == .detecting && entry.state.undetected.allSatisfy(\.isEmpty) { entry.state.seenFromStart = true }
            entry.state.lastSeen = now
            connections.put(entry, in: slot)
        case .connectionClosed(let closed):
            advance(to: closed.header.timestamp)
            if let key = findKey(closed.header) { close(key, into: &out) }
        case .stateChanged(let change):
            advance(to: change.header.timestamp)
            if let key = findKey(change.header) {
                if change.newState == .close {
                    close(key, into: &out)
                } else if change.newState == .closeWait, let slot = connections.slot(key),
                          let entry = connections.take(slot) {
                    // The peer sent FIN: it will send nothing more.
                    if let sender = entry.state.sender(.ingress) { finish(sender, &entry.state, into: &out) }
                    connections.put(entry, in: slot)
                }
            }
        case .retransmit(let retransmit):
            advance(to: retransmit.header.timestamp)
            attribute(retransmit)
        case .reset(let reset):
            advance(to: reset.header.timestamp)
            counters.resets += 1
        case .packet(let packet):
            advance(to: packet.header.timestamp) // packets are for capture files; the analyzer reads the data events
        }
        sweepIfDue(into: &out)
    }

    /// Moves the analyzer's clock to `timestamp` (CLOCK_MONOTONIC ns) with no
    /// event, for a caller that must not wait for the next one (a capture
    /// written as it goes): views past the merge window are emitted as an
    /// event at that time would emit them.
    public mutating func tick(at timestamp: UInt64) -> [RequestRecord] {
        var out: [RequestRecord] = []
        advance(to: timestamp)
        sweepIfDue(into: &out)
        return out
    }

    private mutating func advance(to timestamp: UInt64) {
        now = max(now, timestamp)
    }

    /// Ends the run: every open connection is closed and every held view emitted.
    public mutating func finish() -> [RequestRecord] {
        var out: [RequestRecord] = []
        for key in connections.all.sorted(by: { $0.sequence < $1.sequence }).map(\.key) {
            close(key, into: &out)
        }
        merger.drain(counters: &counters, into: &out)
        return out
    }

    // MARK: Connections

    private func findKey(_ header: EventHeader) -> ConnectionKey? {
        if header.connectionID != 0, connections.slot(.id(header.connectionID)) != nil { return .id(header.connectionID) }
        return byTuple[NetnsTuple(netns: header.netns, tuple: header.tuple)]
    }

    /// The slot of the connection `header` belongs to: one hash for events with the probe's id.
    private mutating func findSlot(_ header: EventHeader) -> ConnectionTable.Slot? {
        if header.connectionID != 0, let slot = connections.slot(id: header.connectionID) { return slot }
        return byTuple[NetnsTuple(netns: header.netns, tuple: header.tuple)].flatMap(connections.slot)
    }

    /// The connection `header` belongs to, taken out of its slot (or a new one) for the caller to put back.
    private mutating func takeOrCreate(_ header: EventHeader) -> (ConnectionTable.Slot, ConnectionTable.Entry) {
        if let slot = findSlot(header), let entry = connections.take(slot) { return (slot, entry) }
        return newConnection(header)
    }

    /// Closes the least recently active eighth of the connections once
    /// `maxConnections` are held: one sort per eighth, so a flood of new
    /// connections costs a logarithm each, not a scan.
    private mutating func evictIfFull(into out: inout [RequestRecord]) {
        guard connections.count >= configuration.maxConnections else { return }
        let oldest = connections.leastRecentlySeen(max(1, configuration.maxConnections / 8))
        counters.connectionsEvicted += UInt64(oldest.count)
        for key in oldest { close(key, into: &out) }
    }

    private mutating func newConnection(_ header: EventHeader) -> (ConnectionTable.Slot, ConnectionTable.Entry) {
        let key: ConnectionKey = header.connectionID != 0
            ? .id(header.connectionID) : .tuple(netns: header.netns, header.tuple)
        nextSequence += 1
        let connection = ConnectionState(key: key, sequence: nextSequence, header: header)
        index(connection)
        return (connections.reserve(key), ConnectionTable.Entry(connection))
    }

    private mutating func index(_ connection: ConnectionState) {
        byTuple[NetnsTuple(netns: connection.netns, tuple: connection.tuple)] = connection.key
        openTuples[connection.tupleKey, default: 0] += 1
    }

    private mutating func unindex(_ connection: ConnectionState) {
        let netnsTuple = NetnsTuple(netns: connection.netns, tuple: connection.tuple)
        if byTuple[netnsTuple] == connection.key { byTuple[netnsTuple] = nil }
        let tuple = connection.tupleKey
        if let count = openTuples[tuple] { openTuples[tuple] = count > 1 ? count - 1 : nil }
    }

    private mutating func close(_ key: ConnectionKey, into out: inout [RequestRecord]) {
        guard var connection = connections.remove(key) else { return }
        if connection.parsing == .detecting && configuration.unrecognizedAsFlows && connection.resyncs == 0
            && connection.seenFromStart && !connection.undetected.allSatisfy(\.isEmpty) {
            // Held for a while (a server's first words, a TLS handshake), never recognized: a flow after all.
            startFlow(&connection, into: &out)
        }
        finish(.client, &connection, into: &out)
        finish(.server, &connection, into: &out)
        flushExchanges(&connection, into: &out)
        unindex(connection)
        if let pair = connection.pair, connection.role != .unknown {
            merger.release(pair: pair, closedSide: connection.role == .client ? .client : .server,
                           counters: &counters, into: &out)
        }
        counters.connectionsClosed += 1
    }

    private mutating func sweepIfDue(into out: inout [RequestRecord]) {
        guard now >= lastSweep &+ configuration.sweepInterval else { return }
        lastSweep = now
        if now > configuration.idleTimeout {
            let cutoff = now - configuration.idleTimeout
            let idle = connections.all.filter { $0.lastSeen < cutoff }.sorted { $0.sequence < $1.sequence }
            for connection in idle {
                counters.connectionsIdleDropped += 1
                close(connection.key, into: &out)
            }
        }
        if serving.values.contains(where: \.isEmpty) { serving = serving.filter { !$0.value.isEmpty } }
        if now > configuration.mergeWindow {
            merger.expire(heldBefore: now - configuration.mergeWindow, counters: &counters, into: &out)
        }
    }

    // MARK: Data

    private mutating func handle(_ data: DataEvent, into out: inout [RequestRecord]) {
        // The usual case, a connection the probe named, found without copying the header.
        let id = data.header.connectionID
        if id != 0, let slot = connections.slot(id: id), let entry = connections.take(slot) {
            handle(data, &entry.state, into: &out)
            connections.put(entry, in: slot)
            return
        }
        let (slot, entry) = takeOrCreate(data.header)
        handle(data, &entry.state, into: &out)
        connections.put(entry, in: slot)
    }

    private mutating func handle(_ data: DataEvent, _ connection: inout ConnectionState,
                                 into out: inout [RequestRecord]) {
        // The header's fields are read where they lie (a copy of it retains its
        // strings), and strings that did not change are not assigned again.
        if connection.tuple != data.header.tuple && data.header.tuple.local.port != 0 {
            unindex(connection)
            connection.tuple = data.header.tuple
            connection.netns = data.header.netns
            index(connection)
        }
        connection.lastSeen = now
        connection.pid = data.header.pid
        connection.tid = data.header.tid
        if connection.comm != data.header.comm { connection.comm = data.header.comm }
        if let container = data.header.container, connection.container != container {
            connection.container = container
            connection.containerID = data.header.containerID
        }
        if connection.role == .unknown && data.role != .unknown { connection.role = data.role }
        counters.dataEvents += 1
        counters.bytes &+= data.length

        guard data.length > 0 else {
            // A read of 0 bytes: the peer closed its side.
            if data.direction == .ingress, let sender = connection.sender(.ingress) {
                finish(sender, &connection, into: &out)
            }
            return
        }
        if data.tls && !connection.tls {
            // The plaintext begins: what came before on this socket was its handshake, ciphertext
            // the probe saw before it knew the socket was TLS. Parse afresh from here.
            connection.tls = true
            connection.parsing = .detecting
            connection.parser = nil
            connection.undetected = [[], []]
            connection.detectionFailures = 0
            connection.exchanges.removeAll()
        } else if connection.tls && !data.tls {
            return // ciphertext that slipped through before the probe knew; its plaintext comes apart
        }
        let captured = data.payloadUnavailable || data.readFault
            ? 0 : Int(min(UInt64(data.payload.count), data.length))
        let segment = StreamSegment(bytes: data.payload[..<captured], missing: data.length - UInt64(captured))
        let timing = SegmentTiming(first: data.direction == .egress ? data.enterTimestamp : data.header.timestamp,
                                   last: data.header.timestamp)
        switch connection.parsing {
        case .gaveUp:
            break
        case .detecting:
            detect(segment, timing, data.direction, &connection, into: &out)
        case .parsing:
            if let sender = connection.sender(data.direction) {
                feed(segment, from: sender, timing, &connection, into: &out)
            }
        }
    }

    /// A TLS handshake record (content type 22, version 3.x): a ClientHello or a ServerHello's flight.
    static func startsWithTLSHandshake(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.count >= 3 && bytes[bytes.startIndex] == 0x16 && bytes[bytes.startIndex + 1] == 0x03 && bytes[bytes.startIndex + 2] <= 0x04
    }

    /// Looks for a recognizable request at the start of a direction's segments.
    private mutating func detect(_ segment: StreamSegment, _ timing: SegmentTiming, _ direction: Direction,
                                 _ connection: inout ConnectionState, into out: inout [RequestRecord]) {
        let d = direction == .egress ? 0 : 1
        var waiting = connection.undetected[d]
        connection.undetected[d] = []
        waiting.append((segment, timing))
        let prefix = waiting.reduce(into: [UInt8]()) { $0 += $1.0.bytes }[...]
        let (parserType, detection) = configuration.protocols.detect(prefix)
        switch detection {
        case .needMoreBytes where segment.missing == 0 && prefix.count < detectionBytes:
            connection.undetected[d] = waiting
            return
        case .request, .response:
            let sendsRequests = detection == .request
            let role: Role = (direction == .egress) == sendsRequests ? .client : .server
            if connection.role == .unknown {
                connection.role = role
                counters.rolesInferred += 1
            }
            if connection.role == role {
                guard sendsRequests, let parserType else { return } // A response: wait for the next request.
                connection.parser = parserType.init()
                connection.parsing = .parsing
                connection.protocolName = parserType.protocolName
                connection.pairsByExchange = parserType.pairing == .byExchange
                connection.undetected = [[], []] // what the server sent before the request: not the parser's
                for (waitingSegment, waitingTiming) in waiting {
                    feed(waitingSegment, from: .client, waitingTiming, &connection, into: &out)
                }
                return
            }
        default:
            break
        }
        if configuration.unrecognizedAsFlows && connection.resyncs == 0 && connection.seenFromStart
            && connection.sender(direction) == .server && waiting.count < configuration.maxDetectionAttempts {
            // The server spoke first (an HTTP/2 server's SETTINGS can beat the client's preface, or a
            // banner): whether the connection is a flow is up to the client's first bytes.
            connection.undetected[d] = waiting
            return
        }
        if configuration.unrecognizedAsFlows && connection.resyncs == 0 && connection.seenFromStart
            && waiting.count < configuration.maxDetectionAttempts && Analyzer.startsWithTLSHandshake(prefix) {
            // A TLS handshake, seen as ciphertext when the library does it before its first read or write (Go's
            // net/http): if the plaintext is read, it begins within a few segments and replaces these; if not, they
            // become a flow as any unrecognized bytes do.
            connection.undetected[d] = waiting
            return
        }
        connection.detectionFailures += 1
        if configuration.unrecognizedAsFlows && connection.resyncs == 0
            && (connection.seenFromStart || connection.detectionFailures >= configuration.maxDetectionAttempts) {
            connection.undetected[d] = waiting
            startFlow(&connection, into: &out)
            return
        }
        if connection.detectionFailures >= configuration.maxDetectionAttempts {
            connection.parsing = .gaveUp
            connection.undetected = [[], []]
            counters.connectionsUnrecognized += 1
        }
    }

    /// Nothing recognized the connection: it is a flow of turns from here on, its waiting segments first.
    /// The connection is a flow of the segments held undetected, both ways, in time order.
    private mutating func startFlow(_ connection: inout ConnectionState, into out: inout [RequestRecord]) {
        let segments = (connection.undetected[0].map { ($0.0, $0.1, Direction.egress) }
            + connection.undetected[1].map { ($0.0, $0.1, Direction.ingress) }).sorted { $0.1.last < $1.1.last }
        connection.undetected = [[], []]
        if connection.role == .unknown, let first = segments.first {
            connection.role = first.2 == .egress ? .client : .server // whoever spoke first is taken for the client
            counters.rolesInferred += 1
        }
        counters.connectionsAsFlows += 1
        connection.parser = TCPFlowParser()
        connection.parsing = .parsing
        connection.protocolName = TCPFlowParser.protocolName
        connection.pairsByExchange = false
        for (segment, timing, direction) in segments {
            if let sender = connection.sender(direction) { feed(segment, from: sender, timing, &connection, into: &out) }
        }
    }

    private mutating func feed(_ segment: StreamSegment, from sender: Sender, _ timing: SegmentTiming,
                               _ connection: inout ConnectionState, into out: inout [RequestRecord]) {
        guard connection.parsing == .parsing else { return }
        var events = takeParserEvents()
        defer { parserEvents = events }
        var failure: ProtocolParseError?
        do {
            try connection.parser?.consume(segment, from: sender, into: &events)
        } catch {
            failure = error
        }
        apply(events, current: sender, timing, &connection, into: &out)
        connection.setLastTiming(sender, timing)
        if let failure { parseFailed(failure, &connection, into: &out) }
    }

    /// `sender` will send nothing more: end what its close delimits.
    private mutating func finish(_ sender: Sender, _ connection: inout ConnectionState, into out: inout [RequestRecord]) {
        guard connection.parsing == .parsing, let timing = connection.lastTiming(sender) else { return }
        var events = takeParserEvents()
        defer { parserEvents = events }
        connection.parser?.finish(sender, into: &events)
        apply(events, current: sender, timing, &connection, into: &out)
    }

    /// The reused, emptied event buffer; the caller gives it back when done.
    private mutating func takeParserEvents() -> [ParserEvent] {
        var events: [ParserEvent] = []
        swap(&events, &parserEvents)
        // Removed one by one: `removeAll(keepingCapacity:)` destroyed the few
        // events through the runtime's generic array destroy, several times slower.
        while !events.isEmpty { events.removeLast() }
        return events
    }

    private mutating func parseFailed(_ failure: ProtocolParseError, _ connection: inout ConnectionState,
                                      into out: inout [RequestRecord]) {
        flushExchanges(&connection, into: &out)
        connection.parser = nil // Whatever follows, this parser is done: a resync starts a new one.
        switch failure {
        case .protocolSwitched(let token, let remaining):
            counters.protocolSwitches += 1
            guard let token, let next = configuration.protocols.parser(upgradeToken: token),
                  let timing = connection.lastTiming(.server) else {
                connection.parsing = .gaveUp
                return
            }
            connection.parser = next.init(upgradedFrom: token)
            connection.protocolName = next.protocolName
            connection.pairsByExchange = next.pairing == .byExchange
            if let remaining { feed(remaining, from: .server, timing, &connection, into: &out) }
            return
        case .malformed: counters.malformed += 1
        case .framingLost: counters.framingLost += 1
        }
        connection.resyncs += 1
        if connection.resyncs > configuration.maxResyncs {
            connection.parsing = .gaveUp
            counters.connectionsGivenUp += 1
        } else {
            // Parse again from the next segment that starts a request.
            connection.parsing = .detecting
            connection.detectionFailures = 0
            counters.resyncs += 1
        }
    }

    // MARK: Exchanges

    private mutating func apply(_ events: [ParserEvent], current: Sender, _ timing: SegmentTiming,
                                _ connection: inout ConnectionState, into out: inout [RequestRecord]) {
        func at(_ anchor: SegmentAnchor, _ sender: Sender) -> SegmentTiming {
            // The current segment is where the boundary lies whoever sent it: AMQP's broker sends the
            // requests it makes (a delivery, whose answer is the consumer's ack).
            anchor == .currentSegment ? timing : connection.lastTiming(sender) ?? timing
        }
        // By index: `for event in events` copied each event (and its strings) out.
        for index in events.indices {
            switch events[index] {
            case .requestBegan(let parserID):
                begin(parserID, timing.first, &connection, into: &out)
            case .requestHead(let parserID, let method, let target, let protocolName):
                update(parserID, &connection) {
                    $0.method = method
                    $0.target = target
                    $0.protocolName = protocolName
                }
            case .requestEnded(let parserID, let bytes, let anchor):
                let end = at(anchor, .client).last
                update(parserID, &connection) {
                    $0.requestEnd = end
                    $0.requestBytes = bytes
                    $0.lastByte = max($0.lastByte, end)
                }
                completeIfDone(parserID, &connection, into: &out)
            case .responseBegan(let parserID):
                update(parserID, &connection) {
                    $0.responseStart = timing.first
                    $0.lastByte = max($0.lastByte, timing.last)
                }
            case .interimResponse(let parserID):
                update(parserID, &connection) { $0.responseStart = nil }
            case .responseHead(let parserID, let status):
                update(parserID, &connection) {
                    $0.status = status
                    $0.outcome = RequestRecord.Outcome(httpStatus: status)
                }
            case .outcome(let parserID, let status, let outcome):
                update(parserID, &connection) {
                    if let status { $0.status = status }
                    $0.outcome = outcome
                }
            case .message(let parserID, let sender):
                let first = timing.first
                update(parserID, &connection) {
                    if sender == .client {
                        $0.requestMessages = ($0.requestMessages ?? 0) &+ 1
                    } else {
                        $0.responseMessages = ($0.responseMessages ?? 0) &+ 1
                        if $0.firstResponse == nil { $0.firstResponse = first }
                    }
                }
            case .attribute(let parserID, let key, let value):
                update(parserID, &connection) {
                    // Changed in place: a dictionary made per attribute was a quarter of a gRPC call's cost.
                    if $0.attributes == nil { $0.attributes = Dictionary(minimumCapacity: 6) }
                    $0.attributes?[key] = value
                }
            case .attributes(let parserID, let attributes):
                update(parserID, &connection) { $0.attributes = attributes.isEmpty ? nil : attributes }
            case .partitions(let parserID, let partitions):
                update(parserID, &connection) { $0.partitions = partitions }
            case .responseEnded(let parserID, let bytes, let anchor):
                let end = at(anchor, .server).last
                update(parserID, &connection) {
                    $0.responseEnd = end
                    $0.responseBytes = bytes
                    $0.lastByte = max($0.lastByte, end)
                }
                completeIfDone(parserID, &connection, into: &out)
            }
        }
    }

    private func update(_ parserID: UInt64, _ connection: inout ConnectionState, _ change: (inout Exchange) -> Void) {
        if let i = connection.exchanges.firstIndex(where: { $0.parserID == parserID }) {
            change(&connection.exchanges[i])
        }
    }

    private mutating func begin(_ parserID: UInt64, _ start: UInt64, _ connection: inout ConnectionState,
                                into out: inout [RequestRecord]) {
        var exchange = Exchange(id: nextRecordID, parserID: parserID, pid: connection.pid, tid: connection.tid,
                                comm: connection.comm, requestStart: start, lastByte: start)
        nextRecordID += 1
        // Pid 0: the process is not known (a capture file), so requests cannot be linked by it.
        switch connection.role {
        case .client where connection.pid != 0:
            exchange.parent = parent(pid: connection.pid, tid: connection.tid, at: start)
        case .server where connection.pid != 0:
            serving[connection.pid, default: []].append(ExchangeReference(connection: connection.key, id: exchange.id))
        default:
            break
        }
        connection.exchanges.append(consume exchange)
        if connection.exchanges.count > configuration.maxExchangesPerConnection {
            counters.exchangesOverflowed += 1
            emit(connection.exchanges.remove(at: 0), &connection, complete: false, into: &out)
        }
    }

    /// The exchange process `pid` is serving that a request it starts at
    /// `start` belongs to: one whose request it has begun reading and whose
    /// response it has not begun writing. With several, the same thread's,
    /// then the most recently begun.
    private func parent(pid: UInt32, tid: UInt32, at start: UInt64) -> ExchangeReference? {
        guard let candidates = serving[pid] else { return nil }
        var best: (reference: ExchangeReference, sameThread: Bool, began: UInt64)?
        for reference in candidates {
            guard let upstream = connections[reference.connection]?.exchanges.first(where: { $0.id == reference.id }),
                  let began = upstream.requestStart, began <= start, upstream.responseStart == nil else { continue }
            let sameThread = upstream.tid == tid
            if let current = best,
               current.sameThread && !sameThread || (current.sameThread == sameThread && current.began > began) {
                continue
            }
            best = (reference, sameThread, began)
        }
        return best?.reference
    }

    private mutating func completeIfDone(_ parserID: UInt64, _ connection: inout ConnectionState,
                                         into out: inout [RequestRecord]) {
        guard let i = connection.exchanges.firstIndex(where: { $0.parserID == parserID }),
              connection.exchanges[i].requestEnd != nil, connection.exchanges[i].responseEnd != nil else { return }
        emit(connection.exchanges.remove(at: i), &connection, complete: true, into: &out)
    }

    private mutating func flushExchanges(_ connection: inout ConnectionState, into out: inout [RequestRecord]) {
        let pending = connection.exchanges
        connection.exchanges = []
        for exchange in pending { emit(exchange, &connection, complete: false, into: &out) }
    }

    /// Turns a finished (or abandoned) exchange into this end's view and hands it to the merger.
    private mutating func emit(_ exchange: consuming Exchange, _ connection: inout ConnectionState, complete: Bool,
                               into out: inout [RequestRecord]) {
        if connection.role == .server, let i = serving.index(forKey: exchange.pid),
           let j = serving.values[i].firstIndex(where: { $0.id == exchange.id }) {
            // In place: a copy of the list taken out would be copied again to change it. An
            // emptied list stays for the process's next request (no array freed and made per
            // request); the sweep drops it.
            serving.values[i].remove(at: j)
        }
        if let parent = exchange.parent, let start = exchange.requestStart, let slot = connections.slot(parent.connection) {
            connections.update(slot) { upstream in
                if let i = upstream.exchanges.firstIndex(where: { $0.id == parent.id }) {
                    upstream.exchanges[i].children.insert(start..<max(start, exchange.lastByte))
                }
            }
        }
        guard let start = exchange.requestStart ?? exchange.responseStart else { return }
        let record = view(exchange, connection, start: start, complete: complete) // the exchange's last use
        counters.records += 1
        if !complete { counters.incompleteRecords += 1 }
        guard let pair = connection.pair else {
            out.append(consume record)
            return
        }
        let peerOpen = openTuples[connection.peerTupleKey] != nil
        merger.offer(consume record, pair: pair, peerOpen: peerOpen, now: now, counters: &counters, into: &out)
    }

    /// This end's record of `exchange`, which began at `start`.
    private func view(_ exchange: consuming Exchange, _ connection: borrowing ConnectionState, start: UInt64,
                      complete: Bool) -> RequestRecord {
        let end = complete ? exchange.responseEnd ?? exchange.lastByte : exchange.lastByte
        let origin = configuration.durationOrigin == .requestEnd ? max(start, exchange.requestEnd ?? start) : start
        return RequestRecord(viewOf: exchange, on: connection, start: configuration.wallClock.unixNanoseconds(start),
                             duration: end > origin ? end - origin : 0, complete: complete)
    }

    // MARK: Retransmits

    private mutating func attribute(_ retransmit: RetransmitEvent) {
        guard retransmit.error == 0 else {
            counters.retransmitsFailed += 1
            return
        }
        let segments = UInt64(retransmit.segments)
        counters.retransmittedSegments += segments
        guard let slot = findSlot(retransmit.header), let entry = connections.take(slot) else {
            counters.retransmitsUnknownConnection += segments
            return
        }
        entry.state.retransmits += segments
        if entry.state.exchanges.isEmpty {
            counters.retransmitsOutsideRequests += segments
        }
        for i in entry.state.exchanges.indices {
            entry.state.exchanges[i].retransmits &+= retransmit.segments
        }
        connections.put(entry, in: slot)
    }
}

extension RequestRecord {
    /// One end's record of an exchange that ends here. The exchange's strings
    /// are moved into the record, not copied. Built through the memberwise
    /// initializers: one that assigns field by field made the record and its
    /// peers aside and copied them in (a retain and release of every string).
    fileprivate init(viewOf exchange: consuming Exchange, on connection: borrowing ConnectionState, start: Int64,
                     duration: UInt64, complete: Bool) {
        let isServer = connection.role == .server
        let protocolName: String
        if let name = exchange.protocolName.take() { protocolName = name } else { protocolName = connection.protocolName }
        var comm = ""
        swap(&comm, &exchange.comm)
        // This end is the client unless it is the server.
        let here = Peer(pid: exchange.pid, comm: comm, container: connection.container, containerID: connection.containerID,
                        ip: connection.localIP, port: connection.tuple.local.port)
        // `pid:` first: the memberwise initializer, not the public one (see `Peer`).
        let there = Peer(pid: nil, ip: connection.remoteIP, port: connection.tuple.remote.port)
        var attributes = exchange.attributes.take()
        // Read from the TLS library, not the socket. Set before the record is made: a
        // change to `self` after `self.init` made the record aside and copied it in.
        if connection.tls { attributes = (attributes ?? [:]).merging(["tls": "true"]) { $1 } }
        self.init(id: exchange.id, start: start, duration: duration, protocolName: protocolName,
                  method: exchange.method.take(), target: exchange.target.take(), status: exchange.status,
                  requestBytes: exchange.requestBytes, responseBytes: exchange.responseBytes,
                  client: isServer ? there : here, server: isServer ? here : there, side: isServer ? .server : .client,
                  network: nil, serverTime: isServer ? duration : nil, serverStart: nil, retransmits: exchange.retransmits,
                  parent: exchange.parent?.id, childWait: exchange.children.total, isComplete: complete,
                  outcome: exchange.outcome, requestMessages: exchange.requestMessages,
                  responseMessages: exchange.responseMessages,
                  firstResponse: exchange.firstResponse.map { $0 - min($0, exchange.requestStart ?? $0) },
                  pairingKey: connection.pairsByExchange ? exchange.parserID : nil, attributeStorage: attributes,
                  partitions: exchange.partitions.take())
    }
}

/// A connection as one network namespace names it.
struct NetnsTuple: Hashable, Sendable {
    var netns: UInt32
    var tuple: SocketTuple
}

extension SocketTuple {
    var normalized: SocketTuple { SocketTuple(local: local.normalized, remote: remote.normalized) }
}
