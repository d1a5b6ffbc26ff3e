import Analyzer
import Foundation
import TestSupport
import Testing
@testable import Exporter
@testable import ExporterCore

/// A collector → lb → aggregator → storage chain as the analyzer emits it:
/// the two merged hops (both ends traced) and the aggregator's request to a
/// storage that is not traced (client end only), each a child of the one before.
enum Chain {
    static let start: Int64 = 1_700_000_000_000_000_000

    /// Its request took 1.5 ms to reach the server, the response 0.5 ms back.
    static let root = {
        var r = RequestRecord(
            id: 10, start: start, duration: 30_000_000, protocolName: "http/1.1", method: "POST",
            target: "/api/v1/write?extra_label=a", status: 204, requestBytes: 1000, responseBytes: 0,
            client: .init(ip: "10.0.0.1", port: 40000, container: "collector"),
            server: .init(ip: "10.0.0.2", port: 8428, container: "lb"), side: .both,
            network: 2_000_000, serverTime: 28_000_000)
        r.serverStart = start + 1_500_000
        return r
    }()
    /// Without the server's start (as read back from JSON): its SERVER span is centred.
    static let child = RequestRecord(
        id: 11, start: start + 1_000_000, duration: 25_000_000, protocolName: "http/1.1", method: "POST",
        target: "/api/v1/write", status: 204, requestBytes: 990, responseBytes: 0,
        client: .init(ip: "10.0.0.2", port: 41000, container: "lb"),
        server: .init(ip: "10.0.0.3", port: 8429, container: "aggregator"), side: .both,
        network: 1_000_000, serverTime: 24_000_000, retransmits: 2, parent: 10)
    static let grandchild = RequestRecord(
        id: 12, start: start + 2_000_000, duration: 20_000_000, protocolName: "http/1.1", method: "GET",
        target: "/api/v1/query?query=up", status: 503, requestBytes: 120, responseBytes: 45,
        client: .init(ip: "10.0.0.3", port: 42000, container: "aggregator"),
        server: .init(ip: "10.0.0.4", port: 8428), side: .client, parent: 11)

    /// The five spans (CLIENT and SERVER for each merged hop), linked as the analyzer's order (children first) makes them.
    static func spans(_ linker: inout SpanLinker) -> [OTLPSpan] {
        linker.add(grandchild, now: 0) + linker.add(child, now: 1) + linker.add(root, now: 2)
    }
}

