import Foundation
import Glibc
import TestSupport
import Testing
@testable import Exporter
@testable import ExporterCore

/// deploy/'s Prometheus rules and Grafana dashboard, judged by promtool and
/// by a real Prometheus that `pipetrace export` feeds.
@Suite("deploy/: Prometheus rules and the Grafana dashboard", .serialized)
struct DeployTests {
    static let deploy = Repository.root.appendingPathComponent("deploy").path
    static let rules = deploy + "/prometheus-rules.yml"

    @Test("promtool checks the rules and runs their unit tests: each alert fires on its series and stays quiet on the others",
          .enabled(if: RootRequirement.enabled(when: Command.exists("promtool"))))
    func promtool() throws {
        let check = try Command.run(["promtool", "check", "rules", Self.rules])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let test = try Command.run(["promtool", "test", "rules", Self.deploy + "/prometheus-rules.test.yml"])
        #expect(test.status == 0, "\(test.stdout)\(test.stderr)")
        // Every alert has a unit test, and a runbook line.
        let text = try String(contentsOfFile: Self.rules, encoding: .utf8)
        let tests = try String(contentsOfFile: Self.deploy + "/prometheus-rules.test.yml", encoding: .utf8)
        let alerts = text.split(separator: "\n").compactMap { line in
            line.trimmingCharacters(in: .whitespaces).hasPrefix("- alert: ") ? line.split(separator: " ").last.map(String.init) : nil
        }
        #expect(alerts.count == 6)
        for alert in alerts { #expect(tests.contains("alertname: \(alert)"), "\(alert) has no unit test") }
        #expect(text.components(separatedBy: "runbook: ").count - 1 == alerts.count)
    }

    /// Every query of every panel, as Grafana would send it over the last few minutes.
    static func dashboardQueries() throws -> [(panel: String, expr: String)] {
        let data = try Data(contentsOf: URL(fileURLWithPath: deploy + "/grafana-dashboard.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        return panels.flatMap { panel in
            (panel["targets"] as? [[String: Any]] ?? []).map { target in
                (panel["title"] as? String ?? "?",
                 (target["expr"] as? String ?? "").replacingOccurrences(of: "$__rate_interval", with: "1m"))
            }
        }
    }

    @Test("every dashboard panel's query returns data from a Prometheus that export fed with real lossy traffic and the rules",
          .enabled(if: RootRequirement.testsEnabled && RootRequirement.enabled(when: ReceiverProcess.available)))
    func dashboardHasData() throws {
        let queries = try Self.dashboardQueries()
        #expect(queries.count >= 14)
        let prometheus = try ReceiverProcess(.prometheus, rules: Self.rules)
        let net = try TestNetwork()
        defer { net.remove() }
        // Lose a tenth of what reaches the client, so the server retransmits.
        try Shell.run(net.exec(net.client, ["iptables", "-A", "INPUT", "-p", "tcp", "-m", "statistic",
                                            "--mode", "random", "--probability", "0.1", "-j", "DROP"]))
        let site = NSTemporaryDirectory() + "pipetrace-dashboard-site-\(UUID().uuidString)"
        let spool = NSTemporaryDirectory() + "pipetrace-dashboard-spool-\(UUID().uuidString)"
        defer {
            try? FileManager.default.removeItem(atPath: site)
            try? FileManager.default.removeItem(atPath: spool)
        }
        try FileManager.default.createDirectory(atPath: site, withIntermediateDirectories: true)
        try Data(repeating: UInt8(ascii: "x"), count: 1 << 20).write(to: URL(fileURLWithPath: site + "/big"))
        let server = try Child(net.exec(net.server, ["python3", "-m", "http.server", "8080", "--bind", net.serverAddress,
                                                     "--directory", site]))
        // Three sinks: Prometheus; a path it answers 404 (samples dropped for good); a closed port (errors, spool).
        let export = try Child([Repository.pipetraceBinary, "export", "--listen", "", "--interval", "1", "--slow-ms", "0",
                                "--remote-write", prometheus.writeURL, "--remote-write", prometheus.baseURL + "/api/v1/nowhere",
                                "--remote-write", "http://127.0.0.1:\(freePort())/api/v1/write",
                                "--spool-dir", spool, "--port", "8080"])
        // The closed port's warning may come first; the traffic starts once the probe is attached.
        var lines: [String] = []
        while lines.count < 5, let line = export.readErrorLine() {
            lines.append(line)
            if line.hasPrefix("pipetrace: exporting") { break }
        }
        #expect(lines.last?.hasPrefix("pipetrace: exporting") == true, "\(lines)")
        let url = "http://\(net.serverAddress):8080"
        let script = "for i in $(seq 15); do curl -s -o /dev/null \(url)/big; curl -s -o /dev/null \(url)/missing; "
            + "curl -s -o /dev/null -X DELETE \(url)/big; done"
        try Shell.run(net.exec(net.client, ["sh", "-c", script]))

        var empty: [(String, String)] = []
        let deadline = Date().addingTimeInterval(90)
        repeat {
            sleep(2)
            empty = try queries.filter { try prometheus.instant($0.expr).isEmpty }
        } while !empty.isEmpty && Date() < deadline
        #expect(empty.isEmpty, "panels without data: \(empty)")
        // The hop is the two namespaces, and its retransmits are real.
        let retransmits = try prometheus.instant("pipetrace:tcp_retransmits:rate5m")
        #expect(retransmits.contains { $0.0["client_container"] == net.client && $0.0["server_container"] == net.server && $0.1 > 0 },
                "\(retransmits)")
        let errors = try prometheus.instant("pipetrace:request_errors:ratio5m")
        #expect(errors.contains { $0.1 > 0 && $0.1 < 1 }, "\(errors)")
        export.signal(SIGKILL)
        server.signal(SIGKILL)
    }
}
