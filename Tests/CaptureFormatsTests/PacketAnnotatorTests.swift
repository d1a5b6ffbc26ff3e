import Analyzer
import CaptureFormats
import Events
import Testing

@Suite("packet annotator")
struct PacketAnnotatorTests {
    let request = Array("GET /metrics HTTP/1.1\r\nHost: lb\r\n\r\n".utf8)
    let response = Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8)

    /// Each packet as the capture has it when both ends are on the host: once, leaving its sender
    /// (or, with `direction: .ingress`, as only the receiver saw it).
    func exchange(start: Int64, direction: Direction = .egress) -> [AnnotatedPacket] {
        let clientSide = Fixtures.header(pid: 42, comm: "curl", container: "collector")
        let serverSide = Fixtures.header(pid: 0, comm: "", container: "lb", local: Fixtures.server, remote: Fixtures.client)
        var out: [AnnotatedPacket] = []
        func both(_ bytes: [UInt8], fromClient: Bool, at t: Int64) {
            var h = (fromClient == (direction == .egress)) ? clientSide : serverSide
            h.timestamp = UInt64(t)
            out.append(Fixtures.packet(bytes, direction: direction, header: h, unix: t))
        }
        both(Fixtures.tcpPacket(from: Fixtures.client, to: Fixtures.server, flags: 0x02), fromClient: true, at: start - 50_000)
        both(Fixtures.tcpPacket(from: Fixtures.client, to: Fixtures.server, sequence: 1001, payload: request), fromClient: true, at: start + 10_000)
        both(Fixtures.tcpPacket(from: Fixtures.server, to: Fixtures.client, sequence: 5001, payload: response), fromClient: false, at: start + 900_000)
        return out
    }

    @Test("the request's summary goes on the client's first data packet, the response mark on the server's",
          arguments: [Direction.egress, .ingress])
    func requestAndResponse(direction: Direction) {
        var annotator = PacketAnnotator(hold: 1_000_000_000)
        let start: Int64 = 5_000_000
        for p in exchange(start: start, direction: direction) { #expect(annotator.add(p).isEmpty) }
        annotator.add(RecordFixtures.record(start: start))
        let out = annotator.finish()
        #expect(out.count == 3)
        #expect(out.map { $0.requestStarted != nil } == [false, true, false])
        #expect(out.map { $0.responseStarted != nil } == [false, false, true])
        #expect(annotator.requestsMarked == 1)
    }

    @Test("a record that comes after its request's first packet was handed out goes on the packet that completed the response")
    func recordAfterFirstPacket() {
        var annotator = PacketAnnotator(hold: 100_000)
        let start: Int64 = 5_000_000
        let handedOut = exchange(start: start).flatMap { annotator.add($0) }
        #expect(handedOut.count == 2 && handedOut.allSatisfy { $0.requestStarted == nil })
        annotator.add(RecordFixtures.record(start: start))
        let out = annotator.finish()
        #expect(out.count == 1 && out[0].requestCompleted != nil && out[0].requestStarted == nil)
        #expect(out[0].comment == "Container: lb\nCompletes: HTTP GET /metrics 200 1.0 ms hop collector→lb")
        #expect(annotator.requestsMarked == 0 && annotator.requestsMarkedAtEnd == 1 && annotator.requestsUnmarked == 0)
        // A record none of whose packets is held any more is counted, not put on a stranger's packet.
        annotator.add(RecordFixtures.record(start: start))
        #expect(annotator.requestsUnmarked == 1)
    }

    @Test("packets leave once their hold has passed on the clock, with no packet after them")
    func releaseByClock() {
        var annotator = PacketAnnotator(hold: 100)
        let bytes = Fixtures.tcpPacket(from: Fixtures.client, to: Fixtures.server)
        #expect(annotator.add(Fixtures.packet(bytes, header: Fixtures.header(timestamp: 1_000))).isEmpty)
        #expect(annotator.release(at: 1_050).isEmpty)
        #expect(annotator.release(at: 1_101).map(\.event.header.timestamp) == [1_000])
        #expect(annotator.finish().isEmpty)
    }

    @Test("a socket's owner learnt later names the packets of its handshake")
    func ownerLearntLater() {
        var annotator = PacketAnnotator(hold: 1_000_000_000)
        for p in exchange(start: 5_000_000, direction: .ingress) { _ = annotator.add(p) }
        annotator.learnOwner(Fixtures.header(pid: 7, comm: "python3", container: "lb", local: Fixtures.server, remote: Fixtures.client))
        let out = annotator.finish()
        let serverSide = out.filter { $0.event.header.tuple.local == Fixtures.server }
        #expect(serverSide.count == 2 && serverSide.allSatisfy { $0.comment.hasPrefix("PID: 7\nCmd: python3\nContainer: lb") })
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

    @Test("a retransmit attempt the kernel reports as failed (nothing left the host) marks no packet")
    func failedRetransmit() {
        var annotator = PacketAnnotator(hold: 1_000_000_000)
        let data = Fixtures.tcpPacket(from: Fixtures.client, to: Fixtures.server, sequence: 1001, payload: request)
        _ = annotator.add(Fixtures.packet(data, header: Fixtures.header(timestamp: 1_000)))
        // -EBUSY: the first copy was still queued on this host, so no second one was sent.
        annotator.add(RetransmitEvent(header: Fixtures.header(timestamp: 200_000_000), segments: 1, sequence: 1001, state: .established, error: -16))
        _ = annotator.add(Fixtures.packet(data, header: Fixtures.header(timestamp: 300_000_000)))
        annotator.add(RetransmitEvent(header: Fixtures.header(timestamp: 300_000_100), segments: 1, sequence: 1001, state: .established, error: 0))
        #expect(annotator.finish().map(\.isRetransmit) == [false, true])
        #expect(annotator.retransmitsMarked == 1)
    }

    @Test("a delivery names the receiver on the copy its sender sent, the oldest one not yet joined, and is no packet itself")
    func delivery() {
        var annotator = PacketAnnotator(hold: 1_000_000_000)
        let ack = Fixtures.tcpPacket(from: Fixtures.client, to: Fixtures.server, sequence: 1001, flags: 0x10)
        let lost = Fixtures.tcpPacket(from: Fixtures.client, to: Fixtures.server, sequence: 2001, payload: request)
        _ = annotator.add(Fixtures.packet(ack, header: Fixtures.header(timestamp: 1_000)))
        _ = annotator.add(Fixtures.packet(ack, header: Fixtures.header(timestamp: 2_000)))
        _ = annotator.add(Fixtures.packet(lost, header: Fixtures.header(timestamp: 3_000)))
        // The receiver's view: its own end first, possibly other addresses (NAT), the headers only.
        let receiver = Fixtures.header(pid: 7, comm: "nginx", container: "lb", timestamp: 2_500,
                                       local: Endpoint(address: IPAddress("172.17.0.5")!, port: 80), remote: Fixtures.client)
        var nat = ack
        nat[16...19] = [172, 17, 0, 5]
        nat[22...23] = [0, 80]
        annotator.join(PacketEvent(header: receiver, direction: .ingress, interfaceIndex: 9, length: UInt32(ack.count),
                                   bytes: nat, isDelivery: true))
        annotator.join(PacketEvent(header: receiver, direction: .ingress, interfaceIndex: 9, length: 99,
                                   bytes: Array(lost.prefix(40)), isDelivery: true))
        let out = annotator.finish()
        #expect(out.count == 3)
        #expect(out.map { $0.receiver?.pid } == [7, nil, nil], "the first copy of the ACK; the data's length differs")
        #expect(out[0].comment == "PID: 42\nCmd: curl\nContainer: lb\nReceiver PID: 7\nReceiver Cmd: nginx\nReceiver Container: lb")
        #expect(annotator.receiversNamed == 1 && annotator.deliveriesUnmatched == 1)
    }

    @Test("pieces of a packet captured leaving, seen entering, are not written again but name the receiver")
    func pieces() {
        var annotator = PacketAnnotator(hold: 1_000_000_000)
        let body = [UInt8](repeating: 0x61, count: 3000)
        let whole = Fixtures.tcpPacket(from: Fixtures.server, to: Fixtures.client, sequence: 5000, payload: body)
        let receiver = Fixtures.header(pid: 7, comm: "curl", container: "lb", timestamp: 2_000)
        _ = annotator.add(Fixtures.packet(whole, header: Fixtures.header(pid: 9, comm: "nginx", timestamp: 1_000,
                                                                          local: Fixtures.server, remote: Fixtures.client)))
        for (sequence, part) in [(UInt32(5000), body.prefix(1500)), (6500, body.suffix(1500))] {
            let piece = Fixtures.tcpPacket(from: Fixtures.server, to: Fixtures.client, sequence: sequence, payload: Array(part))
            #expect(annotator.add(Fixtures.packet(piece, direction: .ingress, header: receiver)).isEmpty)
        }
        // Data beyond the whole one's is a packet of its own.
        let next = Fixtures.tcpPacket(from: Fixtures.server, to: Fixtures.client, sequence: 7000, payload: Array(body.prefix(1500)))
        _ = annotator.add(Fixtures.packet(next, direction: .ingress, header: receiver))
        let out = annotator.finish()
        #expect(out.map(\.event.direction) == [.egress, .ingress])
        #expect(out[0].receiver?.comm == "curl")
        #expect(annotator.piecesDropped == 2 && annotator.receiversNamed == 1)
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
