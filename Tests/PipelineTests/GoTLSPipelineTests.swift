import Analyzer
import Events
import Foundation
import Glibc
import Probe
import TestSupport
import Testing

extension PipelineTests {
    /// Debian's prometheus and victoria-metrics are stripped Go binaries (no .symtab): their plaintext comes from
    /// uprobes placed through .gopclntab. victoria-metrics' own metrics count the writes it served and those that
    /// failed; a write of its own (curl, through OpenSSL) shows what it answers a good one.
    @Test("Go crypto/tls, stripped binaries: prometheus remote-writes over https to victoria-metrics, both ends name POST /api/v1/write with victoria-metrics' count and status")
    func goTLSRemoteWrite() throws {
        let network = try TestNetwork()
        defer { network.remove() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pipetrace-gotls-\(TestNetwork.uniqueID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        try Shell.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=vm",
                       "-keyout", path("key.pem"), "-out", path("cert.pem")])
        let url = "https://\(network.serverAddress):8428"
        try """
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: self
                static_configs:
                  - targets: ['127.0.0.1:9090']
            remote_write:
              - url: \(url)/api/v1/write
                tls_config:
                  insecure_skip_verify: true
                queue_config:
                  batch_send_deadline: 1s
            """.write(toFile: path("prometheus.yml"), atomically: true, encoding: .utf8)

        let resolver = ContainerResolver()
        var configuration = ProbeConfiguration()
        configuration.netns = Set([network.server, network.client].compactMap { resolver.netns(named: $0) })
        let probe = try Probe(configuration: configuration, containers: resolver)
        var analyzer = Analyzer(configuration: AnalyzerConfiguration(wallClock: probe.wallClock))
        var records: [RequestRecord] = []
        let feed: (ProbeEvent) -> Void = { records += analyzer.process($0) }
        let isWrite = { (r: RequestRecord) in r.method == "POST" && r.target == "/api/v1/write" }

        // Started after the probe: found by their exec.
        let vm = try Child(network.exec(network.server, ["victoria-metrics", "-tls", "-tlsCertFile", path("cert.pem"),
                                                         "-tlsKeyFile", path("key.pem"), "-httpListenAddr", "\(network.serverAddress):8428",
                                                         "-storageDataPath", path("vmdata")]))
        while let line = vm.readErrorLine(), !line.contains("starting http server") {}
        let prometheus = try Child(network.exec(network.client, ["prometheus", "--config.file", path("prometheus.yml"),
                                                                 "--storage.tsdb.path", path("promdata"),
                                                                 "--web.listen-address", "127.0.0.1:9090", "--log.level", "error"]))
        var deadline = Date().addingTimeInterval(90)
        while records.filter(isWrite).count < 5, prometheus.isRunning, Date() < deadline {
            try probe.poll(timeoutMilliseconds: 50, feed)
        }
        let libraries = probe.tlsLibraries
        // A second tracer on the host reads the same binaries while the first one's uprobes are on them.
        let second = try Probe(configuration: configuration, containers: resolver)
        let secondFound = second.tlsLibraries.filter { if case .goCryptoTLS = $0.kind { true } else { false } }.map(\.path)
        #expect(Set(secondFound).isSuperset(of: ["/usr/bin/victoria-metrics", "/usr/bin/prometheus"]), "\(secondFound)")
        #expect(second.tlsFailures.isEmpty, "\(second.tlsFailures)")
        second.detach()
        // SIGINT: the test runner's children inherit a blocked SIGTERM. Prometheus sends what it has queued, then exits.
        prometheus.signal(SIGINT)
        deadline = Date().addingTimeInterval(60)
        while prometheus.isRunning, Date() < deadline { try probe.poll(timeoutMilliseconds: 50, feed) }
        #expect(!prometheus.isRunning, "prometheus did not stop")

        // victoria-metrics' answer to a write of its own (an empty snappy block), then its count of writes and failures.
        try Data([0]).write(to: URL(fileURLWithPath: path("empty.snappy")))
        let ok = try Shell.run(network.exec(network.client, ["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                                                            "-H", "Content-Encoding: snappy", "-H", "Content-Type: application/x-protobuf",
                                                            "--data-binary", "@" + path("empty.snappy"), "\(url)/api/v1/write"]))
        let metrics = try Shell.run(network.exec(network.client, ["curl", "-sk", "\(url)/metrics"]))
        let counter = { (name: String) -> Int? in
            metrics.split(separator: "\n").first { $0.hasPrefix(name + "{path=\"/api/v1/write\"") }
                .flatMap { $0.split(separator: " ").last.flatMap { Int($0) } }
        }
        let settle = Date().addingTimeInterval(0.5)
        while Date() < settle { try probe.poll(timeoutMilliseconds: 50, feed) }
        probe.detach()
        probe.drain(feed)
        records += analyzer.finish()
        vm.signal(SIGINT)
        vm.wait()

        let found = libraries.filter { if case .goCryptoTLS = $0.kind { true } else { false } }.map(\.path)
        #expect(Set(found).isSuperset(of: ["/usr/bin/victoria-metrics", "/usr/bin/prometheus"]), "\(found)")
        #expect(probe.tlsFailures.isEmpty, "\(probe.tlsFailures)")

        let hop = records.filter { $0.hop == "\(network.client)→\(network.server)" }
        let writes = hop.filter(isWrite)
        let served = try #require(counter("vm_http_requests_total"), "\(metrics)")
        #expect(counter("vm_http_request_errors_total") == 0)
        #expect(ok == "204")
        #expect(served >= 6 && writes.count == served, "victoria-metrics served \(served) writes; pipetrace: \(writes.map(\.json))")
        #expect(writes.allSatisfy { $0.status == Int(ok) }, "\(writes.map(\.json))")
        for write in writes {
            #expect(write.side == .both, "seen from both Go programs' crypto/tls (curl's: OpenSSL): \(write.json)")
            #expect(["prometheus", "curl"].contains(write.client.comm) && write.server.comm == "victoria-metric", "\(write.json)")
        }
        #expect(writes.filter { $0.client.comm == "prometheus" }.count == served - 1)
        // No request was made of the ciphertext: only the writes and curl's GET /metrics.
        #expect(hop.count == writes.count + 1, "\(hop.map(\.json))")
    }
}
