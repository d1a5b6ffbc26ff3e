/// What a parser makes of the first bytes of a connection's direction.
public enum ProtocolDetection: Sendable, Hashable {
    /// They start a request of this protocol (so their sender is the client).
    case request
    /// They start a response of this protocol (so their sender is the server).
    case response
    /// Too few bytes to tell; ask again with more.
    case needMoreBytes
    case notThisProtocol
}

/// Where in time a message boundary lies, for boundaries a parser can only
/// place after the fact (a body that ended when its sender closed).
public enum SegmentAnchor: Sendable, Hashable {
    /// In the segment being consumed.
    case currentSegment
    /// In the last segment the same sender sent before the current call.
    case previousSegment
}

/// A message boundary or fact a parser found, naming the exchange (a
/// request and its response) it belongs to by a number the parser chooses:
/// the request's sequence number for HTTP/1, a stream id for HTTP/2, a
/// correlation id for Kafka. The analyzer turns these into timed records.
public enum ParserEvent: Sendable, Hashable {
    /// The request's first byte is in the current segment.
    case requestBegan(exchange: UInt64)
    /// The request's operation and resource; nil for one the parser cannot know (see `ProtocolParser`).
    case requestHead(exchange: UInt64, method: String?, target: String?, protocolName: String)
    case requestEnded(exchange: UInt64, bytes: UInt64, at: SegmentAnchor)
    /// The response's first byte is in the current segment. Sent again for
    /// the final response after interim ones.
    case responseBegan(exchange: UInt64)
    /// The response that began was interim (HTTP 1xx): the final one is still to come.
    case interimResponse(exchange: UInt64)
    /// An HTTP status: sets `status`, and the outcome HTTP gives it.
    case responseHead(exchange: UInt64, status: Int)
    case responseEnded(exchange: UInt64, bytes: UInt64, at: SegmentAnchor)
    /// The protocol's own status (nil: unchanged) and the outcome it means,
    /// replacing what `responseHead` set (gRPC's trailers, an HTTP/2 reset).
    case outcome(exchange: UInt64, status: Int?, outcome: RequestRecord.Outcome)
    /// A message of a protocol that frames several per exchange (gRPC) began
    /// in the current segment.
    case message(exchange: UInt64, from: Sender)
    /// A per-protocol attribute of the exchange ("grpc.message", "http2.stream_id").
    case attribute(exchange: UInt64, key: String, value: String)
    /// All of the exchange's per-protocol attributes, replacing any set before: a
    /// parser that hands out the same dictionary for many exchanges saves hashing each key.
    case attributes(exchange: UInt64, [String: String])
    /// The topic partitions a broker exchange touched (Kafka), replacing any reported before.
    case partitions(exchange: UInt64, [RequestRecord.PartitionActivity])
}

/// How the two ends' views of one exchange are paired when both ends run on this host.
public enum ExchangePairing: Sendable, Hashable {
    /// By order on the connection (HTTP/1: requests are answered in order).
    case inOrder
    /// By the exchange number the parser gives (HTTP/2: the stream id), the
    /// same from both ends.
    case byExchange
}

/// Why a parser stopped understanding a connection. The analyzer counts it,
/// reports what it knows of the exchanges in flight, and resyncs.
public enum ProtocolParseError: Error, Sendable, Hashable {
    /// The bytes break the protocol's grammar.
    case malformed(String)
    /// Uncaptured bytes hide framing the parser needs (a header, a length).
    case framingLost
    /// The connection switched to something else (HTTP Upgrade, CONNECT
    /// tunnel): `to` names the new protocol by its upgrade token ("h2c"),
    /// nil for a tunnel. The switching message's bytes are all consumed;
    /// bytes after them in the same segment are `remaining`.
    case protocolSwitched(to: String?, remaining: StreamSegment?)
}

/// One application protocol, parsed incrementally from both directions of
/// one connection. A conforming type plus one line in `ProtocolRegistry` is
/// all a new protocol needs: the analyzer does reassembly, timing, pairing
/// of both ends and parent links.
///
/// What every parser promises (checked for each registered parser by
/// `ProtocolParserConformanceTests`; a new parser is added to its list):
///
/// - **Never trap.** Bytes come from the network and are attacker-controlled:
///   anything the grammar does not allow is a thrown `ProtocolParseError`
///   (or, for one exchange, an unknown field), never a crash, whatever the
///   bytes and however they are split into segments.
/// - **Bounded memory.** Every buffer, table and list of exchanges in flight
///   has a fixed limit; input that would pass it is an error.
/// - **Split-invariant.** The same bytes give the same events whether they
///   arrive in one segment or in many (only the anchors' segments differ).
/// - **Unknown rather than guessed.** A field the parser cannot know (an
///   HPACK index into a table from before it attached, a header cut by the
///   payload cap) is left out or reported as unknown, never filled with a
///   plausible wrong value.
/// - **Both ends alike.** The client's and the server's copies of the same
///   bytes give the same exchanges with the same numbers, so `pairing`
///   joins them.
public protocol ProtocolParser: Sendable {
    /// The record's `protocol` when the parser says nothing more precise
    /// (ALPN-style: "http/1.1", "h2", "kafka").
    static var protocolName: String { get }

    /// How many first bytes `detect` needs at most to decide: it is asked
    /// again with more until it has them, then the direction counts as not
    /// recognized.
    static var detectionBytes: Int { get }

    /// How the two ends' views of one exchange pair (see `ExchangePairing`).
    static var pairing: ExchangePairing { get }

    /// Upgrade tokens (`Upgrade: h2c`) this parser takes a connection over with.
    static var upgradeTokens: [String] { get }

    /// Whether a direction's first bytes start a message of this protocol.
    /// Also asked for a connection the probe attached to mid-stream, so it
    /// may recognize a message that is not the connection's first.
    static func detect(_ prefix: ArraySlice<UInt8>) -> ProtocolDetection

    init()

    /// A parser taking over after `Upgrade: <token>` was accepted. The
    /// upgrading request is the old protocol's record (status 101); what the
    /// new protocol carries of its response is not a record of its own.
    init(upgradedFrom token: String)

    /// Consumes the next segment `sender` sent, appending what it found to
    /// `events`. Events appended before a throw still count.
    mutating func consume(_ segment: StreamSegment, from sender: Sender,
                          into events: inout [ParserEvent]) throws(ProtocolParseError)

    /// `sender` will send nothing more (it closed or the connection ended):
    /// end messages delimited by the close.
    mutating func finish(_ sender: Sender, into events: inout [ParserEvent])
}

extension ProtocolParser {
    public static var pairing: ExchangePairing { .inOrder }
    public static var upgradeTokens: [String] { [] }
    public init(upgradedFrom token: String) { self.init() }
}