@Suite("Hop chains as traces: ids and links")
struct SpanLinkerTests {
    @Test("children arriving before their parent wait for it; the chain shares the root's trace id")
    func childrenFirst() {
        var linker = SpanLinker(salt: 42)
        #expect(linker.add(Chain.grandchild, now: 0).isEmpty)
        #expect(linker.add(Chain.child, now: 1).isEmpty)
        #expect(linker.heldCount == 2)
        let spans = linker.add(Chain.root, now: 2)
        #expect(spans.map(\.record.id) == [10, 10, 11, 11, 12])
        #expect(spans.map(\.kind) == [.client, .server, .client, .server, .client])
        #expect(spans.map(\.traceID) == Array(repeating: linker.traceID(10), count: 5))
        #expect(spans.map(\.spanID) == [linker.clientSpanID(10), linker.spanID(10), linker.clientSpanID(11), linker.spanID(11),
                                        linker.spanID(12)])
        // Each merged hop: SERVER under its CLIENT; the next hop's CLIENT under the SERVER that made it.
        #expect(spans.map(\.parentSpanID) == [[], linker.clientSpanID(10), linker.spanID(10), linker.clientSpanID(11),
                                              linker.spanID(11)])
        #expect(linker.heldCount == 0)
        // A late child of a linked record joins at once.
        var late = Chain.grandchild
        late.id = 13
        #expect(linker.add(late, now: 3).map(\.traceID) == [linker.traceID(10)])
    }

    @Test("a parent that never comes: after the hold, the children go in the trace of the root-most id known, which its late arrival joins")
    func expired() {
        var linker = SpanLinker(salt: 7, hold: 100)
        #expect(linker.add(Chain.grandchild, now: 0).isEmpty)
        #expect(linker.add(Chain.child, now: 10).isEmpty)
        #expect(linker.expire(now: 99).isEmpty)
        let released = linker.expire(now: 100)
        // 11 waits for 10, 12 for 11: the root-most id known is 10.
        #expect(released.map(\.record.id) == [11, 11, 12])
        #expect(released.map(\.traceID) == Array(repeating: linker.traceID(10), count: 3))
        #expect(released.map(\.parentSpanID) == [linker.spanID(10), linker.clientSpanID(11), linker.spanID(11)])
        let root = linker.add(Chain.root, now: 500)
        #expect(root.map(\.traceID) == [linker.traceID(10), linker.traceID(10)])
        #expect(root.map(\.spanID) == [linker.clientSpanID(10), linker.spanID(10)])
    }

    @Test("ids: 8 and 16 bytes, distinct per record and per run (salt)")
    func ids() {
        let a = SpanLinker(salt: 1), b = SpanLinker(salt: 2)
        #expect(a.spanID(1).count == 8 && a.traceID(1).count == 16 && a.clientSpanID(1).count == 8)
        #expect(Set((1...10_000).map { a.spanID($0) } + (1...10_000).map { a.clientSpanID($0) }).count == 20_000)
        #expect(a.spanID(1) != b.spanID(1) && a.traceID(1) != b.traceID(1))
        #expect(a.spanID(0) != [0, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test("a late child finds its parent among the last maxRemembered ids; past them it waits, as for a parent never seen")
    func remembered() {
        var linker = SpanLinker(salt: 5, hold: 100, maxRemembered: 4)
        var r = Chain.grandchild
        for id in UInt64(1)...4 {
            r.id = id
            r.parent = nil
            #expect(linker.add(r, now: 0).count == 1)
        }
        r.id = 20
        r.parent = 1
        #expect(linker.add(r, now: 0).map(\.traceID) == [linker.traceID(1)])
        for id in UInt64(5)...8 {
            r.id = id
            r.parent = nil
            _ = linker.add(r, now: 0)
        }
        r.id = 21
        r.parent = 2
        #expect(linker.add(r, now: 0).isEmpty)
        #expect(linker.heldCount == 1)
        #expect(linker.expire(now: 100).map(\.traceID) == [linker.traceID(2)])
        r.id = 22
        r.parent = 8
        #expect(linker.add(r, now: 100).map(\.traceID) == [linker.traceID(8)])
        // The default remembers 65536: its table grows to them, keeping what it holds.
        var large = SpanLinker(salt: 5)
        for id in UInt64(1)...5000 {
            r.id = id
            r.parent = nil
            _ = large.add(r, now: 0)
        }
        r.id = 5001
        r.parent = 1
        #expect(large.add(r, now: 0).map(\.traceID) == [large.traceID(1)])
    }

    @Test("past maxHeld, everything held is released rather than kept")
    func bounded() {
        var linker = SpanLinker(salt: 3, maxHeld: 2)
        var r = Chain.grandchild
        for id in UInt64(100)..<102 {
            r.id = id
            r.parent = id + 1000
            #expect(linker.add(r, now: 0).isEmpty)
        }
        r.id = 102
        r.parent = 1102
        #expect(linker.add(r, now: 0).map(\.record.id) == [100, 101, 102])
        #expect(linker.heldCount == 0)
    }
}

@Suite("OTLP encoder kept across batches")
struct OTLPEncoderTests {
    @Test("an encoder kept across batches (its names cached, its buffer reused) writes what a fresh one writes")
    func reused() {
        var linker = SpanLinker(salt: 7)
        let chain = Chain.spans(&linker)
        var other = Chain.grandchild
        other.id = 20
        other.parent = nil
        other.target = "/api/v1/query?query=down"
        let batches = [chain, linker.add(other, now: 3), chain + linker.add(other, now: 4), [chain[4], chain[0]], []]
        var encoder = OTLPEncoder(maxCachedNames: 2)
        for batch in batches {
            var traces: [UInt8] = [], logs: [UInt8] = [], slowCount = 0
            encoder.encode(batch, slowThreshold: 24_000_000, traces: { traces = $0 }, logs: { logs = $0; slowCount = $1 })
            let slow = batch.filter { $0.spansWholeRecord && $0.record.duration >= 24_000_000 }
            #expect(traces == OTLPTraceRequest(spans: batch).encoded())
            #expect(logs == (slow.isEmpty ? [] : OTLPLogsRequest(spans: slow, threshold: 24_000_000).encoded()))
            #expect(slowCount == slow.count)
            #expect(encoder.traces(batch) == traces)
        }
    }

