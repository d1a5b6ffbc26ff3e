import Analyzer
import CaptureFormats
import Events
import Testing

@Suite("packet annotator")
struct PacketAnnotatorTests {
    let request = Array("GET /metrics HTTP/1.1\r\nHost: lb\r\n\r\n".utf8)
    let response = Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8)

    /// The client's egress copy and the server's ingress copy of each packet, 1 µs apart.
    func exchange(start: Int64) -> [AnnotatedPacket] {
        let clientSide = Fixtures.header(pid: 42, comm: "curl", container: "collector")
        let serverSide = Fixtures.header(pid: 0, comm: "", container: "lb", local: Fixtures.server, remote: Fixtures.client)
        var out: [AnnotatedPacket] = []
        func both(_ bytes: [UInt8], fromClient: Bool, at t: Int64) {
            var a = fromClient ? clientSide : serverSide, b = fromClient ? serverSide : clientSide
            a.timestamp = UInt64(t)
            b.timestamp = UInt64(t + 1000)
            out.append(Fixtures.packet(bytes, direction: .egress, header: a, unix: t))
            out.append(Fixtures.packet(bytes, direction: .ingress, header: b, unix: t + 1000))
        }
        both(Fixtures.tcpPacket(from: Fixtures.client, to: Fixtures.server, flags: 0x02), fromClient: true, at: start - 50_000)
        both(Fixtures.tcpPacket(from: Fixtures.client, to: Fixtures.server, sequence: 1001, payload: request), fromClient: true, at: start + 10_000)
        both(Fixtures.tcpPacket(from: Fixtures.server, to: Fixtures.client, sequence: 5001, payload: response), fromClient: false, at: start + 900_000)
        return out
    }

    @Test("the request's summary goes on the client's first data packet, the response mark on the server's")
    func requestAndResponse() {
        var annotator = PacketAnnotator(hold: 1_000_000_000)
        let start: Int64 = 5_000_000
        for p in exchange(start: start) { #expect(annotator.add(p).isEmpty) }
        annotator.add(RecordFixtures.record(start: start))
        let out = annotator.finish()
        #expect(out.count == 6)
        #expect(out.map { $0.requestStarted != nil } == [false, false, true, false, false, false])
        #expect(out.map { $0.responseStarted != nil } == [false, false, false, false, true, false])
        #expect(annotator.requestsMarked == 1)
    }

    @Test("a socket's owner learnt later names the packets of its handshake")
    func ownerLearntLater() {
        var annotator = PacketAnnotator(hold: 1_000_000_000)
        for p in exchange(start: 5_000_000) { _ = annotator.add(p) }
        annotator.learnOwner(Fixtures.header(pid: 7, comm: "python3", container: "lb", local: Fixtures.server, remote: Fixtures.client))
        let out = annotator.finish()
        let serverSide = out.filter { $0.event.header.tuple.local == Fixtures.server }
        #expect(serverSide.count == 3 && serverSide.allSatisfy { $0.comment.hasPrefix("PID: 7\nCmd: python3\nContainer: lb") })
    }

    @Test("a retransmit marks the last copy of its segment sent before the report")
    func retransmit() {
        var annotator = PacketAnnotator(hold: 1_000_000_000)
        let data = Fixtures.tcpPacket(from: Fixtures.client, to: Fixtures.server, sequence: 1001, payload: request)
        _ = annotator.add(Fixtures.packet(data, header: Fixtures.header(timestamp: 1_000)))
        _ = annotator.add(Fixtures.packet(data, header: Fixtures.header(timestamp: 300_000_000)))
        annotator.add(RetransmitEvent(header: Fixtures.header(timestamp: 300_000_100), segments: 1, sequence: 1001, state: .established, error: 0))
        #expect(annotator.finish().map(\.isRetransmit) == [false, true])
    }

    @Test("packets wait `hold` nanoseconds, then leave in order")
    func hold() {
        var annotator = PacketAnnotator(hold: 100)
        let bytes = Fixtures.tcpPacket(from: Fixtures.client, to: Fixtures.server)
        #expect(annotator.add(Fixtures.packet(bytes, header: Fixtures.header(timestamp: 1_000))).isEmpty)
        #expect(annotator.add(Fixtures.packet(bytes, header: Fixtures.header(timestamp: 1_050))).isEmpty)
        #expect(annotator.add(Fixtures.packet(bytes, header: Fixtures.header(timestamp: 1_200))).map(\.event.header.timestamp) == [1_000, 1_050])
        #expect(annotator.finish().map(\.event.header.timestamp) == [1_200])
    }
}
