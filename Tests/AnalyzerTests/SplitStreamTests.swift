import TestSupport
@testable import Analyzer
import Events
import Testing

/// One keep-alive conversation, cut at random points into syscalls: the
/// records must not depend on where the cuts fall.
@Suite("Random splits")
struct SplitStreamTests {
    /// A message fragment; `starts` marks a request's first byte, `ends` a final response's last byte.
    struct Fragment {
        var text: String
        var starts: Int? = nil
        var ends: Int? = nil
    }

    /// Turns: who sends, and what.
    static let conversation: [(Sender, [Fragment])] = [
        (.client, [Fragment(text: "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", starts: 0)]),
        (.server, [Fragment(text: "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world", ends: 0)]),
        (.client, [Fragment(text: "POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", starts: 1)]),
        (.server, [Fragment(text: "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: x\r\n\r\n", ends: 1)]),
        (.client, [Fragment(text: "HEAD /c HTTP/1.1\r\n\r\n", starts: 2)]),
        (.server, [Fragment(text: "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", ends: 2)]),
        (.client, [Fragment(text: "PUT /d HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", starts: 3)]),
        (.server, [Fragment(text: "HTTP/1.1 100 Continue\r\n\r\n")]),
        (.client, [Fragment(text: "data")]),
        (.server, [Fragment(text: "HTTP/1.1 204 No Content\r\n\r\n", ends: 3)]),
        (.client, [Fragment(text: "GET /e HTTP/1.1\r\n\r\n", starts: 4), Fragment(text: "GET /f HTTP/1.1\r\n\r\n", starts: 5)]),
        (.server, [Fragment(text: "HTTP/1.1 304 Not Modified\r\n\r\n", ends: 4),
                   Fragment(text: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nxyz", ends: 5)]),
    ]

    struct Expected: Equatable {
        var target: String?
        var status: Int?
        var requestBytes: UInt64
        var responseBytes: UInt64
        var start: Int64
        var duration: UInt64
    }

    /// Events for `conversation` cut at random points, seen from `role`, and the records they must give.
    static func run(seed: UInt64, role: Role) -> (events: [ProbeEvent], expected: [Expected]) {
        var rng = SplitMix64(seed: seed)
        let socket = role == .client ? TracedSocket.client() : TracedSocket.server()
        var events: [ProbeEvent] = []
        var clock: UInt64 = 1_000
        var starts: [Int: UInt64] = [:], ends: [Int: UInt64] = [:]
        for (sender, fragments) in conversation {
            let bytes = fragments.flatMap { Array($0.text.utf8) }
            var cuts = Set<Int>()
            for _ in 0..<Int.random(in: 0...min(6, bytes.count - 1), using: &rng) {
                cuts.insert(Int.random(in: 1..<bytes.count, using: &rng))
            }
            let bounds = [0] + cuts.sorted() + [bytes.count]
            // Which piece holds each byte offset, and when that piece's bytes moved.
            var pieceTimes: [(range: Range<Int>, first: UInt64, last: UInt64)] = []
            let egress = (sender == .client) == (role == .client)
            for (lower, upper) in zip(bounds, bounds.dropFirst()) {
                let enter = clock, exit = clock + 7
                clock += 10
                events.append(socket.data(egress ? .egress : .ingress, Array(bytes[lower..<upper]), enter: enter, exit: exit))
                pieceTimes.append((lower..<upper, egress ? enter : exit, exit))
            }
            var offset = 0
            for fragment in fragments {
                let count = fragment.text.utf8.count
                if let i = fragment.starts { starts[i] = pieceTimes.first { $0.range.contains(offset) }!.first }
                if let i = fragment.ends { ends[i] = pieceTimes.first { $0.range.contains(offset + count - 1) }!.last }
                offset += count
            }
            clock += 100
        }
        let fixed: [(String, Int, UInt64, UInt64)] = [
            // Heads and bodies; /c's response has no body (HEAD); /d's counts its 100 Continue.
            ("/a", 200, 28, 50), ("/b", 201, 63, 99), ("/c", 200, 20, 40), ("/d", 204, 64, 25 + 27),
            ("/e", 304, 19, 29), ("/f", 200, 19, 41),
        ]
        let expected = fixed.enumerated().map { i, f in
            Expected(target: f.0, status: f.1, requestBytes: f.2, responseBytes: f.3,
                     start: Int64(starts[i]!), duration: ends[i]! - starts[i]!)
        }
        return (events, expected)
    }

    @Test("the same stream cut at random points gives the same records, timed by the syscalls holding their bytes",
          arguments: [Role.client, Role.server])
    func randomSplits(role: Role) {
        for seed in 0..<300 as Range<UInt64> {
            let (events, expected) = SplitStreamTests.run(seed: seed, role: role)
            let (records, analyzer) = analyze(events)
            let got = records.map {
                Expected(target: $0.target, status: $0.status, requestBytes: $0.requestBytes,
                         responseBytes: $0.responseBytes, start: $0.start, duration: $0.duration)
            }
            #expect(got == expected, "seed \(seed)")
            #expect(analyzer.counters.malformed == 0 && analyzer.counters.incompleteRecords == 0, "seed \(seed)")
            if got != expected { break }
        }
    }

    @Test("corrupted streams never crash the analyzer and every problem is counted")
    func corruption() {
        for seed in 0..<500 as Range<UInt64> {
            var rng = SplitMix64(seed: seed &* 7919)
            var (events, _) = SplitStreamTests.run(seed: seed, role: .client)
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let i = Int.random(in: 0..<events.count, using: &rng)
                guard case .data(var data) = events[i], !data.payload.isEmpty else { continue }
                let j = Int.random(in: 0..<data.payload.count, using: &rng)
                data.payload[j] = UInt8.random(in: 0...255, using: &rng)
                if Bool.random(using: &rng) { data.length += UInt64.random(in: 0...100_000, using: &rng) }
                events[i] = .data(data)
            }
            let (records, analyzer) = analyze(events)
            #expect(records.count <= 8)
            #expect(analyzer.openConnections == 0)
        }
    }

    @Test("random bytes in both directions never crash the analyzer")
    func randomBytes() {
        let socket = TracedSocket.client(role: .unknown)
        for seed in 0..<300 as Range<UInt64> {
            var rng = SplitMix64(seed: seed)
            var events: [ProbeEvent] = [socket.write("GET / HTTP/1.1\r\n", enter: 0, exit: 1)]
            for t in 1..<40 as Range<UInt64> {
                let alphabet = Array("HTTP/1.1 200 GET\r\n:0123456789abcdefContent-Length: chunked".utf8) + [0, 255]
                let payload = (0..<Int.random(in: 0...40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
                let length = UInt64(payload.count) + (Bool.random(using: &rng) ? UInt64.random(in: 0...1000, using: &rng) : 0)
                events.append(socket.data(Bool.random(using: &rng) ? .egress : .ingress, payload,
                                          enter: t * 10, exit: t * 10 + 5, length: length))
            }
            _ = analyze(events)
        }
    }
}