    @Test("a hop's records one after another: what they repeat is kept, what changes (or any repeated field that does) is written anew")
    func repeatedAttributes() {
        var records: [RequestRecord] = []
        var r = Chain.child
        r.parent = nil
        for i in 0..<14 {
            r.id = UInt64(100 + i)
            r.client.port = 41000 + UInt16(i % 3)
            r.requestBytes = UInt64(900 + i)
            r.network = i % 4 == 0 ? nil : UInt64(i) * 1000
            r.retransmits = UInt32(i % 2)
            var changed = r
            switch i {
            case 3: changed.status = 503
            case 5: changed.target = "/api/v1/write?x=1"
            case 7: changed.server.container = "aggregator2"
            case 9: changed.isComplete = false
            case 11: changed.client.ip = "10.0.0.9"
            case 13: changed.side = .server
            default: break
            }
            records.append(changed)
        }
        var kept = OTLPEncoder()
        for record in records {
            var linker = SpanLinker(salt: 1)
            let spans = linker.add(record, now: 0)
            var fresh = OTLPEncoder()
            #expect(kept.traces(spans) == fresh.traces(spans), "record \(record.id)")
        }
    }

    @Test("attributes: the hop as RequestRecord.hop says, the target split at its first ?, the protocol at its /")
    func attributeSlices() {
        var r = Chain.grandchild
        for (client, server) in [("aggregator", nil), (nil, "storage"), ("é", "lb"), (nil, nil)] as [(String?, String?)] {
            r.client.container = client
            r.server.container = server
            let hop = OTLPAttribute.of(r).first { $0.key == "pipetrace.hop" }?.value
            #expect(hop == r.hop.map { .string($0) })
        }
        r.target = "/a?b?c"
        r.protocolName = "http/1.1"
        let attributes = Dictionary(uniqueKeysWithValues: OTLPAttribute.of(r).map { ($0.key, $0.value) })
        #expect(attributes["url.path"] == .string("/a") && attributes["url.query"] == .string("b?c"))
        #expect(attributes["network.protocol.name"] == .string("http") && attributes["network.protocol.version"] == .string("1.1"))
        r.target = "/é?"
        r.protocolName = "redis"
        let other = Dictionary(uniqueKeysWithValues: OTLPAttribute.of(r).map { ($0.key, $0.value) })
        #expect(other["url.path"] == .string("/é") && other["url.query"] == .string(""))
        #expect(other["network.protocol.name"] == .string("redis") && other["network.protocol.version"] == nil)
    }

    @Test("gzip: what gzip -d gives back is the input, after the prefix, for bodies from empty to incompressible")
    func gzip() throws {
        var random = SystemRandomNumberGenerator()
        // One compressor for every body, as the sink keeps one: its output buffer grows
        // for the 300 kB body (half incompressible, so near the worst case) and is reused
        // for the smaller ones after it.
        let gzip = Gzip()
        for (n, size) in [1000, 300_000, 0, 5000].enumerated() {
            let input = (0..<size).map { $0 % 2 == 0 ? UInt8.random(in: 0...255, using: &random) : UInt8(truncatingIfNeeded: $0) }
            let out = gzip.compress(input, after: [7, 8])
            #expect(Array(out.prefix(2)) == [7, 8])
            #expect(Gzip.compress(input) == Array(out.dropFirst(2)))
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pipetrace-gzip-\(getpid())-\(n)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            try Data(input).write(to: dir.appendingPathComponent("in"))
            try Data(out.dropFirst(2)).write(to: dir.appendingPathComponent("in.gz"))
            try Shell.run(["sh", "-c", "gzip -dc \"$0/in.gz\" | cmp - \"$0/in\"", dir.path])
        }
    }
}

