import Analyzer
import Foundation
import TestSupport
import Testing
@testable import Exporter
@testable import ExporterCore

@Suite("https sinks: real servers with a throwaway CA, verified by OpenSSL", .serialized,
       .enabled(if: RootRequirement.enabled(when: ReceiverProcess.available && TestCertificates.available && OTLPDecoder.available)))
struct TLSTests {
    @Test("remote write over https: victoria-metrics (-tls) stores every series, queried back over https")
    func remoteWrite() throws {
        let certificates = try TestCertificates()
        let vm = try ReceiverProcess(.victoriaMetrics, tls: certificates)
        #expect(vm.writeURL.hasPrefix("https://"))
        let spool = try temporarySpool()
        defer { try? FileManager.default.removeItem(atPath: spool.directory) }
        let sink = RemoteWriteSink(endpoint: try HTTPEndpoint(vm.writeURL), queue: DeliveryQueue(spool: spool),
                                   client: HTTPClient(timeout: 5, tls: try certificates.context()))
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let sent = RemoteWriteSinkTests.series(at: now)
        sink.send(sent)
        sink.flush(timeout: 10)
        #expect(sink.health.sentPoints == UInt64(sent.count))
        #expect(sink.health.errors.isEmpty && sink.health.droppedPoints.isEmpty)
        var stored: [(metric: [String: String], values: [Double], timestamps: [Int64])] = []
        #expect(try eventually { stored = try vm.export(#"{__name__=~"pipetrace_.*"}"#); return stored.count == sent.count })
        for s in sent {
            let labels = Dictionary(uniqueKeysWithValues: s.labels.map { ($0.name, $0.value) })
            #expect(stored.first { $0.metric == labels }?.values == [s.samples[0].value], "\(labels)")
        }
    }

    @Test("an untrusted certificate is refused, naming the host and why; nothing is delivered, the batch is kept")
    func untrusted() throws {
        let certificates = try TestCertificates()
        let vm = try ReceiverProcess(.victoriaMetrics, tls: certificates)
        let url = try HTTPEndpoint(vm.writeURL)
        // The system trust store does not know our CA; another CA did not sign the server's certificate.
        for client in [HTTPClient(timeout: 5), HTTPClient(timeout: 5, tls: try TLSContext(.init(caFile: certificates.otherCA)))] {
            let failure = #expect(throws: HTTPClient.Failure.self) { try client.get(url) }
            #expect(failure?.reason == "tls")
            #expect(failure?.description == "\(url): TLS: the certificate of 127.0.0.1:\(vm.port) is not trusted: "
                    + "unable to get local issuer certificate")
        }
        let spool = try temporarySpool()
        defer { try? FileManager.default.removeItem(atPath: spool.directory) }
        let sink = RemoteWriteSink(endpoint: url, queue: DeliveryQueue(spool: spool, spillAfterFailures: 1), client: HTTPClient(timeout: 5),
                                   backoff: Backoff(initial: 0.05, maximum: 0.1))
        sink.send(RemoteWriteSinkTests.series(at: Int64(Date().timeIntervalSince1970 * 1000)))
        usleep(300_000)
        sink.flush(timeout: 0.2)
        #expect(sink.health.sentPoints == 0 && sink.health.errors["tls", default: 0] > 0)
        #expect(sink.health.spoolBatches == 1 && sink.health.droppedPoints.isEmpty)
        #expect(try vm.export(#"{__name__=~"pipetrace_.*"}"#).isEmpty)
    }

    @Test("the certificate must name the host: one for 127.0.0.1 is refused for localhost")
    func hostName() throws {
        let certificates = try TestCertificates()
        let vm = try ReceiverProcess(.victoriaMetrics, tls: certificates)
        let client = HTTPClient(timeout: 5, tls: try certificates.context())
        #expect(try client.get(HTTPEndpoint("https://127.0.0.1:\(vm.port)/health")).status == 200)
        let failure = #expect(throws: HTTPClient.Failure.self) { try client.get(HTTPEndpoint("https://localhost:\(vm.port)/health")) }
        #expect(failure?.description.hasSuffix("TLS: the certificate of localhost:\(vm.port) is not trusted: hostname mismatch") == true,
                "\(failure?.description ?? "")")
    }

    @Test("OTLP over https to a receiver that requires a client certificate (mTLS): with ours spans arrive, without it none")
    func mutualTLS() throws {
        let certificates = try TestCertificates()
        let receiver = try OTLPReceiver(tls: certificates, requireClientCertificate: true)
        let spool = try temporarySpool()
        defer { try? FileManager.default.removeItem(atPath: spool.directory) }
        let sink = OTLPSink(endpoint: try HTTPEndpoint(receiver.baseURL), queue: DeliveryQueue(spool: spool),
                            client: HTTPClient(timeout: 5, tls: try certificates.context(clientCertificate: true)),
                            slowThreshold: .max, linker: SpanLinker(salt: 42))
        sink.record(Chain.root)
        sink.flush(timeout: 10)
        #expect(sink.health.sentPoints == 2 && sink.health.errors.isEmpty)
        #expect(receiver.bodies().map(\.contentEncoding) == ["gzip"])
        #expect(try receiver.decoded("traces").map { $0["kind"] as? String } == ["SPAN_KIND_CLIENT", "SPAN_KIND_SERVER"])

        let anonymous = HTTPClient(timeout: 5, tls: try certificates.context())
        let failure = #expect(throws: HTTPClient.Failure.self) {
            try anonymous.post(HTTPEndpoint(receiver.baseURL + "/v1/traces"), headers: OTLPSink.headers, body: [])
        }
        #expect(failure?.reason == "tls" || failure?.reason == "io", "\(failure?.description ?? "")")
        #expect(receiver.bodies().count == 1)
    }

    @Test("a receiver that hangs up while a large body is sent over TLS is an io error, not a SIGPIPE that kills us")
    func hangUp() throws {
        let certificates = try TestCertificates()
        let port = freePort()
        let server = try Child(["python3", Repository.fixtures + "/tls_hangup.py", String(port), certificates.serverCert, certificates.serverKey])
        #expect(server.readLine() == "ready")
        let client = HTTPClient(timeout: 5, tls: try certificates.context())
        for _ in 0..<3 {
            let failure = #expect(throws: HTTPClient.Failure.self) {
                try client.post(HTTPEndpoint("https://127.0.0.1:\(port)/v1/traces"), headers: [], body: [UInt8](repeating: 7, count: 16 << 20))
            }
            #expect(failure?.reason == "io" || failure?.reason == "tls", "\(failure?.description ?? "")")
        }
    }

    @Test("bad TLS settings are refused at start, naming the key and the file")
    func badSettings() throws {
        let certificates = try TestCertificates()
        let missing = certificates.directory + "/missing.pem"
        #expect(throws: TLSContext.Invalid.self) { try TLSContext(.init(caFile: missing)) }
        do { _ = try TLSContext(.init(caFile: missing)) } catch {
            #expect(error.description.hasPrefix("'tls.ca_file' \(missing): "), "\(error)")
        }
        do { _ = try TLSContext(.init(certFile: certificates.clientCert, keyFile: certificates.serverKey)) } catch {
            #expect(error.description == "'tls.key_file' \(certificates.serverKey) is not the key of 'tls.cert_file' \(certificates.clientCert)")
        }
        #expect(throws: TLSContext.Invalid.self) { try TLSContext(.init(certFile: certificates.clientCert, keyFile: certificates.serverKey)) }
        #expect(throws: TLSContext.Invalid.self) { try TLSContext(.init(certFile: certificates.clientCert)) }
    }
}

