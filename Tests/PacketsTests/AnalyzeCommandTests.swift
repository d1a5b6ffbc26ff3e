import Events
import Foundation
import TestSupport
import Testing

/// `pipetrace analyze` end to end, through the built binary (the libpcap
/// reader is the CLI's edge). The judge is a peer: tshark's own HTTP
/// dissection of a real capture.
@Suite("pipetrace analyze", .serialized)
struct AnalyzeCommandTests {
    /// One request/response pair: what tshark and pipetrace must agree on.
    struct Exchange: Hashable, Comparable, CustomStringConvertible {
        var target: String
        var status: Int
        /// Microseconds.
        var duration: Int64

        static func < (a: Exchange, b: Exchange) -> Bool { (a.target, a.status, a.duration) < (b.target, b.status, b.duration) }
        var description: String { "\(target) \(status) \(duration) µs" }
    }

    static var judgeAvailable: Bool {
        RootRequirement.strict || (Repository.which("tshark") != nil
            && FileManager.default.fileExists(atPath: Repository.prometheusCapture))
    }

    /// pipetrace's records for a file, from `analyze --watch`.
    func pipetraceExchanges(_ path: String) throws -> (exchanges: [Exchange], records: [[String: Any]]) {
        let result = try run([Repository.pipetraceBinary, "analyze", path, "--watch"])
        #expect(result.status == 0, "\(result.stderr)")
        let records = try result.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let exchanges = records.compactMap { r -> Exchange? in
            guard let target = r["target"] as? String, let status = r["status"] as? Int,
                  let ms = r["duration_ms"] as? Double else { return nil }
            return Exchange(target: target, status: status, duration: Int64((ms * 1000).rounded()))
        }
        return (exchanges.sorted(), records)
    }

