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
    case requestHead(exchange: UInt64, method: String, target: String, protocolName: String)
    case requestEnded(exchange: UInt64, bytes: UInt64, at: SegmentAnchor)
    /// The response's first byte is in the current segment. Sent again for
    /// the final response after interim ones.
    case responseBegan(exchange: UInt64)
    /// The response that began was interim (HTTP 1xx): the final one is still to come.
    case interimResponse(exchange: UInt64)
    case responseHead(exchange: UInt64, status: Int)
    case responseEnded(exchange: UInt64, bytes: UInt64, at: SegmentAnchor)
}

/// Why a parser stopped understanding a connection. The analyzer counts it,
/// reports what it knows of the exchanges in flight, and resyncs.
public enum ProtocolParseError: Error, Sendable, Hashable {
    /// The bytes break the protocol's grammar.
    case malformed(String)
    /// Uncaptured bytes hide framing the parser needs (a header, a length).
    case framingLost
    /// The connection switched to something else (HTTP Upgrade, CONNECT tunnel).
    case protocolSwitched
}

/// One application protocol, parsed incrementally from both directions of
/// one connection. A conforming type plus one line in `ProtocolRegistry` is
/// all a new protocol needs: the analyzer does reassembly, timing, pairing
/// of both ends and parent links.
///
/// Parsers are fed attacker-controlled bytes: they must bound what they
/// buffer and throw, never trap, on anything unexpected.
public protocol ProtocolParser: Sendable {
    /// The record's `protocol` when the parser says nothing more precise
    /// (ALPN-style: "http/1.1", "h2", "kafka").
    static var protocolName: String { get }

    /// Whether a direction's first bytes start a message of this protocol.
    static func detect(_ prefix: ArraySlice<UInt8>) -> ProtocolDetection

    init()

    /// Consumes the next segment `sender` sent, appending what it found to
    /// `events`. Events appended before a throw still count.
    mutating func consume(_ segment: StreamSegment, from sender: Sender,
                          into events: inout [ParserEvent]) throws(ProtocolParseError)

    /// `sender` will send nothing more (it closed or the connection ended):
    /// end messages delimited by the close.
    mutating func finish(_ sender: Sender, into events: inout [ParserEvent])
}