extension OTLPEncoderTests {
    @Test("gzip of a request in pieces (empty ones among them, one outgrowing the output) is the pieces joined")
    func gzipPieces() throws {
        var random = SystemRandomNumberGenerator()
        let gzip = Gzip(level: 0)
        // Random bytes at level 0 come out larger than they went in: the output grows mid-piece.
        let sizes = [0, 17, 1, 0, 200_000, 3, 65_536, 0, 9]
        let pieces = sizes.map { size in (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) }[...] }
        let whole = Array(pieces.joined())
        let out = gzip.compress(pieces, after: [9])
        #expect(out.first == 9)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pipetrace-gzip-pieces-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(whole).write(to: dir.appendingPathComponent("in"))
        try Data(out.dropFirst()).write(to: dir.appendingPathComponent("in.gz"))
        try Shell.run(["sh", "-c", "gzip -dc \"$0/in.gz\" | cmp - \"$0/in\"", dir.path])
        // Level 1 (the sink's), on text that compresses, through the same compressor as before.
        let text = (0..<5000).map { "span \($0) GET /metrics 200\n" }.joined()
        let textPieces = stride(from: 0, to: text.utf8.count, by: 1000).map { Array(text.utf8)[$0..<min($0 + 1000, text.utf8.count)] }
        let again = Gzip().compress(textPieces)
        try Data(text.utf8).write(to: dir.appendingPathComponent("in"))
        try Data(again).write(to: dir.appendingPathComponent("in.gz"))
        try Shell.run(["sh", "-c", "gzip -dc \"$0/in.gz\" | cmp - \"$0/in\"", dir.path])
    }

    @Test("gzip output larger than its first buffer (level 0 on random bytes grows by a fifth) is still whole")
    func gzipGrows() throws {
        var random = SystemRandomNumberGenerator()
        let input = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &random) }
        let out = Gzip(level: 0).compress(input)
        #expect(out.count > input.count + input.count / 64 + 1024)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pipetrace-gzip-grow-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(input).write(to: dir.appendingPathComponent("in"))
        try Data(out).write(to: dir.appendingPathComponent("in.gz"))
        try Shell.run(["sh", "-c", "gzip -dc \"$0/in.gz\" | cmp - \"$0/in\"", dir.path])
    }
}

@Suite("OTLP bytes, decoded by the opentelemetry-proto package",
       .enabled(if: RootRequirement.enabled(when: OTLPDecoder.available)))
