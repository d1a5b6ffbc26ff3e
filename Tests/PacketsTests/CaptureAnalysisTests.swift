import Events
import Foundation
import TestSupport
import Testing

/// The capture analysis in-process (Capture's readers and CaptureAnalysis's
/// three threads), as `pipetrace analyze FILE --watch` runs it.
@Suite("CaptureAnalysis: capture files to records on three threads")
struct CaptureAnalysisTests {
    @Test("retransmitted segments in a file are counted on the request in flight")
    func retransmits() throws {
        let dir = try TemporaryDirectory()
        let c = PacketBuilder()
        let request = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
        let file = try dir.file("retransmit.pcap", pcapFile(linkType: 113, [
            (1_000_000, sll(c.frame(sequence: 1, payload: request))),
            (201_000_000, sll(c.frame(sequence: 1, payload: request))),
            (202_000_000, sll(c.reversed.frame(sequence: 1, payload: "HTTP/1.1 204 No Content\r\n\r\n"))),
        ]))
        let result = try analyzeWatch(file)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains(#""retransmits":1"#), "\(result.stdout)")
        #expect(result.stderr.contains("1 retransmitted segments"))
    }

    @Test("a request whose halves the file holds out of order is put back together (the held half survives the next reads)")
    func outOfOrderFile() throws {
        let dir = try TemporaryDirectory()
        let c = PacketBuilder()
        let request = Array("GET /first-half/second-half HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let cut = 16
        let secondHalf = String(decoding: request[cut...], as: UTF8.self)
        let firstHalf = String(decoding: request[..<cut], as: UTF8.self)
        // The second half waits for the first while other packets (with other bytes) are read.
        var frames: [(time: UInt64, bytes: [UInt8])] = [
            (500_000, c.frame(sequence: 0, flags: [.syn])),
            (600_000, c.reversed.frame(sequence: 0, acknowledgment: 1, flags: [.syn, .ack])),
            (1_000_000, c.frame(sequence: 1 + UInt32(cut), acknowledgment: 1, payload: secondHalf)),
        ]
        for i in 0..<5 {
            frames.append((1_100_000 + UInt64(i) * 1000, c.reversed.frame(sequence: 1, acknowledgment: 1, flags: [.ack])))
            frames.append((1_200_000 + UInt64(i) * 1000, PacketBuilder(from: Endpoint(address: IPAddress("10.0.0.9")!, port: 999), to: c.destination)
                .frame(sequence: 1, payload: String(repeating: "z", count: request.count))))
        }
        frames.append((2_000_000, c.frame(sequence: 1, acknowledgment: 1, payload: firstHalf)))
        frames.append((5_000_000, c.reversed.frame(sequence: 1, acknowledgment: 1 + UInt32(request.count),
                                                   payload: "HTTP/1.1 204 No Content\r\n\r\n")))
        let file = try dir.file("out-of-order.pcap", pcapFile(frames))
        let result = try analyzeWatch(file)
        #expect(result.status == 0, "\(result.stderr)")
        let records = try result.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(records.count == 1, "\(result.stdout)")
        #expect(records.first?["target"] as? String == "/first-half/second-half")
        // From the packet that completed the request (the late first half) to the response.
        #expect(records.first?["duration_ms"] as? Double == 3.0)
    }

    @Test("thousands of exchanges come out complete and in file order, however the work is split between threads")
    func manyExchanges() throws {
        let dir = try TemporaryDirectory()
        let clients = (0..<3).map { PacketBuilder(from: Endpoint(address: IPAddress("10.0.0.1")!, port: 41000 + UInt16($0)),
                                                  to: PacketBuilder.server) }
        var sequences = [UInt32](repeating: 1, count: 3)
        var frames: [(time: UInt64, bytes: [UInt8])] = []
        let response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        for i in 0..<3000 {
            let n = i % 3
            let request = "GET /\(i) HTTP/1.1\r\nHost: x\r\n\r\n"
            let time = 1_000_000_000 + UInt64(i) * 100_000
            frames.append((time, clients[n].frame(sequence: sequences[n], payload: request)))
            frames.append((time + 40_000, clients[n].reversed.frame(sequence: UInt32(i / 3 * response.utf8.count) + 1,
                                                                    payload: response)))
            sequences[n] += UInt32(request.utf8.count)
        }
        let file = try dir.file("many.pcap", pcapFile(frames))
        let result = try analyzeWatch(file)
        #expect(result.status == 0, "\(result.stderr)")
        let records = try result.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(records.count == 3000)
        #expect(records.compactMap { $0["target"] as? String } == (0..<3000).map { "/\($0)" })
        #expect(records.allSatisfy { $0["duration_ms"] as? Double == 0.04 })
    }

    /// An Ethernet frame re-framed as Linux cooked (v1), as `tcpdump -i any` writes.
    func sll(_ ethernet: [UInt8]) -> [UInt8] {
        be16(0) + be16(1) + be16(6) + [UInt8](repeating: 0, count: 8) + Array(ethernet[12...])
    }
}
