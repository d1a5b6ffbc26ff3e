import Analyzer
import Events
import Packets
import Testing

@Suite("TCPReassembler: connections in, the probe's events out, the Analyzer's records from them")
struct TCPReassemblerTests {
    let client = PacketBuilder()
    var server: PacketBuilder { client.reversed }
    let request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
    let response = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"

    /// The first `n` bytes of `text` (String.prefix counts CR LF as one character).
    func head(_ text: String, _ n: Int) -> String { String(decoding: Array(text.utf8).prefix(n), as: UTF8.self) }
    func tail(_ text: String, _ n: Int) -> String { String(decoding: Array(text.utf8).dropFirst(n), as: UTF8.self) }

    /// Segments through the reassembler and the analyzer as `analyze` runs them.
    func records(_ segments: [TCPSegment], reassembler: inout TCPReassembler) -> [RequestRecord] {
        var analyzer = Analyzer(configuration: AnalyzerConfiguration(durationOrigin: .requestEnd))
        var out: [RequestRecord] = []
        for s in segments { for e in reassembler.process(s) { out += analyzer.process(e) } }
        for e in reassembler.finish() { out += analyzer.process(e) }
        return out + analyzer.finish()
    }

    func records(_ segments: [TCPSegment]) -> [RequestRecord] {
        var r = TCPReassembler()
        return records(segments, reassembler: &r)
    }

    /// A handshake, one exchange and a close; times in µs.
    var exchange: [TCPSegment] {
        [client.segment(at: 1_000, sequence: 99, flags: [.syn]),
         server.segment(at: 1_100, sequence: 499, acknowledgment: 100, flags: [.syn, .ack]),
         client.segment(at: 1_200, sequence: 100, acknowledgment: 500, flags: [.ack]),
         client.segment(at: 2_000, sequence: 100, acknowledgment: 500, payload: head(request, 10)),
         client.segment(at: 3_000, sequence: 110, acknowledgment: 500, payload: tail(request, 10)),
         server.segment(at: 9_000, sequence: 500, acknowledgment: 100 + UInt32(request.utf8.count), payload: head(response, 20)),
         server.segment(at: 10_000, sequence: 520, acknowledgment: 100 + UInt32(request.utf8.count), payload: tail(response, 20)),
         client.segment(at: 11_000, sequence: 100 + UInt32(request.utf8.count), flags: [.fin, .ack]),
         server.segment(at: 12_000, sequence: 500 + UInt32(response.utf8.count), flags: [.fin, .ack])]
    }

    @Test("a whole connection becomes open, data both ways as the client's socket sees it, FINs and close")
    func events() {
        var r = TCPReassembler()
        let events = exchange.flatMap { r.process($0) }
        #expect(events.map(\.kindName) == ["open", "data", "data", "data", "data", "state", "state", "close"])
        let data = events.compactMap { if case .data(let d) = $0 { d } else { nil } }
        #expect(data.map(\.direction) == [.egress, .egress, .ingress, .ingress])
        #expect(String(decoding: data.prefix(2).flatMap(\.payload), as: UTF8.self) == request)
        #expect(data.allSatisfy { $0.header.tuple == SocketTuple(local: PacketBuilder.client, remote: PacketBuilder.server) })
        #expect(data.allSatisfy { $0.header.pid == 0 && $0.role == .client })
        #expect(r.openConnections == 0)
        #expect(r.counters.connectionsFromHandshake == 1)
    }

    @Test("the analyzer measures a file's exchange from the request's last packet to the response's last packet")
    func duration() {
        let records = records(exchange)
        #expect(records.count == 1)
        let record = records.first
        #expect(record?.target == "/metrics" && record?.status == 200)
        #expect(record?.duration == 10_000 - 3_000)
        #expect(record?.start == 2_000)
        #expect(record?.side == .client)
        #expect(record?.client.ip == "10.0.0.1" && record?.server.port == 8080)
    }

    @Test("segments captured out of order give the same record, timed by the packet that completed each message")
    func outOfOrder() {
        var shuffled = exchange
        shuffled.swapAt(3, 4)   // The request's second half first.
        shuffled.swapAt(5, 6)   // The response's body before its head.
        // Capture times follow capture order.
        for i in shuffled.indices { shuffled[i].timestamp = exchange[i].timestamp }
        let records = records(shuffled)
        #expect(records.count == 1)
        #expect(records.first?.status == 200)
        #expect(records.first?.requestBytes == UInt64(request.utf8.count))
        #expect(records.first?.responseBytes == UInt64(response.utf8.count))
        // Completed by the late first half (3 000) and the late head (10 000).
        #expect(records.first?.duration == 10_000 - 3_000)
    }

