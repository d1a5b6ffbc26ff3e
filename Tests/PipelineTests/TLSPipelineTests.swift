import Analyzer
import Foundation
import Glibc
import TestSupport
import Testing

extension PipelineTests {
    /// tshark, given the client's session keys, decrypts a capture of the same traffic: its requests,
    /// paths and statuses are the ground truth for what pipetrace read from OpenSSL.
    @Test("TLS through nginx: the plaintext is read from OpenSSL on both ends, equals what tshark decrypts, and the hop chain is linked")
    func tlsTerminatingLoadBalancer() throws {
        let pipeline = try TestPipeline(delayMilliseconds: 20, tls: true)
        defer { pipeline.remove() }
        let pcap = pipeline.directory.appendingPathComponent("client.pcap").path
        var tcpdump: Child?
        let run = try PipelineRun(pipeline, requests: [(2, "/fast"), (3, "/slow"), (1, "/missing")]) {
            let capture = try Child(pipeline.exec(pipeline.client, ["tcpdump", "-U", "-n", "-i", "eth0", "-w", pcap,
                                                                    "tcp port \(pipeline.lbPort)"]))
            tcpdump = capture
            #expect(capture.readErrorLine()?.contains("listening on eth0") == true)
        }
        usleep(200_000)
        tcpdump?.signal(SIGKILL)
        tcpdump?.wait()

        let decrypted = try Shell.run(["tshark", "-r", pcap, "-d", "tcp.port==\(pipeline.lbPort),tls", "-o", "tls.keylog_file:\(pipeline.keyLog)", "-Y", "http.response",
                                       "-T", "fields", "-E", "separator=|", "-e", "http.response_for.uri", "-e", "http.response.code"])
            .split(separator: "\n").map { line -> (path: String, status: Int) in
                let f = line.split(separator: "|").map(String.init)
                let path = f.first.flatMap { URL(string: $0)?.path } ?? ""
                return (path, Int(f.last ?? "") ?? 0)
            }
        let front = run.records.filter { $0.hop == "\(pipeline.client)→\(pipeline.lb)" }.sorted { $0.start < $1.start }
        #expect(decrypted.count == 6, "tshark decrypted \(decrypted)")
        #expect(front.map(\.target) == decrypted.map(\.path), "\(front.map(\.json))")
        #expect(front.map(\.status) == decrypted.map(\.status))
        #expect(front.map(\.status) == run.timings.map(\.status), "the client's own statuses")
        for record in front {
            #expect(record.side == .both, "seen from Python's and nginx's OpenSSL: \(record.json)")
            #expect(record.attributes["tls"] == "true", "\(record.json)")
            #expect(record.client.comm == "python3" && record.server.comm == "nginx", "\(record.json)")
        }
        // TLS in, cleartext out: the backend's requests hang under the TLS requests that caused them.
        let back = run.hop(pipeline.lb, pipeline.backend, path: "/slow")
        let outer = front.filter { $0.target == "/slow" }
        #expect(back.count == 3 && outer.count == 3)
        for (o, inner) in zip(outer, back) { #expect(inner.parent == o.id, "\(inner.json) under \(o.json)") }
        #expect(back.allSatisfy { $0.attributes["tls"] == nil }, "the backend's hop is cleartext")
        // No request was made of the ciphertext.
        #expect(run.records.allSatisfy { $0.method == "GET" }, "\(run.records.map(\.json))")
    }
}

extension PipelineTests {
    /// A container brings its own libssl: a file the probe has not attached to when it starts.
    @Test("a process started after the probe with its own copy of libssl (as in a container) is found after its exec and read in plaintext")
    func tlsLibraryFoundAfterExec() throws {
        let pipeline = try TestPipeline(delayMilliseconds: 1, tls: true)
        defer { pipeline.remove() }
        let libraries = pipeline.directory.appendingPathComponent("lib")
        try FileManager.default.createDirectory(at: libraries, withIntermediateDirectories: true)
        let system = try #require(["/usr/lib/x86_64-linux-gnu/libssl.so.3", "/lib/x86_64-linux-gnu/libssl.so.3"]
            .first { FileManager.default.fileExists(atPath: $0) })
        try FileManager.default.copyItem(atPath: system, toPath: libraries.appendingPathComponent("libssl.so.3").path)
        // The client waits 1.5 s after its exec, its copy mapped, before it connects.
        let run = try PipelineRun(pipeline, requests: [(3, "/fast")],
                                  clientPrefix: ["env", "LD_LIBRARY_PATH=\(libraries.path)"], clientDelay: 1.5)
        let front = run.records.filter { $0.hop == "\(pipeline.client)→\(pipeline.lb)" }
        #expect(front.count == 3, "\(run.records.map(\.json))")
        #expect(front.allSatisfy { $0.side == .both && $0.target == "/fast" && $0.status == 200 }, "\(front.map(\.json))")
        #expect(run.timings.count == 3)
    }
}

