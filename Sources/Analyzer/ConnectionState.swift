import Events

/// How the analyzer names a connection: the probe's socket id, or the
/// network namespace and tuple when the probe had none.
enum ConnectionKey: Hashable, Sendable {
    case id(UInt64)
    case tuple(netns: UInt32, SocketTuple)
}

/// When a segment's bytes moved: a write's first byte leaves when the
/// syscall is entered, a read's bytes are there when it returns.
struct SegmentTiming: Sendable, Hashable {
    var first: UInt64
    var last: UInt64
}

/// Everything the analyzer keeps about one open connection, seen from one end.
struct ConnectionState: Sendable {
    enum Parsing: Sendable, Hashable {
        /// Waiting for bytes a registered protocol recognizes as a request.
        case detecting
        /// `parser` has it.
        case parsing
        /// Ignored until it closes (unrecognized, upgraded, too many errors).
        case gaveUp
    }

    let key: ConnectionKey
    /// Creation order, so flushes are deterministic.
    let sequence: UInt64
    var netns: UInt32
    var tuple: SocketTuple {
        didSet {
            (localIP, remoteIP) = ConnectionState.addressText(tuple)
            (tupleKey, peerTupleKey) = ConnectionState.tupleKeys(tuple)
            pair = ConnectionState.pair(tuple, role)
        }
    }
    /// The tuple's addresses as records show them: formatted once per tuple, not per record.
    private(set) var localIP: String
    private(set) var remoteIP: String
    /// The tuple normalized, and as the other end sees it: the analyzer's
    /// open-tuple index keys, hashed once per tuple, not per record.
    private(set) var tupleKey: PrehashedKey<SocketTuple>
    private(set) var peerTupleKey: PrehashedKey<SocketTuple>
    var role: Role = .unknown {
        didSet { pair = ConnectionState.pair(tuple, role) }
    }
    /// The client and server endpoints, normalized, once the role is known:
    /// the same from both ends, so the merger pairs views by it.
    private(set) var pair: PrehashedKey<EndpointPair>?
    var pid: UInt32 = 0
    var tid: UInt32 = 0
    var comm = ""
    var container: String?
    var containerID: String?
    var lastSeen: UInt64
    var parsing = Parsing.detecting
    /// The recognized protocol's parser, changed in place: kept apart from
    /// `parsing` so that reading the state never copies the parser.
    var parser: (any ProtocolParser)?
    var protocolName = ""
    /// The parser pairs the two ends' views by its exchange numbers (`ExchangePairing.byExchange`).
    var pairsByExchange = false
    /// Segments whose first bytes were too few to recognize, by direction (egress first).
    var undetected: [[(StreamSegment, SegmentTiming)]] = [[], []]
    var detectionFailures = 0
    /// The probe saw the connection open (connect or accept) before any of its bytes.
    var seenFromStart = false
    var resyncs = 0
    /// Its bytes are TLS plaintext from the TLS library (events with `tls`).
    var tls = false
    var lastClientTiming: SegmentTiming?
    var lastServerTiming: SegmentTiming?
    /// In flight, oldest first.
    var exchanges: [Exchange] = []
    var retransmits: UInt64 = 0

    init(key: ConnectionKey, sequence: UInt64, header: EventHeader) {
        self.key = key
        self.sequence = sequence
        self.netns = header.netns
        self.tuple = header.tuple
        (localIP, remoteIP) = ConnectionState.addressText(header.tuple)
        (tupleKey, peerTupleKey) = ConnectionState.tupleKeys(header.tuple)
        self.lastSeen = header.timestamp
    }

    static func addressText(_ tuple: SocketTuple) -> (local: String, remote: String) {
        (tuple.local.address.unmapped.description, tuple.remote.address.unmapped.description)
    }

    static func tupleKeys(_ tuple: SocketTuple) -> (own: PrehashedKey<SocketTuple>, peer: PrehashedKey<SocketTuple>) {
        let normalized = tuple.normalized
        return (PrehashedKey(normalized), PrehashedKey(normalized.reversed))
    }

    static func pair(_ tuple: SocketTuple, _ role: Role) -> PrehashedKey<EndpointPair>? {
        switch role {
        case .client: PrehashedKey(EndpointPair(client: tuple.local.normalized, server: tuple.remote.normalized))
        case .server: PrehashedKey(EndpointPair(client: tuple.remote.normalized, server: tuple.local.normalized))
        case .unknown: nil
        }
    }

    func lastTiming(_ sender: Sender) -> SegmentTiming? {
        sender == .client ? lastClientTiming : lastServerTiming
    }

    mutating func setLastTiming(_ sender: Sender, _ timing: SegmentTiming) {
        if sender == .client { lastClientTiming = timing } else { lastServerTiming = timing }
    }

    /// Who sent bytes moving in `direction`, once the role is known.
    func sender(_ direction: Direction) -> Sender? {
        switch role {
        case .client: direction == .egress ? .client : .server
        case .server: direction == .egress ? .server : .client
        case .unknown: nil
        }
    }

}

/// A connection named by its client and server endpoints: the same from both ends.
struct EndpointPair: Hashable, Sendable {
    var client: Endpoint
    var server: Endpoint
}

extension Endpoint {
    /// IPv4-mapped IPv6 addresses as IPv4, so a dual-stack socket's view matches its peer's.
    var normalized: Endpoint { Endpoint(address: address.unmapped, port: port) }
}

/// A request and its response in flight on one connection, as one end sees them.
struct Exchange: Sendable {
    /// The record id it will carry.
    var id: UInt64
    /// The parser's name for it.
    var parserID: UInt64
    var pid: UInt32
    var tid: UInt32
    var comm: String
    var requestStart: UInt64?
    var requestEnd: UInt64?
    var responseStart: UInt64?
    var responseEnd: UInt64?
    var lastByte: UInt64
    var method: String?
    var target: String?
    var protocolName: String?
    var status: Int?
    var outcome: RequestRecord.Outcome?
    var requestMessages: UInt32?
    var responseMessages: UInt32?
    /// When the first response message began (`ParserEvent.message`).
    var firstResponse: UInt64?
    /// Nil until the first attribute: most exchanges have none.
    var attributes: [String: String]?
    var partitions: [RequestRecord.PartitionActivity]?
    var requestBytes: UInt64 = 0
    var responseBytes: UInt64 = 0
    var retransmits: UInt32 = 0
    var parent: ExchangeReference?
    var children = IntervalUnion()
}

/// Where an in-flight exchange lives, for parent links.
struct ExchangeReference: Hashable, Sendable {
    var connection: ConnectionKey
    var id: UInt64
}