@Suite("pipetrace export to https storage: the binary, the probe, victoria-metrics with -tls", .serialized,
       .enabled(if: RootRequirement.testsEnabled && RootRequirement.enabled(when: ReceiverProcess.available && TestCertificates.available)))
struct ExportTLSCommandTests {
    @Test("with --tls-ca-file the requests arrive in victoria-metrics over https; without it the start warns, naming the host and why")
    func endToEnd() throws {
        let certificates = try TestCertificates()
        let vm = try ReceiverProcess(.victoriaMetrics, tls: certificates)
        let httpPort = freePort()
        let server = try Child(["python3", "-m", "http.server", String(httpPort), "--bind", "127.0.0.1"])
        let spool = NSTemporaryDirectory() + "pipetrace-e2e-tls-spool-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: spool) }
        func export(_ extra: [String]) throws -> Child {
            try Child([Repository.pipetraceBinary, "export", "--listen", "", "--remote-write", vm.writeURL, "--interval", "1",
                       "--spool-dir", spool, "--port", String(httpPort), "--port", String(vm.port)] + extra)
        }

        let trusted = try export(["--tls-ca-file", certificates.ca])
        let first = trusted.readErrorLine() ?? ""
        #expect(first.hasPrefix("pipetrace: exporting") && first.contains("remote write to \(vm.writeURL)"), "\(first)")
        let client = HTTPClient(timeout: 5)
        #expect(eventually { (try? client.get(HTTPEndpoint("http://127.0.0.1:\(httpPort)/"))) != nil })
        for i in 0..<5 { _ = try client.get(try HTTPEndpoint("http://127.0.0.1:\(httpPort)/items/\(i)")) }
        usleep(2_500_000)
        trusted.signal(SIGTERM)
        #expect(trusted.wait() == 0)
        let log = trusted.readAllErrors()
        #expect(log.contains("\(vm.writeURL): ") && log.contains("points delivered") && !log.contains("failed attempts"), "\(log)")
        var counts: [([String: String], Double)] = []
        #expect(try eventually {
            counts = try vm.instant(#"max_over_time(pipetrace_request_duration_seconds_count{target="/items/{id}"}[5m])"#)
            return counts.first?.1 == 5
        }, "\(counts)\n\(log)")

        // The system trust store does not know the test CA.
        let untrusted = try export([])
        let warning = untrusted.readErrorLine() ?? ""
        #expect(warning == "pipetrace: warning: remote write \(vm.writeURL): TLS: the certificate of 127.0.0.1:\(vm.port) is not trusted: "
                + "unable to get local issuer certificate; spooling to \(spool)/\(String(vm.writeURL.map { $0.isLetter || $0.isNumber ? $0 : "_" })) until it answers")
        usleep(1_500_000)
        untrusted.signal(SIGTERM)
        #expect(untrusted.wait() == 0)
        let rest = untrusted.readAllErrors()
        #expect(rest.contains("left spooled for the next run") && rest.contains("tls: "), "\(rest)")
        server.signal(SIGKILL)
    }
}