struct OTLPRequestTests {
    @Test("spans: a merged hop is CLIENT around SERVER; trace and parent links, timestamps, names, status, semantic-convention attributes")
    func traces() throws {
        var linker = SpanLinker(salt: 42)
        let spans = Chain.spans(&linker)
        let decoded = try OTLPDecoder.decode("traces", OTLPTraceRequest(spans: spans).encoded())
        let trace = hex(linker.traceID(10))
        let server = [10, 11, 12].map { hex(linker.spanID(UInt64($0))) }
        let client = [10, 11].map { hex(linker.clientSpanID(UInt64($0))) }
        let rootAttributes: [String: Any] = [
            "http.request.method": ["string": "POST"], "url.path": ["string": "/api/v1/write"],
            "url.query": ["string": "extra_label=a"], "http.response.status_code": ["int": 204],
            "server.address": ["string": "10.0.0.2"], "server.port": ["int": 8428],
            "client.address": ["string": "10.0.0.1"], "client.port": ["int": 40000],
            "network.protocol.name": ["string": "http"], "network.protocol.version": ["string": "1.1"],
            "http.request.body.size": ["int": 1000], "http.response.body.size": ["int": 0],
            "pipetrace.hop": ["string": "collector→lb"], "pipetrace.client.container": ["string": "collector"],
            "pipetrace.server.container": ["string": "lb"], "pipetrace.side": ["string": "both"],
            "pipetrace.network_ms": ["double": 2.0], "pipetrace.server_ms": ["double": 28.0],
            "pipetrace.retransmits": ["int": 0],
        ]
        let childAttributes: [String: Any] = [
            "http.request.method": ["string": "POST"], "url.path": ["string": "/api/v1/write"],
            "http.response.status_code": ["int": 204],
            "server.address": ["string": "10.0.0.3"], "server.port": ["int": 8429],
            "client.address": ["string": "10.0.0.2"], "client.port": ["int": 41000],
            "network.protocol.name": ["string": "http"], "network.protocol.version": ["string": "1.1"],
            "http.request.body.size": ["int": 990], "http.response.body.size": ["int": 0],
            "pipetrace.hop": ["string": "lb→aggregator"], "pipetrace.client.container": ["string": "lb"],
            "pipetrace.server.container": ["string": "aggregator"], "pipetrace.side": ["string": "both"],
            "pipetrace.network_ms": ["double": 1.0], "pipetrace.server_ms": ["double": 24.0],
            "pipetrace.retransmits": ["int": 2],
        ]
        let unset: [String: Any] = ["code": "STATUS_CODE_UNSET", "message": ""]
        let t0 = 1_700_000_000_000_000_000
        // Each merged hop as a CLIENT span (the client's 30 ms) around a SERVER span (the server's 28 ms,
        // from the server's own start; the child's, without one, centred), each in the resource of the
        // container that made it.
        let expected: [[String: Any]] = [
            ["resource": ["service.name": ["string": "collector"]], "scope": "pipetrace", "trace_id": trace, "span_id": client[0],
             "parent_span_id": "", "name": "POST /api/v1/write", "kind": "SPAN_KIND_CLIENT",
             "start": t0, "end": t0 + 30_000_000, "status": unset, "attributes": rootAttributes],
            ["resource": ["service.name": ["string": "lb"]], "scope": "pipetrace", "trace_id": trace, "span_id": server[0],
             "parent_span_id": client[0], "name": "POST /api/v1/write", "kind": "SPAN_KIND_SERVER",
             "start": t0 + 1_500_000, "end": t0 + 29_500_000, "status": unset, "attributes": rootAttributes],
            ["resource": ["service.name": ["string": "lb"]], "scope": "pipetrace", "trace_id": trace, "span_id": client[1],
             "parent_span_id": server[0], "name": "POST /api/v1/write", "kind": "SPAN_KIND_CLIENT",
             "start": t0 + 1_000_000, "end": t0 + 26_000_000, "status": unset, "attributes": childAttributes],
            ["resource": ["service.name": ["string": "aggregator"]], "scope": "pipetrace", "trace_id": trace, "span_id": server[1],
             "parent_span_id": client[1], "name": "POST /api/v1/write", "kind": "SPAN_KIND_SERVER",
             "start": t0 + 1_500_000, "end": t0 + 25_500_000, "status": unset, "attributes": childAttributes],
            ["resource": ["service.name": ["string": "aggregator"]], "scope": "pipetrace", "trace_id": trace, "span_id": server[2],
             "parent_span_id": server[1], "name": "GET /api/v1/query", "kind": "SPAN_KIND_CLIENT",
             "start": t0 + 2_000_000, "end": t0 + 22_000_000,
             "status": ["code": "STATUS_CODE_ERROR", "message": "HTTP 503"],
             "attributes": [
                "http.request.method": ["string": "GET"], "url.path": ["string": "/api/v1/query"],
                "url.query": ["string": "query=up"], "http.response.status_code": ["int": 503],
                "server.address": ["string": "10.0.0.4"], "server.port": ["int": 8428],
                "client.address": ["string": "10.0.0.3"], "client.port": ["int": 42000],
                "network.protocol.name": ["string": "http"], "network.protocol.version": ["string": "1.1"],
                "http.request.body.size": ["int": 120], "http.response.body.size": ["int": 45],
                "pipetrace.hop": ["string": "aggregator→?"], "pipetrace.client.container": ["string": "aggregator"],
                "pipetrace.side": ["string": "client"], "pipetrace.retransmits": ["int": 0],
             ]],
        ]
        #expect(decoded.count == 5)
        for (got, want) in zip(decoded, expected) {
            #expect(same(got, want), "\(got)\n≠\n\(want)")
        }
    }