    @Test("retransmitted segments are counted on the connection and attributed to the request in flight")
    func retransmits() {
        var segments = exchange
        segments.insert(server.segment(at: 9_500, sequence: 500, payload: head(response, 20)), at: 6)
        segments.insert(client.segment(at: 3_500, sequence: 110, payload: tail(request, 10)), at: 5)
        var r = TCPReassembler()
        let records = records(segments, reassembler: &r)
        #expect(r.counters.retransmittedSegments == 2)
        #expect(records.count == 1)
        #expect(records.first?.retransmits == 2)
        #expect(records.first?.duration == 10_000 - 3_000)
    }

    @Test("a body segment the capture missed is a gap the parser skips by count: the next exchange still parses")
    func gap() {
        let body = String(repeating: "x", count: 100)
        let long = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + body
        let headLength = UInt32(long.utf8.count - 100)
        let req = UInt32(request.utf8.count)
        let segments = [
            client.segment(at: 1_000, sequence: 1, payload: request),
            server.segment(at: 2_000, sequence: 1, acknowledgment: 1 + req, payload: head(long, Int(headLength) + 10)),
            // 80 body bytes never captured; the client acknowledges past them.
            server.segment(at: 3_000, sequence: 1 + headLength + 90, acknowledgment: 1 + req, payload: String(repeating: "x", count: 10)),
            client.segment(at: 3_100, sequence: 1 + req, acknowledgment: 1 + headLength + 100),
            client.segment(at: 4_000, sequence: 1 + req, acknowledgment: 1 + headLength + 100, payload: request),
            server.segment(at: 5_000, sequence: 1 + headLength + 100, acknowledgment: 1 + 2 * req, payload: response),
        ]
        var r = TCPReassembler()
        let records = records(segments, reassembler: &r)
        #expect(records.map(\.status) == [200, 200])
        #expect(records.map(\.responseBytes) == [UInt64(long.utf8.count), UInt64(response.utf8.count)])
        #expect(r.counters.gaps == 1 && r.counters.gapBytes == 80)
        #expect(r.counters.connectionsAlreadyOpen == 1)
    }

    @Test("a connection already open at the start is told from its client's side by port")
    func alreadyOpen() {
        // First packet seen is the server's response to a request before the capture.
        let segments = [
            server.segment(at: 500, sequence: 7000, payload: response),
            client.segment(at: 1_000, sequence: 300, acknowledgment: 7000 + UInt32(response.utf8.count), payload: request),
            server.segment(at: 2_000, sequence: 7000 + UInt32(response.utf8.count), payload: response),
        ]
        let records = records(segments)
        #expect(records.count == 1)
        #expect(records.first?.client.ip == "10.0.0.1" && records.first?.server.port == 8080)
        #expect(records.first?.duration == 1_000)
        #expect(records.first?.side == .client)
    }

    @Test("a reset ends the connection: the exchange in flight is emitted incomplete")
    func reset() {
        let segments = [
            client.segment(at: 1_000, sequence: 1, payload: request),
            server.segment(at: 2_000, sequence: 1, flags: [.rst, .ack]),
        ]
        var r = TCPReassembler()
        var analyzer = Analyzer(configuration: AnalyzerConfiguration(durationOrigin: .requestEnd))
        var events: [ProbeEvent] = []
        var out: [RequestRecord] = []
        for s in segments { for e in r.process(s) { events.append(e); out += analyzer.process(e) } }
        #expect(events.map(\.kindName) == ["data", "reset", "close"])
        #expect(out.count == 1 && out.first?.isComplete == false)
        #expect(r.openConnections == 0 && r.counters.resets == 1)
    }

    @Test("a new handshake on the same addresses and ports starts a new connection")
    func portReuse() {
        var r = TCPReassembler()
        let first = r.process(client.segment(at: 1, sequence: 10, flags: [.syn]))
        _ = r.process(client.segment(at: 2, sequence: 11, payload: "GET"))
        let second = r.process(client.segment(at: 3, sequence: 90_000, flags: [.syn]))
        #expect(second.map(\.kindName) == ["close", "open"])
        #expect(first.first?.header.connectionID != second.last?.header.connectionID)
        #expect(r.counters.connectionsFromHandshake == 2)
    }

