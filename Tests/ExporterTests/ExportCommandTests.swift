import Foundation
import Glibc
import TestSupport
import Testing
@testable import Exporter

@Suite("pipetrace export end to end: probe, analyzer, victoria-metrics", .serialized,
       .enabled(if: RootRequirement.testsEnabled && RootRequirement.enabled(when: ReceiverProcess.available)))
struct ExportCommandTests {
    @Test("requests to a real server arrive in victoria-metrics as per-hop histograms; our own writes do not")
    func endToEnd() throws {
        let vm = try ReceiverProcess(.victoriaMetrics)
        let httpPort = freePort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-m", "http.server", String(httpPort), "--bind", "127.0.0.1"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { kill(server.processIdentifier, SIGKILL) }
        let spool = NSTemporaryDirectory() + "pipetrace-e2e-spool-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: spool) }
        let metricsPort = freePort()
        let export = Process()
        export.executableURL = URL(fileURLWithPath: Repository.pipetraceBinary)
        export.arguments = ["export", "--listen", "127.0.0.1:\(metricsPort)", "--remote-write", vm.writeURL, "--interval", "1",
                            "--spool-dir", spool]
        let errors = Pipe()
        export.standardError = errors
        export.standardOutput = FileHandle.nullDevice
        try export.run()
        let log = ErrorCollector(errors.fileHandleForReading)
        defer { if export.isRunning { kill(export.processIdentifier, SIGKILL) } }
        let client = HTTPClient(timeout: 5)
        let metricsURL = try HTTPEndpoint("http://127.0.0.1:\(metricsPort)/metrics")
        #expect(eventually { (try? client.get(metricsURL))?.status == 200 })
        #expect(eventually { (try? client.get(HTTPEndpoint("http://127.0.0.1:\(httpPort)/"))) != nil })
        for i in 0..<10 { _ = try client.get(try HTTPEndpoint("http://127.0.0.1:\(httpPort)/items/\(i)?q=\(i)")) }
        usleep(2_500_000)
        kill(export.processIdentifier, SIGTERM)
        let exitDeadline = Date().addingTimeInterval(30)
        while export.isRunning, Date() < exitDeadline { usleep(100_000) }
        let stderr = log.text()
        #expect(export.terminationStatus == 0, "\(stderr)")
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