    @Test("slow requests as WARN log records carrying their span's ids, at the request's end")
    func logs() throws {
        var linker = SpanLinker(salt: 42)
        let spans = Chain.spans(&linker)
        // 24 ms: the root (30 ms) and its child (25 ms) are slow, the 20 ms grandchild is not;
        // a merged hop's log points at its CLIENT span, whose duration is the record's.
        let slow = spans.filter { $0.spansWholeRecord && $0.record.duration >= 24_000_000 }
        let decoded = try OTLPDecoder.decode("logs", OTLPLogsRequest(spans: slow, threshold: 24_000_000).encoded())
        #expect(decoded.count == 2)
        #expect(decoded.map { $0["trace_id"] as? String } == [hex(linker.traceID(10)), hex(linker.traceID(10))])
        #expect(decoded.map { $0["span_id"] as? String } == [hex(linker.clientSpanID(10)), hex(linker.clientSpanID(11))])
        #expect(decoded.map { ($0["time"] as? NSNumber)?.int64Value } == [1_700_000_000_030_000_000, 1_700_000_000_026_000_000])
        #expect(decoded.map { ($0["observed_time"] as? NSNumber)?.int64Value } == [1_700_000_000_030_000_000, 1_700_000_000_026_000_000])
        #expect(decoded.map { $0["severity_number"] as? String } == ["SEVERITY_NUMBER_WARN", "SEVERITY_NUMBER_WARN"])
        #expect(decoded.map { $0["severity_text"] as? String } == ["WARN", "WARN"])
        #expect(decoded.map { $0["event_name"] as? String } == ["pipetrace.slow_request", "pipetrace.slow_request"])
        #expect(same(decoded.map { $0["body"]! }, [["string": "slow request: POST /api/v1/write?extra_label=a took 30.000 ms (collector→lb)"],
                                                   ["string": "slow request: POST /api/v1/write took 25.000 ms (lb→aggregator)"]]))
        #expect(same(decoded.map { $0["resource"]! }, [["service.name": ["string": "collector"]], ["service.name": ["string": "lb"]]]))
        let attributes = decoded[0]["attributes"] as? [String: Any] ?? [:]
        #expect(same(attributes["pipetrace.duration_ms"] as Any, ["double": 30.0]))
        #expect(same(attributes["pipetrace.slow_ms"] as Any, ["double": 24.0]))
        #expect(same(attributes["http.response.status_code"] as Any, ["int": 204]))
        #expect(attributes.count == OTLPAttribute.of(Chain.root).count + 2)
    }

    @Test("a oneof value at its default (0, false, \"\") is still present")
    func explicitPresence() throws {
        var r = Chain.grandchild
        r.status = nil
        r.method = nil
        r.target = ""
        r.isComplete = false
        r.parent = nil
        var linker = SpanLinker(salt: 1)
        let decoded = try OTLPDecoder.decode("traces", OTLPTraceRequest(spans: linker.add(r, now: 0)).encoded())
        let attributes = decoded.first?["attributes"] as? [String: Any] ?? [:]
        #expect(same(attributes["url.path"] as Any, ["string": ""]))
        #expect(same(attributes["pipetrace.retransmits"] as Any, ["int": 0]))
        #expect(same(attributes["pipetrace.incomplete"] as Any, ["bool": true]))
        #expect(attributes["http.response.status_code"] == nil && attributes["http.request.method"] == nil)
        #expect(same(decoded.first?["status"] as Any, ["code": "STATUS_CODE_ERROR", "message": "no response"]))
        #expect(decoded.first?["name"] as? String == "HTTP/1.1")
    }
}

@Suite("OTLP sink into a real HTTP receiver", .serialized, .enabled(if: RootRequirement.enabled(when: OTLPDecoder.available)))
struct OTLPSinkTests {
    @Test("URLs: a base gets /v1/traces and /v1/logs; a signal URL gives its base", arguments: [
        ("http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces", "http://127.0.0.1:4318/v1/logs"),
        ("http://otel:4318/", "http://otel:4318/v1/traces", "http://otel:4318/v1/logs"),
        ("http://oo:5080/api/default/v1/traces", "http://oo:5080/api/default/v1/traces", "http://oo:5080/api/default/v1/logs"),
    ])
    func endpoints(_ url: String, _ traces: String, _ logs: String) throws {
        let e = OTLPSink.endpoints(try HTTPEndpoint(url))
        #expect(e.traces.description == traces && e.logs.description == logs)
    }

