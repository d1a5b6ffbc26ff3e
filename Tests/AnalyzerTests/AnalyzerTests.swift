@testable import Analyzer
import Events
import Testing

@Suite("Analyzer: one end")
struct AnalyzerTests {
    let client = TracedSocket.client()
    let server = TracedSocket.server()

    @Test("a record's end carries its container's name and, apart, its id")
    func containerID() {
        var named = client
        named.container = "vector-agent-1"
        named.containerID = "3f2a9c1b7d4e"
        let (records, _) = analyze([
            named.write("GET /metrics HTTP/1.1\r\nHost: api\r\n\r\n", enter: 1_000, exit: 1_200),
            named.read("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 1_300, exit: 5_000),
        ])
        #expect(records.count == 1)
        #expect(records.first?.client.container == "vector-agent-1" && records.first?.client.containerID == "3f2a9c1b7d4e")
        #expect(records.first?.json.contains(#""container":"vector-agent-1","container_id":"3f2a9c1b7d4e""#) == true)
    }

    @Test("the client's view runs from entering the request's write to leaving the response's last read")
    func clientTiming() {
        let (records, analyzer) = analyze([
            client.write("GET /metrics HTTP/1.1\r\nHost: api\r\n\r\n", enter: 1_000, exit: 1_200),
            client.read("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n", enter: 1_300, exit: 5_000),
            client.read("body", enter: 5_100, exit: 7_500),
        ])
        #expect(records.count == 1)
        let r = records[0]
        #expect(r.start == 1_000 && r.duration == 6_500)
        #expect(r.side == .client && r.serverTime == nil && r.network == nil && r.isComplete)
        #expect(analyzer.counters.records == 1 && analyzer.counters.incompleteRecords == 0)
        #expect(r.json == #"{"id":1,"start":"1970-01-01T00:00:00.000001000Z","duration_ms":0.0065,"protocol":"http/1.1","method":"GET","target":"/metrics","status":200,"request_bytes":36,"response_bytes":42,"client":{"ip":"10.0.0.1","port":40000,"pid":1000,"comm":"curl","container":"app","container_id":null},"server":{"ip":"10.0.0.2","port":8080,"pid":null,"comm":null,"container":null,"container_id":null},"side":"client","network_ms":null,"server_ms":null,"retransmits":0,"hop":"app→?","parent":null,"outcome":"ok"}"#)
    }

    @Test("the server's view runs from the read that returned the request to the write of the response's last byte")
    func serverTiming() {
        let (records, _) = analyze([
            server.read("POST /push HTTP/1.1\r\nContent-Length: 3\r\n\r\n", enter: 100, exit: 2_000),
            server.read("abc", enter: 2_100, exit: 2_200),
            server.write("HTTP/1.1 204 No Content\r\n\r\n", enter: 9_000, exit: 9_400),
        ])
        #expect(records.count == 1)
        let r = records[0]
        #expect(r.start == 2_000 && r.duration == 7_400 && r.serverTime == 7_400)
        #expect(r.side == .server && r.status == 204 && r.method == "POST" && r.requestBytes == 45)
        #expect(r.server.pid == 2000 && r.server.comm == "api" && r.client.pid == nil && r.client.ip == "10.0.0.1")
    }

    @Test("the wall-clock offset places start in real time")
    func wallClock() {
        let configuration = AnalyzerConfiguration(wallClock: WallClock(offsetNanoseconds: 1_700_000_000_000_000_000))
        let (records, _) = analyze([
            client.write("GET / HTTP/1.1\r\n\r\n", enter: 123_456_789, exit: 123_456_800),
            client.read("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 123_456_900, exit: 223_456_789),
        ], configuration)
        #expect(records.first?.json.contains(#""start":"2023-11-14T22:13:20.123456789Z","duration_ms":100,"#) == true)
    }

    @Test("with the probe's role unknown, the side sending a request is the client")
    func roleInference() {
        let unknown = TracedSocket.server(role: .unknown)
        let (records, analyzer) = analyze([
            unknown.read("GET /a HTTP/1.1\r\n\r\n", enter: 1, exit: 10),
            unknown.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 20, exit: 30),
        ])
        #expect(records.map(\.side) == [.server])
        #expect(records.first?.duration == 20)
        #expect(analyzer.counters.rolesInferred == 1)
    }

    @Test("keep-alive and pipelined exchanges each get a record, in order")
    func keepAliveAndPipelining() {
        let (records, _) = analyze([
            client.write("GET /1 HTTP/1.1\r\n\r\n", enter: 10, exit: 11),
            client.read("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", enter: 12, exit: 20),
            client.write("GET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n", enter: 30, exit: 31),
            client.read("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\nHTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n",
                        enter: 32, exit: 40),
        ])
        #expect(records.map(\.target) == ["/1", "/2", "/3"])
        #expect(records.map(\.status) == [200, 404, 500])
        #expect(records.map(\.duration) == [10, 10, 10])
        #expect(records.map(\.id) == [1, 2, 3])
    }

    @Test("a Content-Length body longer than the capture is skipped by count and the next request still parses")
    func truncatedContentLength() {
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
        let (records, analyzer) = analyze([
            client.write("GET /big HTTP/1.1\r\n\r\n", enter: 10, exit: 11),
            client.read(head + "first bytes", enter: 12, exit: 20, length: 16_384),
            client.read("more", enter: 21, exit: 30, length: 16_384 * 4),
            client.read("rest", enter: 31, exit: 40, length: UInt64(head.utf8.count) + 100_000 - 16_384 * 5),
            client.write("GET /small HTTP/1.1\r\n\r\n", enter: 50, exit: 51),
            client.read("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", enter: 52, exit: 60),
        ])
        #expect(records.map(\.target) == ["/big", "/small"])
        #expect(records.map(\.responseBytes) == [UInt64(head.utf8.count) + 100_000, 40])
        #expect(records.map(\.duration) == [30, 10])
        #expect(analyzer.counters.malformed == 0 && analyzer.counters.framingLost == 0)
    }

    @Test("a chunked body whose chunk sizes were not captured ends at its visible last chunk")
    func truncatedChunked() {
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        let (records, _) = analyze([
            client.write("GET /stream HTTP/1.1\r\n\r\n", enter: 10, exit: 11),
            client.read(head + "4000\r\nabcd", enter: 12, exit: 20, length: 4096),
            client.read("efgh", enter: 21, exit: 30, length: 30_000),
            client.read("\r\n0\r\n\r\n", enter: 31, exit: 40),
            client.write("GET /next HTTP/1.1\r\n\r\n", enter: 50, exit: 51),
            client.read("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 52, exit: 60),
        ])
        #expect(records.map(\.target) == ["/stream", "/next"])
        #expect(records.map(\.responseBytes) == [4096 + 30_000 + 7, 38])
        #expect(records.map(\.duration) == [30, 10])
    }

    @Test("a chunked body with lost framing and no visible end ends when the next request is sent")
    func truncatedChunkedEndsAtNextRequest() {
        let (records, _) = analyze([
            client.write("GET /stream HTTP/1.1\r\n\r\n", enter: 10, exit: 11),
            client.read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nab", enter: 12, exit: 20, length: 9000),
            client.write("GET /next HTTP/1.1\r\n\r\n", enter: 50, exit: 51),
            client.read("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 52, exit: 60),
        ])
        #expect(records.map(\.target) == ["/stream", "/next"])
        #expect(records.map(\.responseBytes) == [9000, 38])
        #expect(records.map(\.duration) == [10, 10])
    }

    @Test("sendfile bodies (no payload at all) are skipped by count")
    func sendfileBody() {
        let (records, _) = analyze([
            server.read("GET /file HTTP/1.1\r\n\r\n", enter: 1, exit: 10),
            server.write("HTTP/1.1 200 OK\r\nContent-Length: 50000\r\n\r\n", enter: 20, exit: 21),
            server.data(.egress, [], enter: 22, exit: 90, length: 50_000, unavailable: true),
            server.read("GET /again HTTP/1.1\r\n\r\n", enter: 100, exit: 110),
            server.write("HTTP/1.1 304 Not Modified\r\n\r\n", enter: 120, exit: 121),
        ])
        #expect(records.map(\.target) == ["/file", "/again"])
        #expect(records.map(\.duration) == [80, 11])
        #expect(records.first?.responseBytes == 50_042)
    }

    @Test("a response delimited by the close ends at its last read")
    func closeDelimited() {
        let (records, _) = analyze([
            client.write("GET / HTTP/1.0\r\n\r\n", enter: 10, exit: 11),
            client.read("HTTP/1.0 200 OK\r\n\r\nsome", enter: 12, exit: 20),
            client.read("body", enter: 21, exit: 30),
            client.read("", enter: 31, exit: 40),
            client.close(at: 50),
        ])
        #expect(records.count == 1)
        #expect(records.first?.duration == 20 && records.first?.responseBytes == 27 && records.first?.isComplete == true)
        #expect(records.first?.protocolName == "http/1.0")
    }

    @Test("an exchange cut short by the close is emitted with what is known")
    func incompleteAtClose() {
        let (records, analyzer) = analyze([
            client.write("GET /slow HTTP/1.1\r\n\r\n", enter: 10, exit: 11),
            client.read("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", enter: 12, exit: 20),
            client.close(at: 50),
        ])
        #expect(records.count == 1)
        #expect(records.first?.status == 200 && records.first?.isComplete == false && records.first?.duration == 10)
        #expect(analyzer.counters.incompleteRecords == 1)
        #expect(analyzer.openConnections == 0)
    }

    @Test("malformed bytes are counted and parsing resumes at the next request")
    func resync() {
        let (records, analyzer) = analyze([
            server.read("GET / HTTP/1.1\r\nbroken header line\r\n\r\n", enter: 1, exit: 2),
            server.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", enter: 3, exit: 4),
            server.read("GET /ok HTTP/1.1\r\n\r\n", enter: 10, exit: 20),
            server.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 30, exit: 40),
        ])
        #expect(records.map(\.target) == [nil, "/ok"])
        #expect(records.map(\.isComplete) == [false, true])
        #expect(analyzer.counters.malformed == 1 && analyzer.counters.resyncs == 1)
    }

    @Test("a connection that keeps sending garbage is given up")
    func giveUp() {
        var events: [ProbeEvent] = []
        for i in 0..<20 {
            events.append(server.read("GET / HTTP/1.1\r\nx\r\n\r\n", enter: UInt64(i * 10), exit: UInt64(i * 10 + 1)))
        }
        let (records, analyzer) = analyze(events)
        #expect(records.count == 5)
        #expect(analyzer.counters.malformed == 5 && analyzer.counters.connectionsGivenUp == 1)
    }

    @Test("without flows, bytes no protocol recognizes are given up after a few segments")
    func unrecognized() {
        let tls = client.data(.egress, [0x16, 0x03, 0x01, 0x02, 0x00], enter: 1, exit: 2)
        let (records, analyzer) = analyze(Array(repeating: tls, count: 10), AnalyzerConfiguration(unrecognizedAsFlows: false))
        #expect(records.isEmpty && analyzer.counters.connectionsUnrecognized == 1)
    }

    @Test("a TLS handshake seen as ciphertext before the plaintext begins is no tcp turn; a TLS connection never read in plaintext is still a flow")
    func tlsHandshakeBeforePlaintext() {
        let handshake: [(Direction, [UInt8])] = [
            (.egress, [0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00]), // ClientHello
            (.ingress, [0x16, 0x03, 0x03, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00]), // ServerHello
            (.egress, [0x14, 0x03, 0x03, 0x00, 0x01, 0x01]), // ChangeCipherSpec
            (.ingress, [0x14, 0x03, 0x03, 0x00, 0x01, 0x01]),
        ]
        var events = [client.open(at: 1)]
        for (i, (direction, bytes)) in handshake.enumerated() {
            events.append(client.data(direction, bytes, enter: UInt64(10 * i + 2), exit: UInt64(10 * i + 3)))
        }
        func plaintext(_ direction: Direction, _ text: String, at t: UInt64) -> ProbeEvent {
            guard case .data(var data) = client.data(direction, Array(text.utf8), enter: t, exit: t + 1) else { fatalError() }
            data.tls = true
            return .data(data)
        }
        let read = events + [plaintext(.egress, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", at: 100),
                             plaintext(.ingress, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 110), client.close(at: 120)]
        #expect(analyze(read).0.map { "\($0.protocolName) \($0.target ?? "-") \($0.status ?? 0)" } == ["http/1.1 /a 200"])
        // Not read in plaintext: the handshake and the application data that follows are turns.
        let opaque = events + [client.data(.egress, [0x17, 0x03, 0x03, 0x00, 0x01, 0x00], enter: 100, exit: 101),
                               client.data(.ingress, [0x17, 0x03, 0x03, 0x00, 0x01, 0x00], enter: 110, exit: 111), client.close(at: 120)]
        #expect(analyze(opaque).0.map(\.protocolName) == ["tcp", "tcp", "tcp"])
    }

    @Test("a server that speaks first does not make a known protocol a flow: HTTP/2's SETTINGS before the client's preface")
    func serverFirst() {
        let server = TracedSocket.server()
        let call = H2.unaryCall(stream: 1, preface: true)
        let (records, analyzer) = analyze([
            server.open(at: 1), server.data(.egress, H2.settings(), enter: 2, exit: 3),
            server.data(.ingress, call.request, enter: 4, exit: 5), server.data(.egress, call.response, enter: 6, exit: 7),
            server.close(at: 8),
        ])
        #expect(records.map(\.protocolName) == ["grpc"] && analyzer.counters.connectionsAsFlows == 0)
    }

    @Test("a banner before the client's first bytes opens the flow's first turn")
    func bannerFlow() {
        let server = TracedSocket.server()
        let (records, _) = analyze([
            server.open(at: 1), server.write("220 ready\r\n", enter: 2, exit: 3),
            server.read("HELO x\r\n", enter: 4, exit: 5), server.write("250 ok\r\n", enter: 6, exit: 7),
            server.close(at: 8),
        ])
        #expect(records.map(\.protocolName) == ["tcp", "tcp"] && records.map(\.responseBytes) == [11, 8])
    }

    @Test("a connection no protocol recognizes is a tcp flow of turns, timed like requests, from its first byte when seen opening")
    func flowTurns() {
        let server = TracedSocket.server()
        let (records, analyzer) = analyze([
            client.open(at: 1), server.open(at: 1),
            client.write("PING 1\r\n", enter: 10, exit: 11), server.read("PING 1\r\n", enter: 12, exit: 13),
            client.write("PING 2\r\n", enter: 14, exit: 15), server.read("PING 2\r\n", enter: 16, exit: 17),
            server.write("+PONG\r\n", enter: 20, exit: 21), client.read("+PONG\r\n", enter: 22, exit: 23),
            server.write("+PONG\r\n", enter: 24, exit: 25), client.read("+PONG\r\n", enter: 26, exit: 27),
            client.write("QUIT\r\n", enter: 30, exit: 31), server.read("QUIT\r\n", enter: 32, exit: 33),
            server.write("+OK\r\n", enter: 34, exit: 35), client.read("+OK\r\n", enter: 36, exit: 37),
            client.close(at: 40), server.close(at: 41),
        ])
        #expect(analyzer.counters.connectionsAsFlows == 2 && analyzer.counters.mergedRecords == 2)
        #expect(records.map(\.protocolName) == ["tcp", "tcp"])
        #expect(records.allSatisfy { $0.side == .both && $0.hop == "app→api" && $0.method == nil && $0.status == nil })
        // Turn 1: two writes answered by two; turn 2: one and one, its response ended by the close.
        #expect(records.map(\.requestBytes) == [16, 6] && records.map(\.responseBytes) == [14, 5])
        #expect(records.map(\.duration) == [27 - 10, 37 - 30] && records.map(\.serverTime) == [25 - 13, 35 - 33])
        #expect(records.map { $0.attributes["tcp.turn"] } == ["1", "2"])
    }

    @Test("a method split across writes is still recognized")
    func detectionAcrossWrites() {
        let (records, _) = analyze([
            client.write("PO", enter: 5, exit: 6),
            client.write("ST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n", enter: 7, exit: 8),
            client.read("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", enter: 9, exit: 20),
        ])
        #expect(records.count == 1 && records.first?.start == 5 && records.first?.method == "POST")
    }

    @Test("upgraded connections end their exchange and stop being parsed")
    func upgrade() {
        let (records, analyzer) = analyze([
            client.write("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", enter: 1, exit: 2),
            client.read("HTTP/1.1 101 Switching Protocols\r\n\r\n", enter: 3, exit: 10),
            client.read("\u{81}\u{02}hi", enter: 11, exit: 12),
        ])
        #expect(records.map(\.status) == [101])
        #expect(analyzer.counters.protocolSwitches == 1 && analyzer.counters.malformed == 0)
    }

    @Test("idle connections are dropped, so memory follows open connections")
    func idleDrop() {
        var analyzer = Analyzer(configuration: AnalyzerConfiguration(idleTimeout: 1_000, sweepInterval: 100))
        _ = analyzer.process(client.write("GET / HTTP/1.1\r\n\r\n", enter: 1, exit: 2))
        #expect(analyzer.openConnections == 1)
        let other = TracedSocket.client(id: 9, local: Endpoint(address: IPAddress("10.0.0.1")!, port: 40001))
        let records = analyzer.process(other.write("GET / HTTP/1.1\r\n\r\n", enter: 5_000, exit: 5_001))
        #expect(records.count == 1 && records.first?.isComplete == false)
        #expect(analyzer.openConnections == 1 && analyzer.counters.connectionsIdleDropped == 1)
    }

    @Test("a flood of connections past maxConnections evicts the least recently active, counted, with their requests emitted")
    func connectionFlood() {
        var analyzer = Analyzer(configuration: AnalyzerConfiguration(maxConnections: 64))
        var records: [RequestRecord] = []
        for i in 0..<1_000 {
            let socket = TracedSocket.client(id: UInt64(i + 1), local: Endpoint(address: IPAddress("10.0.0.1")!, port: UInt16(20_000 + i)))
            let t = UInt64(i) * 1_000
            analyzer.process(socket.write("GET /\(i) HTTP/1.1\r\n\r\n", enter: t + 1, exit: t + 2), into: &records)
            #expect(analyzer.openConnections <= 64)
        }
        // Each eviction closes an eighth (8) once 64 are held: 1000 - 64 + (at most 8) connections went.
        #expect(analyzer.counters.connectionsEvicted >= 936 && analyzer.counters.connectionsEvicted <= 944)
        #expect(UInt64(analyzer.openConnections) == 1_000 - analyzer.counters.connectionsEvicted)
        #expect(records.count == Int(analyzer.counters.connectionsEvicted), "each evicted request emitted, incomplete")
        #expect(records.allSatisfy { !$0.isComplete } && records.first?.target == "/0", "the oldest first")
    }

    @Test("a copy of an analyzer goes on by itself: what one is given does not change the other")
    func copiesAreIndependent() {
        var original = Analyzer()
        _ = original.process(client.write("GET /a HTTP/1.1\r\n\r\n", enter: 1_000, exit: 1_100))
        var copy = original
        let fromOriginal = original.process(client.read("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 2_000, exit: 3_000))
        let fromCopy = copy.process(client.read("HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n", enter: 2_000, exit: 9_000))
        #expect(fromOriginal.map(\.status) == [200] && fromOriginal.map(\.duration) == [2_000])
        #expect(fromCopy.map(\.status) == [503] && fromCopy.map(\.duration) == [8_000])
    }
}
