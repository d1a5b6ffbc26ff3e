/// Any TCP connection no registered protocol recognizes, as "turns": one
/// side's burst of writes answered by the other's. A turn is an exchange
/// (protocol `tcp`, no operation, resource or status): the client's bytes
/// are its request, the server's answer its response, each ending when the
/// other side speaks again or closes. So a request/response protocol
/// pipetrace does not parse (Redis, PostgreSQL, a custom RPC) still gets
/// one timed record per round trip, and every pair of containers that
/// talks shows up in `stat --group-by hop`. A server that speaks first (a
/// banner) opens a turn with an empty request.
///
/// Not in `ProtocolRegistry`: the analyzer falls back to it when nothing
/// recognizes a connection (`AnalyzerConfiguration.unrecognizedAsFlows`).
/// It holds two counters and a few flags: nothing grows with the bytes.
public struct TCPFlowParser: ProtocolParser {
    public static let protocolName = "tcp"
    public static let detectionBytes = 0

    private var turn: UInt64 = 0
    private var inTurn = false
    private var requestEnded = false
    private var responseBegan = false
    private var requestBytes: UInt64 = 0
    private var responseBytes: UInt64 = 0

    public init() {}

    /// Anything is a flow; the analyzer asks only when nothing else matched.
    public static func detect(_ prefix: ArraySlice<UInt8>) -> ProtocolDetection { .request }

    public mutating func consume(_ segment: StreamSegment, from sender: Sender,
                                 into events: inout [ParserEvent]) throws(ProtocolParseError) {
        guard segment.length > 0 else { return }
        if sender == .client {
            if inTurn && responseBegan {
                events.append(.responseEnded(exchange: turn, bytes: responseBytes, at: .previousSegment))
                inTurn = false
            }
            if !inTurn { begin(&events) }
            requestBytes += segment.length
        } else {
            if !inTurn {
                begin(&events) // the server speaks first
            }
            if !responseBegan {
                if !requestEnded {
                    events.append(.requestEnded(exchange: turn, bytes: requestBytes, at: .previousSegment))
                    requestEnded = true
                }
                events.append(.responseBegan(exchange: turn))
                responseBegan = true
            }
            responseBytes += segment.length
        }
    }

    public mutating func finish(_ sender: Sender, into events: inout [ParserEvent]) {
        guard inTurn else { return }
        if sender == .server && responseBegan {
            events.append(.responseEnded(exchange: turn, bytes: responseBytes, at: .previousSegment))
            inTurn = false
        } else if sender == .client && !requestEnded {
            events.append(.requestEnded(exchange: turn, bytes: requestBytes, at: .previousSegment))
            requestEnded = true
        }
    }

    private mutating func begin(_ events: inout [ParserEvent]) {
        turn += 1
        inTurn = true
        requestEnded = false
        responseBegan = false
        requestBytes = 0
        responseBytes = 0
        events.append(.requestBegan(exchange: turn))
        events.append(.requestHead(exchange: turn, method: nil, target: nil, protocolName: TCPFlowParser.protocolName))
        events.append(.attribute(exchange: turn, key: "tcp.turn", value: String(turn)))
    }
}
