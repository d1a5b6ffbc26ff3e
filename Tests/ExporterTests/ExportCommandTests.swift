import Foundation
import Glibc
import TestSupport
import Testing
@testable import Exporter
@testable import ExporterCore

@Suite("pipetrace export end to end: probe, analyzer, victoria-metrics", .serialized,
       .enabled(if: RootRequirement.testsEnabled && RootRequirement.enabled(when: ReceiverProcess.available)))
struct ExportCommandTests {
    @Test("requests to a real server arrive in victoria-metrics as per-hop histograms; our own writes do not")
    func endToEnd() throws {
        let vm = try ReceiverProcess(.victoriaMetrics)
        let httpPort = freePort()
        let server = try ChildProcess(["python3", "-m", "http.server", String(httpPort), "--bind", "127.0.0.1"], output: .discard)
        defer { server.signal(SIGKILL) }
        let spool = NSTemporaryDirectory() + "pipetrace-e2e-spool-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: spool) }
        let metricsPort = freePort()
        // Only this test's server and storage: other suites' servers run at the same time.
        let export = try ChildProcess([Repository.pipetraceBinary, "export", "--listen", "127.0.0.1:\(metricsPort)",
                                       "--remote-write", vm.writeURL, "--interval", "1",
                                       "--spool-dir", spool, "--port", String(httpPort), "--port", String(vm.port)])
        let client = HTTPClient(timeout: 5)
        let metricsURL = try HTTPEndpoint("http://127.0.0.1:\(metricsPort)/metrics")
        #expect(eventually { (try? client.get(metricsURL))?.status == 200 })
        #expect(eventually { (try? client.get(HTTPEndpoint("http://127.0.0.1:\(httpPort)/"))) != nil })
        for i in 0..<10 { _ = try client.get(try HTTPEndpoint("http://127.0.0.1:\(httpPort)/items/\(i)?q=\(i)")) }
        usleep(2_500_000)
        export.signal(SIGTERM)
        let exitDeadline = Date().addingTimeInterval(30)
        while export.isRunning, Date() < exitDeadline { usleep(100_000) }
        let stderr = export.readAllErrors()
        #expect(export.wait() == 0, "\(stderr)")
        #expect(stderr.contains("points delivered"), "\(stderr)")
        var counts: [([String: String], Double)] = []
        #expect(try eventually {
            counts = try vm.instant(#"max_over_time(pipetrace_request_duration_seconds_count{target="/items/{id}"}[5m])"#)
            return counts.first?.1 == 10
        }, "\(counts)\n\(stderr)")
        #expect(counts.first?.0["status_class"] == "4xx" && counts.first?.0["method"] == "GET")
        // victoria-metrics reading our remote writes is traced (it is not us), but those records are left out.
        #expect(try vm.instant(#"pipetrace_request_duration_seconds_count{target="/api/v1/write"}"#).isEmpty)
        #expect(try vm.instant(#"max_over_time(pipetrace_own_traffic_requests_total[5m])"#).first?.1 ?? 0 > 0)
    }
}

@Suite("pipetrace export --otlp end to end: probe, analyzer, an OTLP/HTTP receiver", .serialized,
       .enabled(if: RootRequirement.testsEnabled && RootRequirement.enabled(when: OTLPDecoder.available)))
struct ExportOTLPCommandTests {
    @Test("requests to a real server arrive as CLIENT and SERVER spans and slow-request logs; our own posts are not among them")
    func endToEnd() throws {
        let receiver = try OTLPReceiver()
        let httpPort = freePort()
        let server = try Child(["python3", "-m", "http.server", String(httpPort), "--bind", "127.0.0.1"])
        let spool = NSTemporaryDirectory() + "pipetrace-e2e-otlp-spool-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: spool) }
        let export = try Child([Repository.pipetraceBinary, "export", "--listen", "", "--otlp", receiver.baseURL, "--interval", "1",
                                "--slow-ms", "0", "--spool-dir", spool, "--port", String(httpPort), "--port", String(receiver.port)])
        #expect(export.readErrorLine()?.hasPrefix("pipetrace: exporting") == true)
        let client = HTTPClient(timeout: 5)
        #expect(eventually { (try? client.get(HTTPEndpoint("http://127.0.0.1:\(httpPort)/"))) != nil })
        let before = Int64(Date().timeIntervalSince1970 * 1e9)
        for i in 0..<10 { _ = try client.get(try HTTPEndpoint("http://127.0.0.1:\(httpPort)/items/\(i)?q=\(i)")) }
        let after = Int64(Date().timeIntervalSince1970 * 1e9)
        usleep(2_500_000)
        export.signal(SIGTERM)
        let status = export.wait()
        let stderr = export.readAllErrors()
        #expect(status == 0, "\(stderr)")
        #expect(stderr.contains("\(receiver.baseURL)/v1/traces: "), "\(stderr)")
        server.signal(SIGKILL)

        let spans = try receiver.decoded("traces")
        let items = spans.filter { ($0["name"] as? String) == "GET /items/{id}" }
        // Both ends are traced: each request is a CLIENT span (the root) and a SERVER span under it, in one trace.
        #expect(items.count == 20, "\(spans)")
        let clients = items.filter { $0["kind"] as? String == "SPAN_KIND_CLIENT" }
        let servers = items.filter { $0["kind"] as? String == "SPAN_KIND_SERVER" }
        #expect(clients.count == 10 && servers.count == 10)
        let clientTraces = Dictionary(clients.map { ($0["span_id"] as? String ?? "", $0["trace_id"] as? String ?? "") }) { a, _ in a }
        for span in servers {
            #expect(clientTraces[span["parent_span_id"] as? String ?? ""] == span["trace_id"] as? String, "\(span)")
        }
        for span in items {
            let a = span["attributes"] as? [String: Any] ?? [:]
            #expect(same(a["http.request.method"] as Any, ["string": "GET"]))
            #expect(same(a["http.response.status_code"] as Any, ["int": 404]))
            #expect(same(a["server.port"] as Any, ["int": Int(httpPort)]))
            #expect(same(a["server.address"] as Any, ["string": "127.0.0.1"]))
            #expect(same(a["network.protocol.name"] as Any, ["string": "http"]))
            #expect(same(a["pipetrace.side"] as Any, ["string": "both"]))
            let start = (span["start"] as? NSNumber)?.int64Value ?? 0, end = (span["end"] as? NSNumber)?.int64Value ?? 0
            #expect(before - 1_000_000_000 <= start && start < end && end <= after + 1_000_000_000, "\(before) \(start) \(end) \(after)")
        }
        #expect(clients.allSatisfy { ($0["parent_span_id"] as? String) == "" })
        #expect(Set(clients.compactMap { (($0["attributes"] as? [String: Any])?["url.query"] as? [String: Any])?["string"] as? String })
                == Set((0..<10).map { "q=\($0)" }))
        // The receiver reading our posts is traced (it is not us), but those records are left out.
        #expect(!spans.contains { ($0["name"] as? String)?.contains("/v1/") == true }, "\(spans)")
        // --slow-ms 0: every request is also a log record, tied to its CLIENT span.
        let logs = try receiver.decoded("logs").filter { ($0["event_name"] as? String) == "pipetrace.slow_request" }
        let itemSpanIDs = Set(clients.compactMap { $0["span_id"] as? String })
        #expect(Set(logs.compactMap { $0["span_id"] as? String }).isSuperset(of: itemSpanIDs))
        #expect(receiver.bodies().allSatisfy { $0.contentType == "application/x-protobuf" })
    }
}
