import Analyzer
import Foundation
import Glibc
import TestSupport
import Testing

/// gRPC and HTTP/2 on the real kernel, judged by real peers: grpcio's own
/// status codes, message counts and clock, nginx's grpc_pass, curl's HTTP/2,
/// and tshark's HTTP/2 dissector on a capture of the same traffic.
@Suite("gRPC and HTTP/2 through a real proxy (root)", .serialized, .enabled(if: RootRequirement.testsEnabled))
struct GRPCPipelineTests {
    static let calls = ["3:Say", "2:Fail", "2:Watch:4", "1:Say"]
    static let callCount = 8

    /// Traces the calls through nginx (client → lb → backend) with a capture on the lb running.
    func run(_ pipeline: TestPipeline, calls: [String] = GRPCPipelineTests.calls, direct: Bool = false)
        throws -> (records: [RequestRecord], calls: [GRPCCall], capture: String) {
        var capture: (Child, String)?
        let traced = try PipelineRun.trace(pipeline) {
            try pipeline.startGRPCServers()
            capture = try pipeline.startCapture("grpc.pcap")
            return direct
                ? try pipeline.startGRPCClient(in: pipeline.lb, target: "\(pipeline.backendAddress):\(pipeline.grpcPort)", calls)
                : try pipeline.startGRPCClient(in: pipeline.client, target: "\(pipeline.lbAddress):\(pipeline.lbPort)", calls)
        }
        let grpcCalls = try pipeline.grpcCalls(of: traced.client)
        let path = try pipeline.stopCapture(try #require(capture))
        return (traced.records.filter { $0.protocolName == "grpc" }.sorted { $0.start < $1.start }, grpcCalls, path)
    }

    /// The client's own view of each call next to pipetrace's record of it, in order.
    static func agree(_ records: [RequestRecord], _ calls: [GRPCCall], toleranceMs: Double) {
        #expect(records.count == calls.count, "\(records.map(\.json))")
        for (record, call) in zip(records, calls) {
            #expect(record.method == call.method && record.target == "/" + call.method, "\(record.json)")
            #expect(record.status == call.code, "client saw \(call.code): \(record.json)")
            #expect(record.outcome == RequestRecord.Outcome(grpcStatus: call.code))
            #expect(Int(record.responseMessages ?? 0) == call.messages, "client got \(call.messages): \(record.json)")
            #expect(record.side == .both && record.isComplete, "\(record.json)")
        }
    }

    @Test("grpcio client and server directly: each call one record, with the client's status codes, message counts and time")
    func direct() throws {
        let pipeline = try TestPipeline()
        defer { pipeline.remove() }
        let (records, calls, _) = try run(pipeline, direct: true)
        try #require(calls.count == GRPCPipelineTests.callCount)
        GRPCPipelineTests.agree(records, calls, toleranceMs: 1)
        // The client brackets the same syscalls with its clock, a little wider: its Python layer hands the call to
        // gRPC's own thread. Each record fits inside the client's time; the typical gap is under 1 ms (the worst
        // depends on the scheduler when the full suite runs beside this test).
        var gaps: [Double] = []
        for (record, call) in zip(records, calls) {
            #expect(record.duration <= call.duration_ns, "pipetrace \(Double(record.duration) / 1e6) ms, client \(call.milliseconds) ms")
            gaps.append(call.milliseconds - Double(record.duration) / 1e6)
        }
        #expect(gaps.sorted()[gaps.count / 2] <= 1, "client minus pipetrace, ms: \(gaps)")
        let watch = records.filter { $0.method == "demo.Echo/Watch" }
        #expect(watch.allSatisfy { ($0.firstResponse ?? 0) > 0 && $0.firstResponse! <= $0.duration })
        #expect(records.filter { $0.method == "demo.Echo/Fail" }.allSatisfy { $0.attributes["grpc.message"] == "no such item" })
    }

    @Test("through nginx grpc_pass: two hops per call, the backend's the child of the front's, both agreeing with the client")
    func throughNginx() throws {
        let pipeline = try TestPipeline()
        defer { pipeline.remove() }
        let (records, calls, _) = try run(pipeline)
        let front = records.filter { $0.hop == "\(pipeline.client)→\(pipeline.lb)" }
        let back = records.filter { $0.hop == "\(pipeline.lb)→\(pipeline.backend)" }
        try #require(calls.count == GRPCPipelineTests.callCount)
        GRPCPipelineTests.agree(front, calls, toleranceMs: 1)
        GRPCPipelineTests.agree(back, calls, toleranceMs: 1)
        for (outer, inner) in zip(front, back) {
            #expect(inner.parent == outer.id, "lb→backend \(inner.json) should be the child of \(outer.json)")
            #expect(inner.duration <= outer.duration)
        }
    }

    @Test("tshark's HTTP/2 dissector on a capture of the same traffic: same streams, :path and grpc-status, live and via analyze")
    func tshark() throws {
        let pipeline = try TestPipeline()
        defer { pipeline.remove() }
        let (records, _, capture) = try run(pipeline)
        let tshark = try TsharkStreams(capture: capture, ports: [pipeline.lbPort, pipeline.grpcPort])
        func key(_ port: Int?, _ path: String?, _ status: String?) -> String { "\(port ?? 0) \(path ?? "?") \(status ?? "?")" }
        let seen = tshark.streams.map { key($0.serverPort, $0.path, $0.grpcStatus) }.sorted()
        #expect(seen.count == 2 * GRPCPipelineTests.callCount, "\(seen)")
        let live = records.map { key($0.server.port.map(Int.init), $0.target, $0.status.map(String.init)) }.sorted()
        #expect(live == seen)
        let lines = try Shell.run([Repository.pipetraceBinary, "analyze", capture, "--watch"]).split(separator: "\n")
        let fromFile: [RequestRecord] = try lines.map { try JSONDecoder().decode(RequestRecord.self, from: Data($0.utf8)) }
        let analyzed: [String] = fromFile.filter { $0.protocolName == "grpc" }
            .map { key($0.server.port.map(Int.init), $0.target, $0.status.map(String.init)) }.sorted()
        #expect(analyzed == seen)
    }

    @Test("curl --http2-prior-knowledge against nginx: an h2 record with curl's method, path and status, as tshark reads it")
    func curlPriorKnowledge() throws {
        let pipeline = try TestPipeline()
        defer { pipeline.remove() }
        var capture: (Child, String)?
        let traced = try PipelineRun.trace(pipeline) {
            try pipeline.startGRPCServers()
            capture = try pipeline.startCapture("curl.pcap")
            // One connection per path: curl 7.88 fails a second URL reusing a prior-knowledge connection.
            let base = "http://\(pipeline.lbAddress):\(pipeline.lbPort)"
            let curl = "curl -s -o /dev/null -w '%{http_version} %{http_code}\\n' --http2-prior-knowledge"
            return try Child(pipeline.exec(pipeline.client, ["sh", "-c", "\(curl) \(base)/plain && \(curl) \(base)/missing"]))
        }
        let curl = traced.client.readAll().split(separator: "\n")
        #expect(curl == ["2 200", "2 404"])
        let path = try pipeline.stopCapture(try #require(capture))
        let h2 = traced.records.filter { $0.protocolName == "h2" }.sorted { $0.start < $1.start }
        #expect(h2.map { "\($0.method ?? "?") \($0.target ?? "?") \($0.status ?? 0)" } == ["GET /plain 200", "GET /missing 404"])
        #expect(h2.map(\.outcome) == [.ok, .clientError])
        let tshark = try TsharkStreams(capture: path, ports: [pipeline.lbPort])
        #expect(tshark.streams.map { "\($0.path ?? "?") \($0.status ?? "?")" } == ["/plain 200", "/missing 404"])
    }

    @Test("attached to a long-lived gRPC connection: names are right or unknown; a call is fully named when its :path was first sent after attach")
    func attachedMidConnection() throws {
        let pipeline = try TestPipeline()
        defer { pipeline.remove() }
        try pipeline.startGRPCServers()
        let go = pipeline.directory.appendingPathComponent("attached").path
        let before = ["3:Say", "2:Fail"], after = ["3:Say", "2:Fail", "2:Watch:3", "2:Ping"]
        let client = try pipeline.startGRPCClient(in: pipeline.client, target: "\(pipeline.lbAddress):\(pipeline.lbPort)",
                                                  before + ["wait:\(go)"] + after)
        // The calls before attach have run when the client says it waits.
        while let line = client.readLine(), !line.contains("waiting") {}
        let traced = try PipelineRun.trace(pipeline) {
            _ = FileManager.default.createFile(atPath: go, contents: nil)
            return client
        }
        let calls = Array(try pipeline.grpcCalls(of: traced.client).suffix(9))
        let front = traced.records.filter { $0.hop == "\(pipeline.client)→\(pipeline.lb)" }.sorted { $0.start < $1.start }
        try #require(front.count == calls.count, "\(traced.records.map(\.json)) \(traced.counters)")
        let firstSentBefore = Set(["demo.Echo/Say", "demo.Echo/Fail"])
        for (record, call) in zip(front, calls) {
            // Never a wrong value: what is known is the call's.
            #expect(record.target == nil || record.target == "/" + call.method, "\(record.json)")
            #expect(record.method == nil || record.method == "POST" || record.method == call.method, "\(record.json)")
            if record.protocolName == "grpc", let status = record.status { #expect(status == call.code, "\(record.json)") }
            let named = record.target != nil
            #expect(named == !firstSentBefore.contains(call.method), "\(record.json)")
        }
        // Of this mix, the 4 calls to methods first used after attach (Watch, Ping) are fully named: 4 of 9.
        #expect(front.filter { $0.target != nil }.count == 4)
    }

    @Test("stat --group-by hop over the gRPC chain: both hops, the backend's calls children of the front's")
    func statHops() throws {
        let pipeline = try TestPipeline()
        defer { pipeline.remove() }
        try pipeline.startGRPCServers()
        let stat = try pipeline.startStat(["--group-by", "hop", "--top", "3"])
        let client = try pipeline.startGRPCClient(in: pipeline.client, target: "\(pipeline.lbAddress):\(pipeline.lbPort)",
                                                  GRPCPipelineTests.calls)
        #expect(try pipeline.grpcCalls(of: client).count == GRPCPipelineTests.callCount)
        // Time for stat to read the last events off the ring buffer on a busy machine (the full suite runs beside it).
        usleep(1_000_000)
        stat.signal(SIGINT)
        let output = stat.readAll()
        #expect(stat.wait() == 0, "\(stat.readAllErrors())")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
        let groups = try #require(report["groups"] as? [[String: Any]])
        let front = try #require(groups.first { $0["key"] as? String == "\(pipeline.client)→\(pipeline.lb)" }, "\(groups)")
        let back = try #require(groups.first { $0["key"] as? String == "\(pipeline.lb)→\(pipeline.backend)" }, "\(groups)")
        #expect(front["count"] as? Int == GRPCPipelineTests.callCount && back["count"] as? Int == GRPCPipelineTests.callCount, "\(groups)")
        let children = back["slowest"] as? [[String: Any]] ?? []
        #expect(children.allSatisfy { $0["protocol"] as? String == "grpc" && $0["parent"] as? Int != nil },
                "\(children.map { "\($0["protocol"] ?? "") \($0["method"] ?? "") parent \($0["parent"] ?? "")" })")
    }

    @Test("curl --http2 upgrading to h2c (nginx declines upgrades; a hyper-h2 server accepts): the upgrade, then HTTP/2 on the same connection, as tshark reads it")
    func h2cUpgrade() throws {
        let pipeline = try TestPipeline()
        defer { pipeline.remove() }
        let port = 8090
        var capture: (Child, String)?
        let traced = try PipelineRun.trace(pipeline) {
            let server = try Child(pipeline.exec(pipeline.lb, ["python3", Repository.h2cServer, "\(port)"]))
            pipeline.servers.append(server)
            _ = try server.readJSON()
            capture = try pipeline.startCapture("h2c.pcap")
            let base = "http://\(pipeline.lbAddress):\(port)"
            return try Child(pipeline.exec(pipeline.client, ["curl", "-s", "-o", "/dev/null", "-o", "/dev/null", "-w", "%{http_version} %{http_code}\\n",
                                                             "--http2", "\(base)/a", "\(base)/b"]))
        }
        #expect(traced.client.readAll().split(separator: "\n") == ["2 200", "2 200"])
        let path = try pipeline.stopCapture(try #require(capture))
        let front = traced.records.filter { $0.hop == "\(pipeline.client)→\(pipeline.lb)" }.sorted { $0.start < $1.start }
        // The upgrading request is HTTP/1.1's record (101); the next one is HTTP/2's, on stream 3.
        #expect(front.map { "\($0.protocolName) \($0.method ?? "?") \($0.target ?? "?") \($0.status ?? 0)" }
                == ["http/1.1 GET /a 101", "h2 GET /b 200"], "\(traced.records.map(\.json))")
        #expect(front.last?.attributes["http2.stream_id"] == "3" && front.allSatisfy { $0.side == .both })
        #expect(traced.counters.malformed == 0 && traced.counters.protocolSwitches == 2) // one per end
        let tshark = try TsharkStreams(capture: path, ports: [port], as: "http")
        #expect(tshark.streams.map { "\($0.path ?? "-") \($0.status ?? "-")" } == ["- 200", "/b 200"])
    }

    @Test("capture's comments name each gRPC call on the packet tshark finds its HEADERS in, on both hops")
    func captureComments() throws {
        let pipeline = try TestPipeline()
        defer { pipeline.remove() }
        try pipeline.startGRPCServers()
        let pcapng = pipeline.directory.appendingPathComponent("pipetrace.pcapng").path
        let capture = try Child([Repository.pipetraceBinary, "capture", "-w", pcapng,
                                 "--container", pipeline.client, "--container", pipeline.lb, "--container", pipeline.backend])
        let ready = capture.readErrorLine() ?? ""
        #expect(ready.contains("capturing"), "\(ready)")
        let client = try pipeline.startGRPCClient(in: pipeline.client, target: "\(pipeline.lbAddress):\(pipeline.lbPort)", ["3:Say", "2:Fail"])
        #expect(try pipeline.grpcCalls(of: client).map(\.code) == [0, 0, 0, 5, 5])
        usleep(300_000)
        capture.signal(SIGINT)
        #expect(capture.wait() == 0, "\(capture.readAllErrors())")
        func count(_ filter: String) throws -> Int {
            try Shell.run(["tshark", "-r", pcapng, "-d", "tcp.port==\(pipeline.lbPort),http2", "-d", "tcp.port==\(pipeline.grpcPort),http2",
                           "-T", "fields", "-e", "frame.number", "-Y", filter]).split(separator: "\n").count
        }
        #expect(try count("frame.comment contains \"gRPC demo.Echo/Say 0 ok\"") == 2 * 3)
        #expect(try count("frame.comment contains \"gRPC demo.Echo/Fail 5 client_error\"") == 2 * 2)
        // On the packet carrying that call's HEADERS, as tshark decodes them.
        #expect(try count("frame.comment contains \"gRPC demo.Echo/Say \" && http2.headers.path == \"/demo.Echo/Say\"") == 2 * 3)
        #expect(try count("frame.comment contains \"gRPC demo.Echo/Fail \" && http2.headers.path == \"/demo.Echo/Fail\"") == 2 * 2)
    }
}
