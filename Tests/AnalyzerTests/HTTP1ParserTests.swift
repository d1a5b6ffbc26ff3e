@testable import Analyzer
import Testing

/// Feeds (sender, segment) pairs to `parser` (a fresh HTTP/1 one by default) and returns what it
/// found, up to the first error; then tells it `finish`'s senders closed.
func parse(_ segments: [(Sender, StreamSegment)], with parser: any ProtocolParser = HTTP1Parser(), finish: [Sender] = [])
    -> (events: [ParserEvent], error: ProtocolParseError?) {
    var parser = parser
    var events: [ParserEvent] = []
    for (sender, segment) in segments {
        do {
            try parser.consume(segment, from: sender, into: &events)
        } catch {
            return (events, error)
        }
    }
    for sender in finish { parser.finish(sender, into: &events) }
    return (events, nil)
}

func client(_ text: String, missing: UInt64 = 0) -> (Sender, StreamSegment) { (.client, StreamSegment(text, missing: missing)) }
func server(_ text: String, missing: UInt64 = 0) -> (Sender, StreamSegment) { (.server, StreamSegment(text, missing: missing)) }

@Suite("HTTP/1 parser")
struct HTTP1ParserTests {
    @Test("a GET and its Content-Length response are one exchange with exact byte counts")
    func simpleExchange() {
        let request = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"
        let response = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
        let result = parse([client(request), server(response)])
        #expect(result.error == nil)
        #expect(result.events == [
            .requestBegan(exchange: 0),
            .requestHead(exchange: 0, method: "GET", target: "/metrics", protocolName: "http/1.1"),
            .requestEnded(exchange: 0, bytes: UInt64(request.utf8.count), at: .currentSegment),
            .responseBegan(exchange: 0),
            .responseHead(exchange: 0, status: 200),
            .responseEnded(exchange: 0, bytes: UInt64(response.utf8.count), at: .currentSegment),
        ])
    }

    @Test("header names are case-insensitive")
    func caseInsensitiveHeaders() {
        let request = "POST /a HTTP/1.1\r\ncOnTeNt-LeNgTh: 3\r\n\r\nabc"
        let response = "HTTP/1.1 201 Created\r\nTRANSFER-ENCODING: Chunked\r\n\r\n0\r\n\r\n"
        let result = parse([client(request), server(response)])
        #expect(result.error == nil)
        #expect(result.events.contains(.requestEnded(exchange: 0, bytes: UInt64(request.utf8.count), at: .currentSegment)))
        #expect(result.events.last == .responseEnded(exchange: 0, bytes: UInt64(response.utf8.count), at: .currentSegment))
    }

    @Test("a chunked body with trailers ends after the trailers")
    func chunkedWithTrailers() {
        let response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: 1\r\n\r\n"
        let result = parse([client("GET / HTTP/1.1\r\n\r\n"), server(response)])
        #expect(result.error == nil)
        #expect(result.events.last == .responseEnded(exchange: 0, bytes: UInt64(response.utf8.count), at: .currentSegment))
    }

    @Test("chunk sizes and the final CRLF split across reads keep the framing")
    func chunkSizeSplit() {
        let result = parse([client("GET / HTTP/1.1\r\n\r\n"),
                            server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1"),
                            server("0\r"), server("\n0123456789abcdef\r"), server("\n0"), server("\r\n\r"), server("\n")])
        let body = "10\r\n0123456789abcdef\r\n0\r\n\r\n"
        #expect(result.error == nil)
        #expect(result.events.last == .responseEnded(exchange: 0, bytes: UInt64(47 + body.utf8.count), at: .currentSegment))
        #expect(result.events.filter { if case .responseEnded = $0 { true } else { false } }.count == 1)
    }

    @Test("a response to HEAD has no body despite its Content-Length")
    func headResponse() {
        let result = parse([client("HEAD /big HTTP/1.1\r\n\r\nGET /small HTTP/1.1\r\n\r\n"),
                            server("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")])
        #expect(result.error == nil)
        #expect(result.events.filter { if case .responseEnded = $0 { true } else { false } } == [
            .responseEnded(exchange: 0, bytes: 41, at: .currentSegment), // 17 + 22 + 2, no body
            .responseEnded(exchange: 1, bytes: 40, at: .currentSegment),
        ])
    }

    @Test("204 and 304 responses have no body")
    func noBodyStatuses() {
        let result = parse([client("DELETE /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"),
                            server("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"),
                            server("HTTP/1.1 304 Not Modified\r\n\r\n")])
        #expect(result.error == nil)
        #expect(result.events.suffix(3) == [
            .responseBegan(exchange: 1),
            .responseHead(exchange: 1, status: 304),
            .responseEnded(exchange: 1, bytes: 29, at: .currentSegment),
        ])
    }

    @Test("100-continue: the interim response is counted and the final one ends the exchange")
    func expectContinue() {
        let result = parse([client("PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"),
                            server("HTTP/1.1 100 Continue\r\n\r\n"),
                            client("data"),
                            server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")])
        #expect(result.error == nil)
        #expect(result.events == [
            .requestBegan(exchange: 0),
            .requestHead(exchange: 0, method: "PUT", target: "/x", protocolName: "http/1.1"),
            .responseBegan(exchange: 0),
            .interimResponse(exchange: 0),
            .requestEnded(exchange: 0, bytes: 64, at: .currentSegment), // 17 + 22 + 19 + 2 + 4
            .responseBegan(exchange: 0),
            .responseHead(exchange: 0, status: 200),
            .responseEnded(exchange: 0, bytes: UInt64(25 + 38), at: .currentSegment), // interim + final
        ])
    }

    @Test("a final status to Expect: 100-continue lets the client skip the body")
    func expectContinueRefused() {
        let result = parse([client("PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"),
                            server("HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n"),
                            client("GET /y HTTP/1.1\r\n\r\n")])
        #expect(result.error == nil)
        #expect(result.events.suffix(5) == [
            .responseEnded(exchange: 0, bytes: 54, at: .currentSegment),
            .requestEnded(exchange: 0, bytes: 60, at: .previousSegment),
            .requestBegan(exchange: 1),
            .requestHead(exchange: 1, method: "GET", target: "/y", protocolName: "http/1.1"),
            .requestEnded(exchange: 1, bytes: 19, at: .currentSegment),
        ])
    }

    @Test("a response without a length ends when the server closes")
    func untilClose() {
        let result = parse([client("GET / HTTP/1.0\r\n\r\n"), server("HTTP/1.0 200 OK\r\n\r\nab"), server("cd")],
                           finish: [.server])
        #expect(result.error == nil)
        #expect(result.events.last == .responseEnded(exchange: 0, bytes: 23, at: .previousSegment))
        #expect(result.events.contains(.requestHead(exchange: 0, method: "GET", target: "/", protocolName: "http/1.0")))
    }

    @Test("pipelined requests pair with responses in order")
    func pipelining() {
        let result = parse([client("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n"),
                            server("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
                            server("HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n")])
        #expect(result.error == nil)
        let heads = result.events.compactMap { e -> [Int]? in
            if case .responseHead(let x, let s) = e { [Int(x), s] } else { nil }
        }
        #expect(heads == [[0, 200], [1, 404], [2, 500]])
    }

    @Test("uncaptured Content-Length body bytes are skipped by count")
    func truncatedContentLength() {
        let result = parse([client("GET / HTTP/1.1\r\n\r\n"),
                            server("HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\nabc", missing: 9997),
                            client("GET /next HTTP/1.1\r\n\r\n"),
                            server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")])
        #expect(result.error == nil)
        #expect(result.events.filter { if case .responseEnded = $0 { true } else { false } } == [
            .responseEnded(exchange: 0, bytes: 10042, at: .currentSegment), // 42-byte head + body
            .responseEnded(exchange: 1, bytes: 38, at: .currentSegment),
        ])
    }

    @Test("uncaptured chunk data is skipped by count when the chunk size was seen")
    func truncatedChunkData() {
        let result = parse([client("GET / HTTP/1.1\r\n\r\n"),
                            server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\nxyz", missing: 4093),
                            server("\r\n0\r\n\r\n")])
        #expect(result.error == nil)
        #expect(result.events.last == .responseEnded(exchange: 0, bytes: UInt64(47 + 6 + 4096 + 7), at: .currentSegment))
    }

    @Test("when chunk sizes fall in uncaptured bytes, the last chunk marks the end")
    func chunkFramingLostLastChunk() {
        let result = parse([client("GET / HTTP/1.1\r\n\r\n"),
                            server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123", missing: 5000),
                            server("more body", missing: 100),
                            server("\r\n0\r\n\r\n")])
        #expect(result.error == nil)
        #expect(result.events.last == .responseEnded(exchange: 0, bytes: UInt64(47 + 8 + 5000 + 109 + 7), at: .currentSegment))
    }

    @Test("when chunk sizes fall in uncaptured bytes, the next request ends the response")
    func chunkFramingLostNextRequest() {
        let result = parse([client("GET / HTTP/1.1\r\n\r\n"),
                            server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123", missing: 5000),
                            client("GET /2 HTTP/1.1\r\n\r\n")])
        #expect(result.error == nil)
        #expect(result.events.suffix(4) == [
            .responseEnded(exchange: 0, bytes: UInt64(47 + 8 + 5000), at: .previousSegment),
            .requestBegan(exchange: 1),
            .requestHead(exchange: 1, method: "GET", target: "/2", protocolName: "http/1.1"),
            .requestEnded(exchange: 1, bytes: 19, at: .currentSegment),
        ])
    }

    @Test("an uncaptured head loses framing")
    func headGap() {
        let result = parse([client("GET / HTTP/1.1\r\nHost: a", missing: 100)])
        #expect(result.error == .framingLost)
    }

    @Test("101 Switching Protocols ends the exchange, stops HTTP parsing, and hands on the new protocol's bytes")
    func upgrade() {
        let result = parse([client("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"),
                            server("HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n\r\nhello")])
        #expect(result.error == .protocolSwitched(to: "websocket", remaining: StreamSegment("hello")))
        #expect(result.events.last == .responseEnded(exchange: 0, bytes: 56, at: .currentSegment))
    }

    @Test("malformed input throws instead of trapping", arguments: [
        "GET / HTTP/9.9\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab",
        "GET / HTTP/1.1\r\nno colon here\r\n\r\n",
        "G\u{0}T / HTTP/1.1\r\n\r\n",
    ])
    func malformed(_ request: String) {
        let result = parse([client(request)])
        guard case .malformed = result.error else {
            Issue.record("expected malformed, got \(String(describing: result.error))"); return
        }
    }

    @Test("a malformed head is the same error whether it arrives whole or a byte at a time", arguments: [
        "GET / HTTP/9.9\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "GET / HTTP/1.1\r\nno colon here\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\n: empty name\r\n\r\n",
    ])
    func malformedWholeOrSplit(_ request: String) {
        let whole = parse([client(request)])
        let split = parse(request.utf8.map { client(String(decoding: [$0], as: UTF8.self)) })
        #expect(whole.error != nil)
        #expect(whole.error == split.error)
        #expect(whole.events == split.events)
    }

    @Test("heads repeated on a keep-alive connection read as when each arrives a byte at a time")
    func repeatedHeads() {
        // The same request and response heads again, then heads that begin with
        // the same bytes but go on differently, then a HEAD answered by the same head.
        let get = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
        let withBody = "GET /a HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok"
        let head = "HEAD /a HTTP/1.1\r\nHost: a\r\n\r\n"
        let ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
        let longer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX: 1\r\n\r\nhi"
        let messages = [client(get), server(ok + "ok"), client(get), server(ok + "ok"), client(withBody),
                        server(longer), client(head), server(ok), client(get), server(ok + "ok")]
        let whole = parse(messages)
        let split = parse(messages.flatMap { sender, segment in
            segment.bytes.map { (sender, StreamSegment(bytes: [$0][...])) }
        })
        #expect(whole.error == nil)
        #expect(whole.events == split.events)
        #expect(whole.events.filter { if case .responseEnded = $0 { true } else { false } } == [
            .responseEnded(exchange: 0, bytes: 40, at: .currentSegment),
            .responseEnded(exchange: 1, bytes: 40, at: .currentSegment),
            .responseEnded(exchange: 2, bytes: 46, at: .currentSegment),
            .responseEnded(exchange: 3, bytes: 38, at: .currentSegment), // the response to HEAD has no body
            .responseEnded(exchange: 4, bytes: 40, at: .currentSegment),
        ])
    }

    @Test("a head not yet ended is not judged: a bad line is an error only once the head is complete")
    func headJudgedWhenComplete() {
        let partial = parse([client("GET / HTTP/1.1\r\nno colon")])
        #expect(partial.error == nil)
        #expect(partial.events == [.requestBegan(exchange: 0)])
        let complete = parse([client("GET / HTTP/1.1\r\nno colon"), client(" here\r\n\r\n")])
        #expect(complete.error == .malformed("header line without a name"))
        // A whole bad line, the head still open: not judged until its blank line comes.
        let lineDone = parse([client("GET / HTTP/1.1\r\nno colon\r\n")])
        #expect(lineDone.error == nil)
        #expect(lineDone.events == [.requestBegan(exchange: 0)])
        let headDone = parse([client("GET / HTTP/1.1\r\nno colon\r\n"), client("\r\n")])
        #expect(headDone.error == .malformed("header line without a name"))
    }

    @Test("a head beyond the size bound in one segment is malformed")
    func headBoundInOneSegment() {
        let header = "X-Pad: " + String(repeating: "a", count: 1000) + "\r\n"
        let result = parse([client("GET / HTTP/1.1\r\n" + String(repeating: header, count: 70) + "\r\n")])
        #expect(result.error == .malformed("head longer than 65536 bytes"))
    }

    @Test("a response nobody asked for is malformed")
    func unsolicitedResponse() {
        #expect(parse([server("HTTP/1.1 408 Request Timeout\r\n\r\n")]).error == .malformed("response without a request"))
    }

    @Test("a head beyond the size bound is malformed, not buffered forever")
    func headBound() {
        let header = "X-Pad: " + String(repeating: "a", count: 1000) + "\r\n"
        let result = parse([client("GET / HTTP/1.1\r\n")] + Array(repeating: client(header), count: 70))
        #expect(result.error == .malformed("head longer than 65536 bytes"))
    }

    @Test("detection recognizes methods and status lines from their first bytes")
    func detection() {
        #expect(HTTP1Parser.detect(Array("GET / HTTP/1.1".utf8)[...]) == .request)
        #expect(HTTP1Parser.detect(Array("PATCH ".utf8)[...]) == .request)
        #expect(HTTP1Parser.detect(Array("HTTP/1.1 200".utf8)[...]) == .response)
        #expect(HTTP1Parser.detect(Array("HTT".utf8)[...]) == .needMoreBytes)
        #expect(HTTP1Parser.detect(Array("PO".utf8)[...]) == .needMoreBytes)
        #expect(HTTP1Parser.detect([0x16, 0x03, 0x01][...]) == .notThisProtocol)
        #expect(HTTP1Parser.detect(Array("GETX".utf8)[...]) == .notThisProtocol)
    }
}
