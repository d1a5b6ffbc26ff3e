@testable import Analyzer
import Events
import Testing

@Suite("HTTP/2 and gRPC parser")
struct HTTP2ParserTests {
    @Test("a unary gRPC call is one exchange named by its full method, with messages and grpc-status")
    func unary() {
        let call = H2.unaryCall(stream: 1, preface: true)
        let result = parseH2([(.client, call.request), (.server, call.response)])
        #expect(result.error == nil)
        #expect(result.events == [
            .requestBegan(exchange: 1),
            .requestHead(exchange: 1, method: "demo.Echo/Say", target: "/demo.Echo/Say", protocolName: "grpc"),
            .attribute(exchange: 1, key: "http2.stream_id", value: "1"),
            .message(exchange: 1, from: .client),
            .requestEnded(exchange: 1, bytes: UInt64(call.request.count - 24 - 15), at: .currentSegment),
            .responseBegan(exchange: 1),
            .attribute(exchange: 1, key: "http.status_code", value: "200"),
            .message(exchange: 1, from: .server),
            .outcome(exchange: 1, status: 0, outcome: .ok),
            .attribute(exchange: 1, key: "grpc.request.message_bytes", value: "10"),
            .attribute(exchange: 1, key: "grpc.response.message_bytes", value: "20"),
            .responseEnded(exchange: 1, bytes: UInt64(call.response.count), at: .currentSegment),
        ])
    }

    @Test("a gRPC error on HTTP 200 is an error with its message")
    func grpcErrorOnHTTP200() {
        let request = H2.preface + H2.grpcRequest(stream: 1, path: "/demo.Echo/Fail") + H2.data(stream: 1, endStream: true, H2.message(1))
        let response = H2.grpcResponseHeaders(stream: 1) + H2.grpcTrailers(stream: 1, status: 5, message: "no such item")
        let events = parseH2([(.client, request), (.server, response)]).events
        #expect(events.contains(.outcome(exchange: 1, status: 5, outcome: .clientError)))
        #expect(events.contains(.attribute(exchange: 1, key: "grpc.message", value: "no such item")))
    }

    @Test("a server-streaming call counts every message and stays one exchange")
    func streaming() {
        let request = H2.preface + H2.grpcRequest(stream: 1, path: "/demo.Feed/Watch", timeout: "5S")
            + H2.data(stream: 1, endStream: true, H2.message(3))
        // Five messages, two of them in one DATA frame, one split over two frames.
        let m = H2.message(7)
        let response = H2.grpcResponseHeaders(stream: 1) + H2.data(stream: 1, m + m) + H2.data(stream: 1, m)
            + H2.data(stream: 1, Array(m.prefix(3))) + H2.data(stream: 1, Array(m.dropFirst(3)) + m)
            + H2.grpcTrailers(stream: 1, status: 0)
        let events = parseH2([(.client, request), (.server, response)]).events
        #expect(events.filter { $0 == .message(exchange: 1, from: .server) }.count == 5)
        #expect(events.contains(.attribute(exchange: 1, key: "grpc.timeout", value: "5S")))
        #expect(events.contains(.attribute(exchange: 1, key: "grpc.response.message_bytes", value: "35")))
    }

    @Test("streams in flight together complete in the order their responses end")
    func multiplexed() {
        var request = H2.preface
        for id: UInt32 in [1, 3, 5] { request += H2.unaryCall(stream: id).request }
        let responses = [5, 1, 3].map { H2.unaryCall(stream: UInt32($0)).response }
        let events = parseH2([(.client, request)] + responses.map { (.server, $0) }).events
        let ended = events.compactMap { if case .responseEnded(let e, _, _) = $0 { e } else { nil } }
        #expect(ended == [5, 1, 3])
    }

    @Test("RST_STREAM ends its stream as cancelled; GOAWAY cancels the streams above its last id")
    func resetAndGoaway() {
        var request = H2.preface
        for id: UInt32 in [1, 3, 5] { request += H2.grpcRequest(stream: id, path: "/demo.Echo/Say") }
        let events = parseH2([(.client, request), (.client, H2.rst(stream: 1)), (.server, H2.goaway(last: 3))]).events
        let cancelled = events.compactMap { if case .outcome(let e, _, .cancelled) = $0 { e } else { nil } }
        #expect(cancelled == [1, 5])
        #expect(events.contains(.attribute(exchange: 1, key: "http2.error_code", value: "8")))
    }

    @Test("plain HTTP/2: method, path and status; a gRPC response without trailers takes the HTTP status as gRPC does")
    func plainAndMappedStatus() {
        let get = H2.preface + H2.headers(stream: 1, endStream: true, H2.indexed(2) + H2.indexed(6) + H2.literal(":path", "/a"))
        let notFound = H2.headers(stream: 1, endStream: true, H2.indexed(13))
        let plain = parseH2([(.client, get), (.server, notFound)]).events
        #expect(plain.contains(.requestHead(exchange: 1, method: "GET", target: "/a", protocolName: "h2")))
        #expect(plain.contains(.responseHead(exchange: 1, status: 404)))

        let grpc = H2.preface + H2.grpcRequest(stream: 1, path: "/demo.Echo/Say")
        let badGateway = H2.headers(stream: 1, endStream: true, H2.literal(":status", "502"))
        let mapped = parseH2([(.client, grpc), (.server, badGateway)]).events
        #expect(mapped.contains(.outcome(exchange: 1, status: 14, outcome: .serverError)))
    }

    @Test("attached mid-connection: detected from a request's static-table fields; dynamic-table names are unknown, literal ones known")
    func attachedMidConnection() {
        // Before attach the client indexed :path and content-type; after it, one call refers to them, one is new.
        let old = H2.headers(stream: 41, H2.indexed(3) + H2.indexed(6) + H2.indexed(63) + H2.indexed(62))
            + H2.data(stream: 41, endStream: true, H2.message(1))
        #expect(HTTP2Parser.detect(old[...]) == .request)
        #expect(HTTP2Parser.detect(H2.grpcResponseHeaders(stream: 41)[...]) == .response)
        let new = H2.grpcRequest(stream: 43, path: "/demo.Echo/Other") + H2.data(stream: 43, endStream: true, H2.message(1))
        let events = parseH2([(.client, old), (.client, new)]).events
        // POST is in the static table: known. The path is not.
        #expect(events.contains(.requestHead(exchange: 41, method: "POST", target: nil, protocolName: "h2")))
        #expect(events.contains(.requestHead(exchange: 43, method: "demo.Echo/Other", target: "/demo.Echo/Other", protocolName: "grpc")))
    }

    @Test("uncaptured DATA bytes are skipped by count; an uncaptured header block loses the table, not the connection")
    func truncatedPayloads() throws {
        var parser = HTTP2Parser()
        var events: [ParserEvent] = []
        let call = H2.unaryCall(stream: 1, preface: true)
        try parser.consume(StreamSegment(bytes: call.request[...]), from: .client, into: &events)
        let big = H2.grpcResponseHeaders(stream: 1) + H2.data(stream: 1, H2.message(5000) + H2.message(1))
        let trailers = H2.grpcTrailers(stream: 1, status: 0)
        // The probe captured the first 100 bytes of the server's write: the second message's prefix is lost.
        try parser.consume(StreamSegment(bytes: big.prefix(100), missing: UInt64(big.count - 100)), from: .server, into: &events)
        try parser.consume(StreamSegment(bytes: trailers[...]), from: .server, into: &events)
        #expect(events.contains(.responseEnded(exchange: 1, bytes: UInt64(big.count + trailers.count), at: .currentSegment)))
        #expect(events.contains(.outcome(exchange: 1, status: 0, outcome: .ok)))
        #expect(events.contains(.attribute(exchange: 1, key: "grpc.messages_uncounted", value: "true")))
        // An uncaptured header block: its stream is not named, the table is lost, later literals still decode.
        let headers = H2.grpcRequest(stream: 3, path: "/demo.Echo/Say", indexing: true)
        try parser.consume(StreamSegment(bytes: headers.prefix(12), missing: UInt64(headers.count - 12)), from: .client, into: &events)
        let next = H2.grpcRequest(stream: 5, path: "/demo.Echo/Next")
        try parser.consume(StreamSegment(bytes: next[...]), from: .client, into: &events)
        #expect(events.contains(.requestHead(exchange: 5, method: "demo.Echo/Next", target: "/demo.Echo/Next", protocolName: "grpc")))
    }

    @Test("trailers that were not captured leave a gRPC status unknown, not UNKNOWN")
    func trailersLost() throws {
        let call = H2.unaryCall(stream: 1, preface: true)
        let trailers = H2.grpcTrailers(stream: 1, status: 0)
        var parser = HTTP2Parser()
        var events: [ParserEvent] = []
        try parser.consume(StreamSegment(bytes: call.request[...]), from: .client, into: &events)
        try parser.consume(StreamSegment(bytes: (H2.grpcResponseHeaders(stream: 1) + H2.data(stream: 1, H2.message(2)))[...]),
                           from: .server, into: &events)
        try parser.consume(StreamSegment(bytes: trailers.prefix(12), missing: UInt64(trailers.count - 12)), from: .server, into: &events)
        #expect(events.contains { if case .responseEnded(1, _, _) = $0 { true } else { false } })
        #expect(!events.contains { if case .outcome = $0 { true } else { false } })
    }

    @Test("missing bytes past the frame in progress hide frame headers: frames resume at the next segment that starts with one")
    func framingResumes() throws {
        var parser = HTTP2Parser()
        var events: [ParserEvent] = []
        for id: UInt32 in [1, 3] {
            try parser.consume(StreamSegment(bytes: H2.unaryCall(stream: id, preface: id == 1).request[...]), from: .client, into: &events)
        }
        let lost = H2.unaryCall(stream: 1).response
        try parser.consume(StreamSegment(bytes: lost.prefix(20), missing: UInt64(lost.count - 20)), from: .server, into: &events)
        // A segment from inside a frame is not taken for frames; the next whole one is.
        try parser.consume(StreamSegment(bytes: H2.message(50)[...]), from: .server, into: &events)
        try parser.consume(StreamSegment(bytes: H2.unaryCall(stream: 3).response[...]), from: .server, into: &events)
        let ended = events.compactMap { if case .responseEnded(let e, _, _) = $0 { e } else { nil } }
        #expect(ended == [3])
        #expect(events.contains(.outcome(exchange: 3, status: 0, outcome: .ok)))
    }

    @Test("a connection's frames are not HTTP/2 when their headers break the framing rules", arguments: [
        [UInt8](repeating: 0, count: 24), Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8), H2.frame(1, stream: 0, [0x82]),
        H2.frame(4, stream: 3, []), H2.headers(stream: 2, H2.indexed(2)), H2.headers(stream: 1, H2.indexed(20)),
    ])
    func notDetected(_ bytes: [UInt8]) {
        #expect(HTTP2Parser.detect(bytes[...]) == .notThisProtocol)
    }
}

