@testable import Analyzer
import Events
import Testing

@Suite("Retransmit attribution")
struct RetransmitTests {
    let client = TracedSocket.client()
    let server = TracedSocket.server()

    @Test("retransmits are attributed to the request in flight")
    func inFlight() {
        let (records, analyzer) = analyze([
            client.write("GET /a HTTP/1.1\r\n\r\n", enter: 10, exit: 11),
            client.retransmit(at: 12, segments: 2),
            client.retransmit(at: 13, segments: 1, withID: false),
            client.read("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 14, exit: 20),
            client.write("GET /b HTTP/1.1\r\n\r\n", enter: 30, exit: 31),
            client.read("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 32, exit: 40),
        ])
        #expect(records.map(\.retransmits) == [3, 0])
        #expect(analyzer.counters.retransmittedSegments == 3)
    }

    @Test("retransmits between requests, failed ones and unknown connections are counted apart")
    func outside() {
        let stranger = TracedSocket.client(id: 99, local: Endpoint(address: IPAddress("10.9.9.9")!, port: 1))
        let (records, analyzer) = analyze([
            client.write("GET /a HTTP/1.1\r\n\r\n", enter: 10, exit: 11),
            client.read("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 14, exit: 20),
            client.retransmit(at: 25, segments: 4),
            client.retransmit(at: 26, segments: 1, error: -105),
            stranger.retransmit(at: 27, segments: 2),
        ])
        #expect(records.map(\.retransmits) == [0])
        #expect(analyzer.counters.retransmitsOutsideRequests == 4)
        #expect(analyzer.counters.retransmitsFailed == 1)
        #expect(analyzer.counters.retransmitsUnknownConnection == 2)
        #expect(analyzer.counters.retransmittedSegments == 6)
    }

    @Test("pipelined requests in flight each carry the retransmit; a merged record sums both ends")
    func pipelinedAndMerged() {
        let (records, _) = analyze([
            client.write("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n", enter: 10, exit: 11),
            server.read("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n", enter: 5, exit: 15),
            client.retransmit(at: 16, segments: 1),
            server.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 20, exit: 21),
            server.retransmit(at: 22, segments: 5),
            server.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", enter: 23, exit: 24),
            client.read("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                        enter: 12, exit: 30),
        ])
        // /1: the client's 1 while both were in flight. /2: the client's 1 and the server's 5.
        #expect(records.map(\.target) == ["/1", "/2"])
        #expect(records.map(\.side) == [.both, .both])
        #expect(records.map(\.retransmits) == [1, 6])
    }
}