    /// tshark's exchanges: http.time is from the frame that completes the
    /// request to the frame that completes the response (both reassembled).
    func tsharkExchanges(_ path: String) throws -> [Exchange] {
        let tshark = try #require(Repository.which("tshark"), "tshark is not installed (Debian: tshark)")
        let result = try run([tshark, "-r", path, "-Y", "http.response", "-T", "fields", "-e", "tcp.stream",
                              "-e", "http.response_for.uri", "-e", "http.response.code", "-e", "http.time"])
        #expect(result.status == 0, "\(result.stderr)")
        return try result.stdout.split(separator: "\n").map { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            try #require(f.count == 4, "\(line)")
            // "http://host:port/path" → "/path"
            let uri = f[1]
            let afterScheme = uri.range(of: "://").map { uri[$0.upperBound...] } ?? uri[...]
            let path = afterScheme.firstIndex(of: "/").map { String(afterScheme[$0...]) } ?? uri
            let seconds = try #require(Double(f[3]), "http.time \(f[3])")
            return Exchange(target: path, status: try #require(Int(f[2])), duration: Int64((seconds * 1e6).rounded()))
        }.sorted()
    }

    @Test("finds exactly tshark's HTTP request/response pairs in the shared capture, durations equal to http.time to the µs",
          .enabled(if: judgeAvailable))
    func agreesWithTshark() throws {
        let capture = Repository.prometheusCapture
        try #require(FileManager.default.fileExists(atPath: capture), "missing \(capture) (shared/ beside the clone)")
        let judge = try tsharkExchanges(capture)
        let (ours, records) = try pipetraceExchanges(capture)
        #expect(judge.count == 46)
        #expect(ours.count == judge.count)
        #expect(ours == judge, "only pipetrace: \(Set(ours).subtracting(judge)); only tshark: \(Set(judge).subtracting(ours))")
        // A file has no processes: pid null on both ends, but retransmits are counted.
        #expect(records.allSatisfy { r in
            ["client", "server"].allSatisfy { ((r[$0] as? [String: Any])?["pid"]).map { $0 is NSNull } ?? false }
        })
        #expect(records.allSatisfy { $0["retransmits"] as? Int == 0 })
    }

    @Test("the same capture as pcapng gives the same exchanges", .enabled(if: judgeAvailable))
    func pcapng() throws {
        let editcap = try #require(Repository.which("editcap"), "editcap is not installed (Debian: tshark)")
        let dir = try TemporaryDirectory()
        let converted = dir.url.appendingPathComponent("capture.pcapng").path
        let conversion = try run([editcap, "-F", "pcapng", Repository.prometheusCapture, converted])
        try #require(conversion.status == 0, "\(conversion.stderr)")
        #expect(try pipetraceExchanges(converted).exchanges == pipetraceExchanges(Repository.prometheusCapture).exchanges)
    }

    @Test("the default output is stat's table, grouped by server address")
    func table() throws {
        let dir = try TemporaryDirectory()
        let c = PacketBuilder()
        let file = try dir.file("one.pcap", pcapFile([
            (1_000_000_000, c.frame(sequence: 1, payload: "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")),
            (1_002_000_000, c.reversed.frame(sequence: 1, payload: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")),
        ]))
        let result = try run([Repository.pipetraceBinary, "analyze", file])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("1 requests in 0.0 s, grouped by remote"))
        #expect(result.stdout.contains("10.0.0.2:8080"))
        #expect(result.stdout.contains("2.000 ms  GET /a 200"))
        #expect(result.stderr.contains("2 packets"))
    }

    @Test("--html writes the report of the committed demo capture: one panel per server, its slowest requests as waterfalls")
    func html() throws {
        let dir = try TemporaryDirectory()
        let path = dir.url.appendingPathComponent("demo.html").path
        let capture = Repository.root.appendingPathComponent("captures/demo.json").path
        let result = try run([Repository.pipetraceBinary, "analyze", capture, "--html", path, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let groups = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])["groups"] as? [[String: Any]]
        let html = try String(contentsOfFile: path, encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"))
        #expect(html.contains("<h1>pipetrace analyze \(capture)</h1>"))
        #expect(html.contains("63 requests in 6.5 s"))
        // The same groups as the statistics; a capture's records are client views, so each chain is one hop.
        #expect(html.components(separatedBy: "<section class=\"hop-panel\">").count - 1 == groups?.count)
        #expect(html.components(separatedBy: "<div class=\"waterfall\">").count - 1 == 10)
        #expect(html.components(separatedBy: "<g class=\"waterfall-row").count - 1 == 10)
        let unwritable = try run([Repository.pipetraceBinary, "analyze", capture, "--html", "/nonexistent/x.html"])
        #expect(unwritable.status != 0 && unwritable.stderr.contains("cannot write /nonexistent/x.html"), "\(unwritable.stderr)")
    }

    @Test("empty, non-capture, truncated, corrupt and missing files: one clear line on stderr, non-zero exit, no crash")
    func badInput() throws {
        let dir = try TemporaryDirectory()
        let c = PacketBuilder()
        let good = pcapFile([(1_000_000, c.frame(sequence: 1, payload: "GET / HTTP/1.1\r\n\r\n")),
                             (2_000_000, c.reversed.frame(sequence: 1, payload: "HTTP/1.1 204 No Content\r\n\r\n"))])
        var hugeRecord = good
        hugeRecord[24 + 8] = 0xff; hugeRecord[24 + 9] = 0xff; hugeRecord[24 + 10] = 0xff; hugeRecord[24 + 11] = 0x7f
        let cases: [(String, [UInt8], String)] = [
            ("empty.pcap", [], "empty file"),
            ("notes.txt", Array("just some text, not a capture\n".utf8), "not a pcap or pcapng capture file"),
            ("cut-header.pcap", Array(good.prefix(10)), "truncated"),
            ("cut-packet.pcap", Array(good.dropLast(7)), "truncated"),
            ("huge-record.pcap", hugeRecord, "invalid packet capture length"),
        ]
        for (name, bytes, message) in cases {
            let path = try dir.file(name, bytes)
            let result = try run([Repository.pipetraceBinary, "analyze", path])
            #expect(result.status != 0 && result.status < 128, "\(name): status \(result.status)")
            let errorLines = result.stderr.split(separator: "\n").filter { $0.contains("rror") }
            #expect(errorLines.count == 1, "\(name): \(result.stderr)")
            #expect(errorLines.first?.contains(message) == true, "\(name): \(result.stderr)")
            #expect(errorLines.first?.contains(path) == true, "\(name): \(result.stderr)")
        }
        let missing = try run([Repository.pipetraceBinary, "analyze", dir.url.appendingPathComponent("nope.pcap").path])
        #expect(missing.status != 0 && missing.stderr.contains("No such file"), "\(missing.stderr)")
    }

    @Test("mutated capture files never crash the reader: every run ends with status 0 or 1", arguments: [31, 32])
    func mutatedFiles(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let dir = try TemporaryDirectory()
        let c = PacketBuilder()
        var frames: [(time: UInt64, bytes: [UInt8])] = []
        for i in 0..<10 {
            let request = c.frame(sequence: 1 + UInt32(i) * 18, payload: "GET / HTTP/1.1\r\n\r\n")
            let response = c.reversed.frame(sequence: 1 + UInt32(i) * 28, payload: "HTTP/1.1 204 No Content\r\n\r\n")
            frames.append((UInt64(i) * 2_000_000, request))
            frames.append((UInt64(i) * 2_000_000 + 1_000_000, response))
        }
        let good = pcapFile(frames)
        for i in 0..<15 {
            var bytes = good
            for _ in 0..<Int.random(in: 1...20, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng) { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &rng)) }
            let path = try dir.file("mutated-\(i).pcap", bytes)
            let result = try run([Repository.pipetraceBinary, "analyze", path])
            #expect(result.status == 0 || result.status == 1, "seed \(seed) file \(i): status \(result.status) \(result.stderr)")
        }
    }
}
