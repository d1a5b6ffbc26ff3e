@testable import Analyzer
import Events
import Testing

@Suite("Both ends merged")
struct BothEndsMergerTests {
    let client = TracedSocket.client()
    let server = TracedSocket.server()

    @Test("client and server views of one exchange become one record with server and network time")
    func merged() {
        var analyzer = Analyzer()
        var emitted: [[RequestRecord]] = []
        for event in [
            client.write("GET /q HTTP/1.1\r\n\r\n", enter: 1_000, exit: 1_100),
            server.read("GET /q HTTP/1.1\r\n\r\n", enter: 500, exit: 1_500),
            server.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", enter: 2_000, exit: 2_100),
            client.read("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", enter: 1_200, exit: 2_600),
        ] {
            emitted.append(analyzer.process(event))
        }
        // The server's view waits for the client's instead of being emitted alone.
        #expect(emitted.map(\.count) == [0, 0, 0, 1])
        #expect(analyzer.finish().isEmpty)
        #expect(analyzer.counters.mergedRecords == 1)
        #expect(emitted[3][0].json == #"{"id":2,"start":"1970-01-01T00:00:00.000001000Z","duration_ms":0.0016,"protocol":"http/1.1","method":"GET","target":"/q","status":200,"request_bytes":19,"response_bytes":40,"client":{"ip":"10.0.0.1","port":40000,"pid":1000,"comm":"curl","container":"app","container_id":null},"server":{"ip":"10.0.0.2","port":8080,"pid":2000,"comm":"api","container":"api","container_id":null},"side":"both","network_ms":0.001,"server_ms":0.0006,"retransmits":0,"hop":"app→api","parent":null,"outcome":"ok"}"#)
    }

    @Test("several exchanges on a keep-alive connection pair in order")
    func pairsInOrder() {
        var events: [ProbeEvent] = []
        for (i, path) in ["/1", "/2", "/3"].enumerated() {
            let t = UInt64(i) * 10_000
            let request = "GET \(path) HTTP/1.1\r\n\r\n"
            let response = "HTTP/1.1 200 OK\r\nContent-Length: \(i)\r\n\r\n" + String(repeating: "x", count: i)
            events += [
                client.write(request, enter: t + 100, exit: t + 110),
                server.read(request, enter: t, exit: t + 200),
                server.write(response, enter: t + 300, exit: t + 300 + UInt64(i) * 100),
                client.read(response, enter: t + 120, exit: t + 1_000),
            ]
        }
        let (records, analyzer) = analyze(events)
        #expect(records.map(\.side) == [.both, .both, .both])
        #expect(records.map(\.target) == ["/1", "/2", "/3"])
        #expect(records.map(\.serverTime) == [100, 200, 300])
        #expect(records.map(\.network) == [800, 700, 600])
        #expect(analyzer.counters.viewsUnmatched == 0)
    }

    @Test("server time longer than the client's duration clamps network time to zero and counts it")
    func clamped() {
        let (records, analyzer) = analyze([
            client.write("GET /q HTTP/1.1\r\n\r\n", enter: 1_000, exit: 1_100),
            server.read("GET /q HTTP/1.1\r\n\r\n", enter: 500, exit: 1_500),
            server.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 2_000, exit: 3_000),
            client.read("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 1_200, exit: 2_000),
        ])
        #expect(records.count == 1)
        #expect(records.first?.network == 0 && records.first?.serverTime == 1_500 && records.first?.duration == 1_000)
        #expect(analyzer.counters.networkTimeClamped == 1)
    }

    @Test("with only the server traced, its view is emitted at once, with server time and no network time")
    func serverOnly() {
        var analyzer = Analyzer()
        _ = analyzer.process(server.read("GET /q HTTP/1.1\r\n\r\n", enter: 500, exit: 1_500))
        let records = analyzer.process(server.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 2_000, exit: 2_100))
        #expect(records.map(\.side) == [.server])
        #expect(records.first?.serverTime == 600 && records.first?.network == nil)
    }

    @Test("a held view is released alone when the other end closes without its view")
    func releasedAtClose() {
        var analyzer = Analyzer()
        _ = analyzer.process(client.write("GET /q HTTP/1.1\r\n\r\n", enter: 1_000, exit: 1_100))
        _ = analyzer.process(server.read("GET /q HTTP/1.1\r\n\r\n", enter: 500, exit: 1_500))
        #expect(analyzer.process(server.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 2_000, exit: 2_100)).isEmpty)
        // The client gives up before reading: its exchange is incomplete, and the views still pair.
        let records = analyzer.process(client.close(at: 3_000))
        #expect(records.map(\.side) == [.both])
        #expect(records.first?.isComplete == false && records.first?.status == 200)
        #expect(analyzer.openConnections == 1)
    }

    @Test("views that disagree on the request are not merged")
    func mismatch() {
        let (records, analyzer) = analyze([
            client.write("GET /a HTTP/1.1\r\n\r\n", enter: 1_000, exit: 1_100),
            server.read("GET /b HTTP/1.1\r\n\r\n", enter: 500, exit: 1_500),
            server.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 2_000, exit: 2_100),
            client.read("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 1_200, exit: 2_600),
        ])
        #expect(records.map(\.side) == [.server, .client])
        // The client's view waits for a later server view until the run ends.
        #expect(analyzer.counters.mergedRecords == 0 && analyzer.counters.viewsUnmatched == 2)
    }

    @Test("a view waits at most the merge window for the other end")
    func mergeWindow() {
        var analyzer = Analyzer(configuration: AnalyzerConfiguration(mergeWindow: 1_000, sweepInterval: 10))
        _ = analyzer.process(client.write("GET /q HTTP/1.1\r\n\r\n", enter: 1_000, exit: 1_100))
        _ = analyzer.process(server.read("GET /q HTTP/1.1\r\n\r\n", enter: 500, exit: 1_500))
        #expect(analyzer.process(server.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 2_000, exit: 2_100)).isEmpty)
        let other = TracedSocket.client(id: 7, local: Endpoint(address: IPAddress("10.0.0.1")!, port: 40001))
        let records = analyzer.process(other.write("GET / HTTP/1.1\r\n\r\n", enter: 5_000, exit: 5_001))
        #expect(records.map(\.side) == [.server])
    }
}
