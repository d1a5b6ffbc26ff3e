import TestSupport
@testable import Analyzer
import Events
import Testing

/// What `ProtocolParser` promises, checked for every registered parser on a
/// conversation of its protocol. A new parser adds its conversation to
/// `conversations`.
struct Conversation: Sendable, CustomTestStringConvertible {
    var parser: any ProtocolParser.Type
    /// Segments in the order they were sent, each whole (one write).
    var segments: [(Sender, [UInt8])]
    var exchanges: Int
    var testDescription: String { parser.protocolName }

    static let http1: Conversation = {
        var segments: [(Sender, [UInt8])] = []
        for n in 0..<4 {
            segments.append((.client, Array("GET /items/\(n) HTTP/1.1\r\nHost: api\r\n\r\n".utf8)))
            segments.append((.server, Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nitem\(n)".utf8)))
        }
        segments.append((.client, Array("POST /push HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n".utf8)))
        segments.append((.server, Array("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".utf8)))
        return Conversation(parser: HTTP1Parser.self, segments: segments, exchanges: 5)
    }()

    static let http2: Conversation = {
        var segments: [(Sender, [UInt8])] = [(.client, H2.preface + H2.settings()), (.server, H2.settings())]
        for id: UInt32 in stride(from: 1, through: 9, by: 2) {
            let call = H2.unaryCall(stream: id, path: "/demo.Echo/N\(id % 3)", status: Int(id) % 4)
            segments.append((.client, call.request))
            segments.append((.server, call.response))
        }
        segments.append((.client, H2.headers(stream: 11, endStream: true, H2.indexed(2) + H2.indexed(6)
                                                 + H2.literal(":path", "/static/app.js", indexed: true))))
        segments.append((.server, H2.headers(stream: 11, endStream: true, H2.indexed(13))))
        return Conversation(parser: HTTP2Parser.self, segments: segments, exchanges: 6)
    }()

    /// What the analyzer falls back to: a Redis-like exchange of lines, as turns.
    static let tcpFlow: Conversation = {
        var segments: [(Sender, [UInt8])] = []
        for n in 0..<3 {
            segments.append((.client, Array("*2\r\n$3\r\nGET\r\n$2\r\nk\(n)\r\n".utf8)))
            segments.append((.server, Array("$5\r\nvalue\r\n".utf8)))
        }
        return Conversation(parser: TCPFlowParser.self, segments: segments, exchanges: 3)
    }()


    static let kafka: Conversation = {
        var segments: [(Sender, [UInt8])] = [(.client, KafkaWire.apiVersions(correlation: 0)),
                                              (.server, KafkaWire.apiVersionsResponse(correlation: 0))]
        // Two produces pipelined, answered one by one.
        segments.append((.client, KafkaWire.produce(correlation: 1) + KafkaWire.produce(correlation: 2, version: 9)))
        segments.append((.server, KafkaWire.produceResponse(correlation: 1)))
        segments.append((.server, KafkaWire.produceResponse(correlation: 2, version: 9)))
        segments.append((.client, KafkaWire.fetch(correlation: 3, version: 12)))
        segments.append((.server, KafkaWire.fetchResponse(correlation: 3, version: 12, partitions: [(0, 0, 50, [(40, 4)])])))
        segments.append((.client, KafkaWire.heartbeat(correlation: 4)))
        segments.append((.server, KafkaWire.errorResponse(correlation: 4, error: 0, flexible: true)))
        return Conversation(parser: KafkaParser.self, segments: segments, exchanges: 5)
    }()

    static let amqp: Conversation = {
        var segments: [(Sender, [UInt8])] = AMQPWire.handshake.map { ($0.client ? .client : .server, $0.bytes) }
        segments.append((.client, AMQPWire.method(1, 85, 10, .init().bits(false)) + AMQPWire.queueDeclare(1, "jobs")))
        segments.append((.server, AMQPWire.method(1, 85, 11) + AMQPWire.queueDeclareOK(1, "jobs")))
        // Two publishes confirmed by one ack (multiple); a body in two frames.
        segments.append((.client, AMQPWire.publish(1, routingKey: "jobs", body: Array(repeating: 7, count: 5000))))
        segments.append((.client, AMQPWire.publish(1, routingKey: "jobs", body: Array("job 2".utf8), messageID: "m2")))
        segments.append((.server, AMQPWire.ack(1, tag: 2, multiple: true)))
        segments.append((.client, AMQPWire.consume(1, queue: "jobs", tag: "c1")))
        segments.append((.server, AMQPWire.consumeOK(1, tag: "c1") + AMQPWire.heartbeat))
        segments.append((.server, AMQPWire.deliver(1, consumerTag: "c1", tag: 1, routingKey: "jobs", body: Array("job 1".utf8))))
        segments.append((.client, AMQPWire.ack(1, tag: 1)))
        return Conversation(parser: AMQPParser.self, segments: segments, exchanges: 10)
    }()

    static let all = [http1, http2, tcpFlow, kafka, amqp]
}

/// Runs a fresh parser of `type` over segments; stops at the first error.
func run(_ type: any ProtocolParser.Type, _ segments: [(Sender, StreamSegment)])
    -> (events: [ParserEvent], error: ProtocolParseError?) {
    parse(segments, with: type.init())
}

extension ParserEvent {
    /// The event without where in time it lies: what segment splits may change.
    var unanchored: ParserEvent {
        switch self {
        case .requestEnded(let e, let b, _): .requestEnded(exchange: e, bytes: b, at: .currentSegment)
        case .responseEnded(let e, let b, _): .responseEnded(exchange: e, bytes: b, at: .currentSegment)
        default: self
        }
    }

    var head: (method: String?, target: String?)? {
        if case .requestHead(_, let method, let target, _) = self { (method, target) } else { nil }
    }
}

@Suite("ProtocolParser conformance")
struct ProtocolParserConformanceTests {
    static func whole(_ c: Conversation) -> [(Sender, StreamSegment)] {
        c.segments.map { ($0.0, StreamSegment(bytes: $0.1[...])) }
    }

    @Test("the first segment is recognized within detectionBytes, and fewer bytes never make it a wrong protocol",
          arguments: Conversation.all)
    func detection(_ c: Conversation) {
        let first = c.segments[0].1
        #expect(c.parser.detect(first.prefix(c.parser.detectionBytes)) == .request)
        for n in 0..<min(first.count, c.parser.detectionBytes) {
            let d = c.parser.detect(first.prefix(n))
            #expect(d == .needMoreBytes || d == .request || d == .notThisProtocol)
        }
        // The flow parser is the fallback for anything: only the others must tell protocols apart.
        for other in Conversation.all where other.parser != c.parser && c.parser != TCPFlowParser.self {
            #expect(c.parser.detect(other.segments[0].1[...]) == .notThisProtocol)
        }
    }

    @Test("random segment splits give the same events", arguments: Conversation.all)
    func randomSplits(_ c: Conversation) {
        let reference = run(c.parser, Self.whole(c))
        #expect(reference.error == nil)
        #expect(reference.events.filter { if case .requestBegan = $0 { true } else { false } }.count == c.exchanges)
        var generator = SplitMix64(seed: 13)
        for _ in 0..<50 {
            var split: [(Sender, StreamSegment)] = []
            for (sender, bytes) in c.segments {
                var i = 0
                while i < bytes.count {
                    let n = Int.random(in: 1...max(1, bytes.count - i), using: &generator)
                    split.append((sender, StreamSegment(bytes: bytes[i..<(i + n)])))
                    i += n
                }
            }
            let result = run(c.parser, split)
            #expect(result.error == nil)
            #expect(result.events.map(\.unanchored) == reference.events.map(\.unanchored))
        }
    }

    @Test("attached mid-connection, a name is the right one or unknown, never another", arguments: Conversation.all)
    func attachedMidConnection(_ c: Conversation) {
        let full = run(c.parser, Self.whole(c)).events
        let known = Set(full.compactMap { $0.head.map { "\($0.method ?? "") \($0.target ?? "")" } })
        for start in 1..<c.segments.count {
            let attached = run(c.parser, Array(Self.whole(c).dropFirst(start))).events
            for head in attached.compactMap(\.head) {
                let candidates = known.filter { k in
                    (head.method.map { k.hasPrefix($0 + " ") } ?? true) && (head.target.map { k.hasSuffix(" " + $0) } ?? true)
                }
                #expect(!candidates.isEmpty, "attached at \(start): \(head) is no request of the conversation")
            }
        }
    }

    @Test("truncated payloads and garbage throw or are skipped, never trap", arguments: Conversation.all)
    func truncatedAndGarbage(_ c: Conversation) {
        var generator = SplitMix64(seed: 17)
        for _ in 0..<200 {
            var segments: [(Sender, StreamSegment)] = []
            for (sender, bytes) in c.segments {
                switch Int.random(in: 0..<4, using: &generator) {
                case 0: // the probe captured a prefix only
                    let n = Int.random(in: 0...bytes.count, using: &generator)
                    segments.append((sender, StreamSegment(bytes: bytes.prefix(n), missing: UInt64(bytes.count - n))))
                case 1: // a byte flipped
                    var b = bytes
                    b[Int.random(in: 0..<b.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator)
                    segments.append((sender, StreamSegment(bytes: b[...])))
                case 2: // garbage
                    let g = (0..<Int.random(in: 1...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                    segments.append((sender, StreamSegment(bytes: g[...])))
                default:
                    segments.append((sender, StreamSegment(bytes: bytes[...])))
                }
            }
            _ = run(c.parser, segments) // surviving is the check: a trap ends the test process
            var parser = c.parser.init()
            var events: [ParserEvent] = []
            for sender in [Sender.client, .server] { parser.finish(sender, into: &events) }
        }
    }

    @Test("both ends on one host: every exchange is one record from both views", arguments: Conversation.all)
    func bothEnds(_ c: Conversation) {
        let client = TracedSocket.client(), server = TracedSocket.server()
        var events: [ProbeEvent] = [client.open(at: 1), server.open(at: 1)]
        var t: UInt64 = 10
        for (sender, bytes) in c.segments {
            let (writer, reader) = sender == .client ? (client, server) : (server, client)
            events.append(writer.data(.egress, bytes, enter: t, exit: t + 1))
            events.append(reader.data(.ingress, bytes, enter: t + 2, exit: t + 3))
            t += 10
        }
        events += [client.close(at: t), server.close(at: t + 1)]
        let (records, analyzer) = analyze(events)
        #expect(records.count == c.exchanges)
        #expect(records.allSatisfy { $0.side == .both && $0.isComplete })
        #expect(analyzer.counters.viewsUnmatched == 0)
    }
}