    @Test("IPv6 connections reassemble like IPv4 ones")
    func ipv6() {
        let c = PacketBuilder(from: Endpoint(address: IPAddress("fd00::1")!, port: 50000),
                              to: Endpoint(address: IPAddress("fd00::2")!, port: 80))
        let records = records([c.segment(at: 1, sequence: 1, payload: request),
                               c.reversed.segment(at: 5, sequence: 1, payload: response)])
        #expect(records.first?.server.ip == "fd00::2" && records.first?.duration == 4)
    }

    @Test("beyond maxConnections the longest idle are closed, and a reused slot never mixes two connections' bytes")
    func eviction() {
        var r = TCPReassembler(configuration: TCPReassembler.Configuration(maxConnections: 4))
        var events: [ProbeEvent] = []
        for i in 0..<10 {
            let c = PacketBuilder(from: Endpoint(address: IPAddress("10.0.0.1")!, port: 40000 + UInt16(i)),
                                  to: PacketBuilder.server)
            events += r.process(c.segment(at: UInt64(i) * 10, sequence: 99, flags: [.syn]))
            events += r.process(c.segment(at: UInt64(i) * 10 + 1, sequence: 100, payload: "GET /\(i)"))
            #expect(r.openConnections <= 4)
        }
        events += r.finish()
        #expect(r.counters.connectionsEvicted > 0)
        #expect(r.counters.connectionsClosed == 10 && r.openConnections == 0)
        let data = events.compactMap { if case .data(let d) = $0 { d } else { nil } }
        #expect(data.count == 10)
        #expect(data.allSatisfy { String(decoding: $0.payload, as: UTF8.self) == "GET /\($0.header.tuple.local.port - 40000)" })
        #expect(Set(data.map(\.header.connectionID)).count == 10)
        // Every connection is closed exactly once.
        let closed = events.compactMap { if case .connectionClosed(let c) = $0 { c.header.connectionID } else { nil } }
        #expect(closed.count == 10 && Set(closed).count == 10)
    }

    @Test("connections interleaved segment by segment, reset and reopened on the same ports, each keep their own bytes",
          arguments: [40, 2_000])
    func manyConnections(count: Int) {
        var r = TCPReassembler()
        var events: [ProbeEvent] = []
        var time: UInt64 = 0
        func client(_ i: Int) -> PacketBuilder {
            PacketBuilder(from: Endpoint(address: IPAddress("10.\(i / 250).\(i % 250).1")!, port: 10_000 + UInt16(i)),
                          to: PacketBuilder.server)
        }
        func chunk(_ generation: Int, _ i: Int, _ round: Int) -> String {
            "g\(generation)c\(i)r\(round)".padding(toLength: 16, withPad: ".", startingAt: 0)
        }
        // Every connection has a turn in each round, so no two segments in a row share one.
        for generation in 0..<2 {
            for round in 0..<3 {
                for i in 0..<count {
                    time += 1
                    if round == 0 { events += r.process(client(i).segment(at: time, sequence: 99, flags: [.syn])) }
                    events += r.process(client(i).segment(at: time, sequence: 100 + UInt32(round) * 16,
                                                          payload: chunk(generation, i, round)))
                }
            }
            // Half end with a RST (the next generation reopens them), the rest stay open.
            for i in stride(from: 0, to: count, by: 2) {
                time += 1
                events += r.process(client(i).segment(at: time, sequence: 148, flags: [.rst]))
            }
        }
        events += r.finish()
        #expect(r.counters.connectionsFromHandshake == UInt64(2 * count) && r.openConnections == 0)
        var sent: [UInt64: (text: String, port: UInt16)] = [:]
        for case .data(let d) in events {
            sent[d.header.connectionID, default: ("", d.header.tuple.local.port)].text += String(decoding: d.payload, as: UTF8.self)
        }
        #expect(sent.count == 2 * count)
        for (id, (text, port)) in sent {
            // "g<generation>c<i>r0....": whose bytes the connection carries, then all of them and only them.
            let fields = text.prefix(16).split(whereSeparator: { "gcr.".contains($0) }).compactMap { Int($0) }
            guard fields.count == 3 else { Issue.record("connection \(id): \(text)"); continue }
            #expect(Int(port) == 10_000 + fields[1], "connection \(id)")
            #expect(text == (0..<3).map { chunk(fields[0], fields[1], $0) }.joined(), "connection \(id)")
        }
    }
}