    @Test("spans to /v1/traces and slow requests to /v1/logs, as application/x-protobuf, gzipped (Python's gzip reads them)")
    func delivered() throws {
        let receiver = try OTLPReceiver()
        let spool = try temporarySpool()
        defer { try? FileManager.default.removeItem(atPath: spool.directory) }
        let sink = OTLPSink(endpoint: try HTTPEndpoint(receiver.baseURL), queue: DeliveryQueue(spool: spool),
                            client: HTTPClient(timeout: 5), slowThreshold: 24_000_000, linker: SpanLinker(salt: 42))
        for r in [Chain.grandchild, Chain.child, Chain.root] { sink.record(r) }
        sink.send([])
        sink.flush(timeout: 10)
        #expect(sink.name == "\(receiver.baseURL)/v1/traces")
        // 5 spans (two merged hops of two, one client-only) and 2 log records.
        #expect(sink.health.sentPoints == 7)
        #expect(sink.health.errors.isEmpty && sink.health.droppedPoints.isEmpty)
        let bodies = receiver.bodies()
        #expect(bodies.map(\.signal) == ["traces", "logs"])
        #expect(bodies.map(\.contentType) == ["application/x-protobuf", "application/x-protobuf"])
        #expect(bodies.map(\.contentEncoding) == ["gzip", "gzip"])
        let spans = try receiver.decoded("traces")
        let linker = SpanLinker(salt: 42)
        #expect(spans.map { $0["span_id"] as? String }
                == [linker.clientSpanID(10), linker.spanID(10), linker.clientSpanID(11), linker.spanID(11), linker.spanID(12)].map(hex))
        #expect(Set(spans.compactMap { $0["trace_id"] as? String }) == [hex(linker.traceID(10))])
        #expect(try receiver.decoded("logs").map { $0["span_id"] as? String } == [10, 11].map { hex(linker.clientSpanID($0)) })
    }

    @Test("a tcp flow's turns are no spans or logs unless flowSpans; a request made while serving one stays in the turn's trace")
    func flowTurns() throws {
        // The root hop as an unparsed protocol's turn: its child (the lb's request) was made while serving it.
        var turn = Chain.root
        (turn.protocolName, turn.method, turn.target, turn.status) = (TCPFlowParser.protocolName, nil, nil, nil)
        let linker = SpanLinker(salt: 42)
        for flowSpans in [false, true] {
            let receiver = try OTLPReceiver()
            let spool = try temporarySpool()
            defer { try? FileManager.default.removeItem(atPath: spool.directory) }
            let sink = OTLPSink(endpoint: try HTTPEndpoint(receiver.baseURL), queue: DeliveryQueue(spool: spool),
                                client: HTTPClient(timeout: 5), slowThreshold: 0, flowSpans: flowSpans, linker: linker)
            for r in [Chain.child, turn] { sink.record(r) }
            sink.flush(timeout: 10)
            let spans = try receiver.decoded("traces")
            let turnSpans = flowSpans ? [linker.clientSpanID(10), linker.spanID(10)] : []
            #expect(spans.map { $0["span_id"] as? String } == (turnSpans + [linker.clientSpanID(11), linker.spanID(11)]).map(hex))
            #expect(Set(spans.compactMap { $0["trace_id"] as? String }) == [hex(linker.traceID(10))])
            #expect(try receiver.decoded("logs").count == (flowSpans ? 2 : 1))
            #expect(sink.health.sentPoints == (flowSpans ? 6 : 3))
        }
    }

    @Test("compression none: bodies go as they are, without Content-Encoding")
    func uncompressed() throws {
        let receiver = try OTLPReceiver()
        let spool = try temporarySpool()
        defer { try? FileManager.default.removeItem(atPath: spool.directory) }
        let sink = OTLPSink(endpoint: try HTTPEndpoint(receiver.baseURL), queue: DeliveryQueue(spool: spool),
                            client: HTTPClient(timeout: 5), slowThreshold: .max, compression: .none, linker: SpanLinker(salt: 42))
        sink.record(Chain.root)
        sink.flush(timeout: 10)
        #expect(receiver.bodies().map(\.contentEncoding) == [""])
        #expect(try receiver.decoded("traces").map { $0["span_id"] as? String } == [hex(SpanLinker(salt: 42).clientSpanID(10)), hex(SpanLinker(salt: 42).spanID(10))])
    }

    @Test("batches spooled gzipped are replayed gzipped by a sink configured without compression")
    func spooledCompressionKept() throws {
        let receiver = try OTLPReceiver()
        receiver.stop()
        let spool = try temporarySpool()
        defer { try? FileManager.default.removeItem(atPath: spool.directory) }
        let down = OTLPSink(endpoint: try HTTPEndpoint(receiver.baseURL), queue: DeliveryQueue(spool: spool),
                            client: HTTPClient(timeout: 1), slowThreshold: .max, linker: SpanLinker(salt: 42))
        down.record(Chain.root)
        down.flush(timeout: 0.2)
        #expect(down.health.spoolBatches == 1)
        try receiver.start()
        let reopened = try SpoolDirectory(directory: spool.directory, limits: .init())
        let up = OTLPSink(endpoint: try HTTPEndpoint(receiver.baseURL), queue: DeliveryQueue(spool: reopened),
                          client: HTTPClient(timeout: 5), slowThreshold: .max, compression: .none, linker: SpanLinker(salt: 42))
        up.flush(timeout: 10)
        #expect(receiver.bodies().map(\.contentEncoding) == ["gzip"])
        #expect(try receiver.decoded("traces").count == 2)
    }

    @Test("receiver stopped under steady traffic: every span arrives after its restart, in order, none twice")
    func outageReplay() throws {
        let receiver = try OTLPReceiver()
        let spool = try temporarySpool()
        defer { try? FileManager.default.removeItem(atPath: spool.directory) }
        let sink = OTLPSink(endpoint: try HTTPEndpoint(receiver.baseURL),
                            queue: DeliveryQueue(spool: spool, maxMemoryBatches: 4, spillAfterFailures: 2),
                            client: HTTPClient(timeout: 2), backoff: Backoff(initial: 0.05, maximum: 0.4),
                            slowThreshold: .max, linker: SpanLinker(salt: 9))
        let steps = 60
        var spooledDuringOutage = 0
        for step in 0..<steps {
            if step == 15 { receiver.stop() }
            if step == 45 { try receiver.start() }
            var r = Chain.root
            r.id = UInt64(step + 1)
            sink.record(r)
            sink.send([])
            usleep(50_000)
            if step == 44 { spooledDuringOutage = sink.health.spoolBatches }
        }
        sink.flush(timeout: 20)
        #expect(spooledDuringOutage > 4)
        #expect(sink.health.errors.values.reduce(0, +) > 0)
        // Each merged record is two spans, CLIENT and SERVER.
        #expect(sink.health.sentPoints == UInt64(2 * steps))
        #expect(sink.health.spoolBatches == 0 && sink.health.droppedPoints.isEmpty)
        let linker = SpanLinker(salt: 9)
        let received = try receiver.decoded("traces").map { $0["span_id"] as? String ?? "" }
        #expect(received == (1...steps).flatMap { [hex(linker.clientSpanID(UInt64($0))), hex(linker.spanID(UInt64($0)))] })
    }

    @Test("an unreachable receiver fills the spool; past its bound the oldest spans are dropped and counted")
    func spoolFull() throws {
        let spool = try temporarySpool(.init(maxBytes: 1 << 20, maxBatches: 3))
        defer { try? FileManager.default.removeItem(atPath: spool.directory) }
        let sink = OTLPSink(endpoint: try HTTPEndpoint("http://127.0.0.1:\(freePort())"),
                            queue: DeliveryQueue(spool: spool, maxMemoryBatches: 2, spillAfterFailures: 1),
                            client: HTTPClient(timeout: 1), backoff: Backoff(initial: 0.01, maximum: 0.02),
                            slowThreshold: .max, maxSpansPerBatch: 7, linker: SpanLinker(salt: 1))
        // Seen from the client only: one span each.
        var r = Chain.grandchild
        r.parent = nil
        for id in 1...70 {
            r.id = UInt64(id)
            sink.record(r)
        }
        sink.flush(timeout: 0.5)
        // 10 batches of 7 spans: 3 fit the spool, 7 were dropped.
        #expect(sink.health.spoolBatches == 3)
        #expect(sink.health.droppedPoints == ["spool_full": 49])
        #expect(sink.health.errors["connect", default: 0] > 0)
    }
}

@Suite("Slow-request log bodies")
struct OTLPLogBodyTests {
    @Test("the duration in milliseconds to three decimals, rounded to the microsecond", arguments: [
        (UInt64(1_234_567), "1.235 ms"), (5_000, "0.005 ms"), (499, "0.000 ms"), (999_999_500, "1000.000 ms"), (30_000_000, "30.000 ms"),
    ])
    func duration(_ nanoseconds: UInt64, _ text: String) {
        var r = Chain.grandchild
        r.duration = nanoseconds
        let span = OTLPSpan(record: r, kind: .client, traceID: [], spanID: [], parentSpanID: [])
        #expect(OTLPLogsRequest.body(span) == "slow request: GET /api/v1/query?query=up took \(text) (aggregator→?)")
    }
}