extension PipelineTests {
    /// curl offers h2 by ALPN, nginx takes it: the TLS plaintext is HTTP/2, judged by tshark with curl's keys.
    @Test("HTTP/2 over TLS (ALPN h2): each stream a record with the path and status tshark decrypts, the hop behind it linked")
    func http2OverTLS() throws {
        let pipeline = try TestPipeline(delayMilliseconds: 1, tls: true)
        defer { pipeline.remove() }
        let pcap = pipeline.directory.appendingPathComponent("h2.pcap").path
        var tcpdump: Child?
        let paths = ["/fast", "/missing", "/slow"]
        let traced = try PipelineRun.trace(pipeline) {
            try pipeline.startServers()
            let capture = try Child(pipeline.exec(pipeline.client, ["tcpdump", "-U", "-n", "-i", "eth0", "-w", pcap,
                                                                    "tcp port \(pipeline.lbPort)"]))
            tcpdump = capture
            _ = capture.readErrorLine()
            return try Child(pipeline.exec(pipeline.client, ["env", "SSLKEYLOGFILE=\(pipeline.keyLog)", "curl", "-sk", "--http2",
                                                             "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null"]
                + paths.map { "https://\(pipeline.lbAddress):\(pipeline.lbPort)\($0)" }))
        }
        usleep(200_000)
        tcpdump?.signal(SIGKILL)
        tcpdump?.wait()
        #expect(traced.client.wait() == 0)
        let decrypted = try Shell.run(["tshark", "-r", pcap, "-d", "tcp.port==\(pipeline.lbPort),tls", "-o", "tls.keylog_file:\(pipeline.keyLog)",
                                       "-Y", "http2.header.value", "-T", "fields", "-E", "separator=|", "-e", "http2.headers.path"])
            .split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        let front = traced.records.filter { $0.hop == "\(pipeline.client)→\(pipeline.lb)" }.sorted { $0.start < $1.start }
        #expect(decrypted == paths, "tshark decrypted the paths \(decrypted)")
        #expect(front.map(\.protocolName) == ["h2", "h2", "h2"], "\(front.map(\.json))")
        #expect(front.map(\.target) == paths)
        #expect(front.allSatisfy { $0.status == 200 && $0.side == .both && $0.attributes["tls"] == "true" }, "\(front.map(\.json))")
        let back = traced.records.filter { $0.hop == "\(pipeline.lb)→\(pipeline.backend)" }.sorted { $0.start < $1.start }
        #expect(back.count == 3)
        for (outer, inner) in zip(front, back) { #expect(inner.parent == outer.id, "\(inner.json) under \(outer.json)") }
    }
}

extension PipelineTests {
    /// `--no-tls-plaintext` loads no uprobes: nothing traps in libssl, and the TLS hop is a flow of ciphertext.
    @Test("stat --no-tls-plaintext: no TLS library is hooked, the TLS hop shows as ciphertext flows without requests, the cleartext hop behind it still as requests")
    func statWithoutTLSPlaintext() throws {
        let pipeline = try TestPipeline(delayMilliseconds: 1, tls: true)
        defer { pipeline.remove() }
        try pipeline.startServers()
        let stat = try pipeline.startStat(["--group-by", "hop", "--top", "50", "--no-tls-plaintext"])
        let client = try pipeline.startClient([(4, "/fast")])
        #expect(try pipeline.timings(of: client).count == 4)
        usleep(300_000)
        stat.signal(SIGINT)
        let output = stat.readAll()
        #expect(stat.wait() == 0, "\(stat.readAllErrors())")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
        let groups = try #require(report["groups"] as? [[String: Any]])
        let records = Dictionary(grouping: groups.flatMap { $0["slowest"] as? [[String: Any]] ?? [] }) { $0["hop"] as? String ?? "" }
        let front = records["\(pipeline.client)→\(pipeline.lb)"] ?? []
        let back = records["\(pipeline.lb)→\(pipeline.backend)"] ?? []
        #expect(!front.isEmpty, "\(output)")
        #expect(front.allSatisfy { $0["protocol"] as? String == "tcp" && $0["method"] is NSNull }, "ciphertext, no requests: \(front)")
        #expect(back.count == 4 && back.allSatisfy { $0["target"] as? String == "/fast" && $0["status"] as? Int == 200 }, "\(back)")
    }
}
