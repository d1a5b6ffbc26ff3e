import Foundation
import TestSupport
import Testing
@testable import Exporter
@testable import ExporterCore

@Suite("/metrics text, checked by independent parsers")
struct ExpositionTests {
    /// A store and an exposition fed the same updates from a few records and a health snapshot.
    static func fed() -> (SeriesStore, PrometheusExposition) {
        var metrics = RequestMetrics(slowThreshold: 100_000_000)
        var health = ExporterHealth()
        var store = SeriesStore()
        let exposition = PrometheusExposition()
        var updates = metrics.updates(for: record(ms: 3, network: 1, serverMs: 2))
        updates += metrics.updates(for: record(id: 2, ms: 150, client: nil, target: "/q?x=\"1\"", status: 503, retransmits: 2))
        updates += metrics.updates(for: record(id: 3, ms: 40, server: "vm \"main\"\\1", method: "GET", target: "/api/v1/query"))
        var snapshot = HealthSnapshot()
        snapshot.events = 10
        snapshot.sinks["http://127.0.0.1:8428/api/v1/write"] = SinkHealth()
        updates += health.updates(for: snapshot)
        store.apply(updates)
        exposition.apply(updates)
        return (store, exposition)
    }

    @Test("a counter's lines are exactly what Prometheus expects")
    func exact() {
        let exposition = PrometheusExposition()
        exposition.apply(.increment(RequestMetrics.retransmits, [MetricLabel("server_container", "lb"), MetricLabel("client_container", "c")], by: 2))
        #expect(String(decoding: exposition.render(), as: UTF8.self) == """
            # HELP pipetrace_tcp_retransmits_total TCP segments retransmitted while a request was in flight, per container pair.
            # TYPE pipetrace_tcp_retransmits_total counter
            pipetrace_tcp_retransmits_total{client_container="c",server_container="lb"} 2.0

            """)
    }

    @Test("promtool check metrics accepts the text", .enabled(if: RootRequirement.enabled(when: Command.exists("promtool"))))
    func promtool() throws {
        let (_, exposition) = Self.fed()
        let result = try Command.run(["promtool", "check", "metrics"], input: exposition.render())
        // promtool exits 1 for lint problems too; it prints them, so show them.
        #expect(result.status == 0, "promtool: \(result.stdout)\(result.stderr)")
    }

    @Test("prometheus_client's parser reads the same numbers remote write sends",
          .enabled(if: RootRequirement.enabled(when: (try? Command.run(["python3", "-c", "import prometheus_client"]).status) == 0)))
    func pythonParser() throws {
        let (store, exposition) = Self.fed()
        let result = try Command.run(["python3", Repository.fixtures + "/parse_exposition.py"], input: exposition.render())
        #expect(result.status == 0, "\(result.stderr)")
        var parsed: [String: Double] = [:]
        for line in result.stdout.split(separator: "\n") {
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let labels = (o["labels"] as! [String: String]).map { MetricLabel($0.key, $0.value) }.sorted()
            parsed[Self.key(o["name"] as! String, labels)] = (o["value"] as! NSNumber).doubleValue
        }
        var sent: [String: Double] = [:]
        for series in store.timeSeries(at: 0) {
            sent[Self.key(series.name, series.labels.filter { $0.name != "__name__" })] = series.samples[0].value
        }
        #expect(parsed.count == sent.count)
        for (key, value) in sent {
            #expect(parsed[key] == value, "\(key)")
        }
        #expect(parsed.keys.contains { $0.contains(#"server_container=vm "main"\1"#) })
    }

    static func key(_ name: String, _ labels: [MetricLabel]) -> String {
        // The parser writes le="1.0" as le="1.0" and +Inf as +Inf; compare le by value.
        name + "{" + labels.map { l in
            l.name == "le" && l.value != "+Inf" ? "le=\(Double(l.value)!)" : "\(l.name)=\(l.value)"
        }.joined(separator: ",") + "}"
    }
}
