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
        let hosts = try TracedGoHosts(certificateName: "vm")
        defer { hosts.remove() }
        let (network, probe, path) = (hosts.network, hosts.probe, hosts.path)
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

        let isWrite = { (r: RequestRecord) in r.method == "POST" && r.target == "/api/v1/write" }

        // Started after the probe: found by their exec.
        let vm = try Child(network.exec(network.server, ["victoria-metrics", "-tls", "-tlsCertFile", path("cert.pem"),
                                                         "-tlsKeyFile", path("key.pem"), "-httpListenAddr", "\(network.serverAddress):8428",
                                                         "-storageDataPath", path("vmdata")]))
        while let line = vm.readErrorLine(), !line.contains("starting http server") {}
        let prometheus = try Child(network.exec(network.client, ["prometheus", "--config.file", path("prometheus.yml"),
                                                                 "--storage.tsdb.path", path("promdata"),
                                                                 "--web.listen-address", "127.0.0.1:9090", "--log.level", "error"]))
        try hosts.trace(while: { hosts.records.filter(isWrite).count < 5 && prometheus.isRunning }, seconds: 90)
        let libraries = probe.tlsLibraries
        // SIGINT: the test runner's children inherit a blocked SIGTERM. Prometheus sends what it has queued, then exits.
        prometheus.signal(SIGINT)
        try hosts.trace(while: { prometheus.isRunning }, seconds: 60)
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
        try hosts.finish()
        let records = hosts.records
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

extension PipelineTests {
    /// Go's net/http takes h2 by ALPN when both ends are Go: prometheus scraping another prometheus served over
    /// https (its --web.config.file). The server is held to TLS 1.2 so that tshark reads the ALPN choice in the
    /// clear (TLS 1.3 encrypts it); the scraped prometheus' own counter of scrapes it served is the count.
    @Test("Go crypto/tls with HTTP/2 (ALPN h2, as tshark reads it): prometheus scraping prometheus over https, each scrape an h2 GET /metrics 200 from both ends, as many as the scraped one counts")
    func goTLSHTTP2Scrape() throws {
        let hosts = try TracedGoHosts(certificateName: "scraped")
        defer { hosts.remove() }
        let (network, path) = (hosts.network, hosts.path)
        try """
            tls_server_config:
              cert_file: \(path("cert.pem"))
              key_file: \(path("key.pem"))
              max_version: TLS12
            """.write(toFile: path("web.yml"), atomically: true, encoding: .utf8)
        try "global:\n  scrape_interval: 1m\n".write(toFile: path("scraped.yml"), atomically: true, encoding: .utf8)
        let url = "https://\(network.serverAddress):9090"
        try """
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: scraped
                scheme: https
                tls_config:
                  insecure_skip_verify: true
                static_configs:
                  - targets: ['\(network.serverAddress):9090']
            """.write(toFile: path("scraper.yml"), atomically: true, encoding: .utf8)

        let isScrape = { (r: RequestRecord) in r.client.comm == "prometheus" && r.target == "/metrics" }

        let tcpdump = try Child(network.exec(network.client, ["tcpdump", "-i", "any", "-U", "-n", "-w", path("h2.pcap"), "tcp port 9090"]))
        while let line = tcpdump.readErrorLine(), !line.contains("listening on") {}
        let scraped = try Child(network.exec(network.server, ["prometheus", "--config.file", path("scraped.yml"), "--web.config.file", path("web.yml"),
                                                              "--storage.tsdb.path", path("scraped"), "--web.listen-address", "\(network.serverAddress):9090",
                                                              "--log.level", "error"]))
        let scraper = try Child(network.exec(network.client, ["prometheus", "--config.file", path("scraper.yml"), "--storage.tsdb.path", path("scraper"),
                                                              "--web.listen-address", "127.0.0.1:9090", "--log.level", "error"]))
        try hosts.trace(while: { hosts.records.filter(isScrape).count < 4 && scraper.isRunning }, seconds: 90)
        scraper.signal(SIGINT)
        try hosts.trace(while: { scraper.isRunning }, seconds: 60)
        #expect(!scraper.isRunning, "the scraping prometheus did not stop")
        // Scrapes the scraped prometheus served, before this one (counted once answered).
        let metrics = try Shell.run(network.exec(network.client, ["curl", "-sk", "--http2", "\(url)/metrics"]))
        let served = metrics.split(separator: "\n").first { $0.hasPrefix("promhttp_metric_handler_requests_total{code=\"200\"}") }
            .flatMap { $0.split(separator: " ").last.flatMap { Int($0) } }
        try hosts.finish()
        let records = hosts.records
        for child in [scraped, tcpdump] {
            child.signal(SIGKILL)
            child.wait()
        }

        let alpn = try Shell.run(["tshark", "-r", path("h2.pcap"), "-d", "tcp.port==9090,tls", "-Y", "tls.handshake.type == 2",
                                  "-T", "fields", "-e", "tls.handshake.extensions_alpn_str"]).split(separator: "\n")
        #expect(!alpn.isEmpty && alpn.allSatisfy { $0 == "h2" }, "the servers' ALPN choices: \(alpn)")
        let scrapes = records.filter(isScrape)
        #expect(served != nil && scrapes.count == served, "the scraped prometheus served \(String(describing: served)); pipetrace: \(scrapes.map(\.json))")
        for scrape in scrapes {
            #expect(scrape.protocolName == "h2" && scrape.method == "GET" && scrape.status == 200, "\(scrape.json)")
            #expect(scrape.side == .both && scrape.server.comm == "prometheus" && scrape.attributes["tls"] == "true",
                    "both ends from Go's crypto/tls: \(scrape.json)")
        }
        // curl's own scrape, through OpenSSL, is the only other request. None was made of the ciphertext, the
        // handshake included, which net/http runs before its first Read or Write (the probes' hooks): no tcp turn.
        let others = records.filter { !isScrape($0) }
        #expect(others.map { "\($0.client.comm ?? "?") \($0.protocolName) \($0.target ?? "?") \($0.status ?? 0)" } == ["curl h2 /metrics 200"],
                "\(others.map(\.json))")
    }
}