@Suite("Analyzer: HTTP/2")
struct AnalyzerHTTP2Tests {
    @Test("both ends' views pair by stream id, whatever order the streams end in")
    func bothEndsByStream() {
        let client = TracedSocket.client(), server = TracedSocket.server()
        var request = H2.preface
        for id: UInt32 in [1, 3] { request += H2.grpcRequest(stream: id, path: "/demo.Echo/N\(id)") + H2.data(stream: id, endStream: true, H2.message(2)) }
        let r3 = H2.unaryCall(stream: 3, path: "/demo.Echo/N3").response
        let r1 = H2.unaryCall(stream: 1, path: "/demo.Echo/N1", status: 13).response
        let (records, analyzer) = analyze([
            client.open(at: 1), server.open(at: 2),
            client.data(.egress, request, enter: 10, exit: 11),
            server.data(.ingress, request, enter: 12, exit: 13),
            server.data(.egress, r3, enter: 20, exit: 21),
            server.data(.egress, r1, enter: 30, exit: 31),
            client.data(.ingress, r3, enter: 22, exit: 23),
            client.data(.ingress, r1, enter: 32, exit: 33),
            client.close(at: 40), server.close(at: 41),
        ])
        #expect(analyzer.counters.mergedRecords == 2)
        let byPath = Dictionary(uniqueKeysWithValues: records.map { ($0.target ?? "", $0) })
        #expect(records.allSatisfy { $0.side == .both && $0.protocolName == "grpc" })
        #expect(byPath["/demo.Echo/N3"]?.status == 0 && byPath["/demo.Echo/N3"]?.outcome == .ok)
        #expect(byPath["/demo.Echo/N1"]?.status == 13 && byPath["/demo.Echo/N1"]?.outcome == .serverError)
        #expect(byPath["/demo.Echo/N1"]?.duration == 33 - 10 && byPath["/demo.Echo/N1"]?.serverTime == 31 - 13)
        #expect(byPath["/demo.Echo/N3"]?.requestMessages == 1 && byPath["/demo.Echo/N3"]?.responseMessages == 1)
        #expect(byPath["/demo.Echo/N3"]?.firstResponse == 23 - 10)
        #expect(byPath["/demo.Echo/N3"]?.attributes["http2.stream_id"] == "3")
    }

    @Test("Upgrade: h2c hands the connection from HTTP/1.1 to HTTP/2, bytes after the 101 included")
    func h2cUpgrade() {
        let client = TracedSocket.client()
        let upgrade = "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n"
        let switching = Array("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n".utf8)
            + H2.settings() + H2.headers(stream: 1, endStream: true, H2.indexed(8))
        let next = H2.preface + H2.settings() + H2.headers(stream: 3, endStream: true, H2.indexed(2) + H2.indexed(6) + H2.literal(":path", "/b"))
        let answer = H2.headers(stream: 3, endStream: true, H2.indexed(8))
        let (records, analyzer) = analyze([
            client.write(upgrade, enter: 1, exit: 2),
            client.data(.ingress, switching, enter: 3, exit: 4),
            client.data(.egress, next, enter: 5, exit: 6),
            client.data(.ingress, answer, enter: 7, exit: 8),
            client.close(at: 9),
        ])
        #expect(records.map { "\($0.protocolName) \($0.method ?? "-") \($0.target ?? "-") \($0.status ?? 0)" }
                == ["http/1.1 GET / 101", "h2 GET /b 200"])
        #expect(analyzer.counters.protocolSwitches == 1 && analyzer.counters.malformed == 0)
    }
}
