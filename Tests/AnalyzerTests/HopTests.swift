@testable import Analyzer
import Events
import Testing

@Suite("Hops and parent links")
struct HopTests {
    /// api (pid 2000) serves a request from an untraced gateway...
    let upstream = TracedSocket.server(container: "api", remote: Endpoint(address: IPAddress("10.0.0.9")!, port: 50000))
    /// ...and calls the database from the same process while serving it.
    func downstream(id: UInt64, port: UInt16, pid: UInt32 = 2000, tid: UInt32? = nil) -> TracedSocket {
        TracedSocket.client(id: id, netns: 200, pid: pid, tid: tid, comm: "api", container: "api",
                            local: Endpoint(address: IPAddress("10.0.0.2")!, port: port),
                            remote: Endpoint(address: IPAddress("10.0.0.3")!, port: 5432))
    }

    @Test("requests made while serving another are its children; self time excludes waiting on them")
    func parentAndSelfTime() {
        let db1 = downstream(id: 3, port: 51000)
        let db2 = downstream(id: 4, port: 51001)
        let (records, _) = analyze([
            upstream.read("GET /order HTTP/1.1\r\n\r\n", enter: 0, exit: 1_000),
            db1.write("GET /stock HTTP/1.1\r\n\r\n", enter: 2_000, exit: 2_010),
            db1.read("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 2_020, exit: 5_000),
            db2.write("GET /price HTTP/1.1\r\n\r\n", enter: 5_500, exit: 5_510),
            db2.read("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 5_520, exit: 6_500),
            upstream.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 8_000, exit: 9_000),
        ])
        #expect(records.map(\.target) == ["/stock", "/price", "/order"])
        #expect(records.map(\.parent) == [1, 1, nil])
        #expect(records.map(\.id) == [2, 3, 1])
        #expect(records[2].duration == 8_000 && records[2].childWait == 4_000 && records[2].selfTime == 4_000)
        #expect(records[0].hop == "api→?")
    }

    @Test("children called in parallel count their overlap once")
    func parallelChildren() {
        let db1 = downstream(id: 3, port: 51000)
        let db2 = downstream(id: 4, port: 51001)
        let (records, _) = analyze([
            upstream.read("GET /order HTTP/1.1\r\n\r\n", enter: 0, exit: 1_000),
            db1.write("GET /a HTTP/1.1\r\n\r\n", enter: 2_000, exit: 2_010),
            db2.write("GET /b HTTP/1.1\r\n\r\n", enter: 3_000, exit: 3_010),
            db1.read("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 2_020, exit: 5_000),
            db2.read("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 3_020, exit: 6_000),
            upstream.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 8_000, exit: 9_000),
        ])
        #expect(records.last?.childWait == 4_000 && records.last?.selfTime == 4_000)
    }

    @Test("requests by another process, or after the response began, have no parent")
    func notChildren() {
        let otherProcess = downstream(id: 3, port: 51000, pid: 3000)
        let late = downstream(id: 4, port: 51001)
        let (records, _) = analyze([
            upstream.read("GET /order HTTP/1.1\r\n\r\n", enter: 0, exit: 1_000),
            otherProcess.write("GET /x HTTP/1.1\r\n\r\n", enter: 2_000, exit: 2_010),
            otherProcess.read("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 2_020, exit: 3_000),
            upstream.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", enter: 4_000, exit: 4_100),
            late.write("GET /y HTTP/1.1\r\n\r\n", enter: 4_200, exit: 4_210),
            late.read("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 4_220, exit: 4_500),
            upstream.write("hello", enter: 5_000, exit: 5_100),
        ])
        #expect(records.map(\.target) == ["/x", "/y", "/order"])
        #expect(records.map(\.parent) == [nil, nil, nil])
        #expect(records.last?.childWait == 0)
    }

    @Test("with several requests being served, the calling thread's is the parent")
    func sameThread() {
        let upstream2 = TracedSocket.server(id: 5, tid: 2002, remote: Endpoint(address: IPAddress("10.0.0.9")!, port: 50001))
        let first = TracedSocket.server(id: 2, tid: 2001, remote: Endpoint(address: IPAddress("10.0.0.9")!, port: 50000))
        let db = downstream(id: 3, port: 51000, tid: 2001)
        let (records, _) = analyze([
            first.read("GET /one HTTP/1.1\r\n\r\n", enter: 0, exit: 1_000),
            upstream2.read("GET /two HTTP/1.1\r\n\r\n", enter: 0, exit: 1_500),
            db.write("GET /db HTTP/1.1\r\n\r\n", enter: 2_000, exit: 2_010),
            db.read("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 2_020, exit: 3_000),
        ])
        #expect(records.first { $0.target == "/db" }?.parent == 1)
    }

    @Test("a merged hop keeps the server's id, which its children name as parent")
    func mergedParent() {
        let gateway = TracedSocket.client(id: 1, netns: 100, pid: 1000, comm: "gw", container: "gw",
                                          remote: TracedSocket.serverEndpoint)
        let api = TracedSocket.server(id: 2, netns: 200, pid: 2000, container: "api")
        let db = downstream(id: 3, port: 51000)
        let (records, _) = analyze([
            gateway.write("GET /order HTTP/1.1\r\n\r\n", enter: 500, exit: 510),
            api.read("GET /order HTTP/1.1\r\n\r\n", enter: 0, exit: 1_000),
            db.write("GET /stock HTTP/1.1\r\n\r\n", enter: 2_000, exit: 2_010),
            db.read("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 2_020, exit: 5_000),
            api.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 8_000, exit: 9_000),
            gateway.read("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 520, exit: 9_500),
        ])
        #expect(records.map(\.target) == ["/stock", "/order"])
        #expect(records.map(\.side) == [.client, .both])
        #expect(records[0].parent == records[1].id && records[1].id == 2)
        #expect(records[1].hop == "gw→api" && records[1].selfTime == 9_000 - 3_000)
        #expect(records[1].start == 500 && records[1].serverStart == 1_000 && records[1].serverTime == 8_000)
    }

    @Test("with no process known (pid 0, as from a capture file), no request is another's child")
    func unknownProcessHasNoChildren() {
        let served = TracedSocket.server(id: 2, pid: 0, remote: Endpoint(address: IPAddress("10.0.0.9")!, port: 50000))
        let call = downstream(id: 3, port: 51000, pid: 0)
        let (records, _) = analyze([
            served.read("GET /order HTTP/1.1\r\n\r\n", enter: 0, exit: 1_000),
            call.write("GET /stock HTTP/1.1\r\n\r\n", enter: 2_000, exit: 2_010),
            call.read("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 2_020, exit: 5_000),
            served.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 8_000, exit: 9_000),
        ])
        #expect(records.map(\.target) == ["/stock", "/order"])
        #expect(records.map(\.parent) == [nil, nil])
        #expect(records[1].childWait == 0)
    }
}
