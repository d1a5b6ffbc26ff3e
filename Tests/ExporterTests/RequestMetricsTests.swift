import Analyzer
import Testing
@testable import Exporter
@testable import ExporterCore

@Suite("Records in, series out")
struct RequestMetricsTests {
    /// The value of one flattened series, by name and the labels that matter.
    static func value(_ series: [TimeSeries], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        series.first { s in
            s.name == name && labels.allSatisfy { k, v in s.labels.contains(MetricLabel(k, v)) }
        }?.samples.first?.value
    }

    @Test("duration, network and server histograms per hop; slow and retransmit counters")
    func series() {
        var metrics = RequestMetrics(slowThreshold: 100_000_000)
        var store = SeriesStore()
        store.apply(metrics.updates(for: record(ms: 3, network: 1, serverMs: 2)))
        store.apply(metrics.updates(for: record(id: 2, ms: 150, status: 503, retransmits: 2)))
        store.apply(metrics.updates(for: record(id: 3, ms: 40, target: "/api/v1/write?extra_label=a")))
        store.apply(metrics.updates(for: record(id: 4, ms: 1, complete: false)))
        let s = store.timeSeries(at: 1000)
        let ok = ["status_class": "2xx", "target": "/api/v1/write", "client_container": "collector", "server_container": "lb",
                  "method": "POST", "protocol": "http/1.1"]
        #expect(Self.value(s, "pipetrace_request_duration_seconds_count", ok) == 2)
        #expect(abs(Self.value(s, "pipetrace_request_duration_seconds_sum", ok)! - 0.043) < 1e-12)
        #expect(Self.value(s, "pipetrace_request_duration_seconds_bucket", ok.merging(["le": "0.0025"]) { $1 }) == 0)
        #expect(Self.value(s, "pipetrace_request_duration_seconds_bucket", ok.merging(["le": "0.005"]) { $1 }) == 1)
        #expect(Self.value(s, "pipetrace_request_duration_seconds_bucket", ok.merging(["le": "0.05"]) { $1 }) == 2)
        #expect(Self.value(s, "pipetrace_request_duration_seconds_bucket", ok.merging(["le": "+Inf"]) { $1 }) == 2)
        #expect(Self.value(s, "pipetrace_request_network_seconds_count", ok) == 1)
        #expect(Self.value(s, "pipetrace_request_server_seconds_sum", ok) == 0.002)
        #expect(Self.value(s, "pipetrace_request_duration_seconds_count", ["status_class": "5xx"]) == 1)
        #expect(Self.value(s, "pipetrace_slow_requests_total", ["status_class": "5xx"]) == 1)
        #expect(Self.value(s, "pipetrace_slow_requests_total", ["status_class": "2xx"]) == nil)
        #expect(Self.value(s, "pipetrace_tcp_retransmits_total", ["client_container": "collector", "server_container": "lb"]) == 2)
        #expect(Self.value(s, "pipetrace_incomplete_requests_total") == 1)
        #expect(s.allSatisfy { $0.samples == [.init(value: $0.samples[0].value, timestamp: 1000)] })
        // __name__ first, then sorted: what remote write receivers expect.
        #expect(s.allSatisfy { $0.labels[0].name == "__name__" && Array($0.labels.dropFirst()) == $0.labels.dropFirst().sorted() })
    }

    @Test("records taken in one batch give the same series as records taken one by one, one update per series")
    func batched() {
        let records = [record(ms: 3, network: 1, serverMs: 2), record(id: 2, ms: 150, status: 503, retransmits: 2),
                       record(id: 3, ms: 40, target: "/api/v1/write?extra_label=a"), record(id: 4, ms: 1, complete: false),
                       record(id: 5, ms: 7, server: "vm", target: "/api/v1/write"), record(id: 6, ms: 2, network: 1, serverMs: 1)]
        var single = RequestMetrics(slowThreshold: 100_000_000)
        var singleStore = SeriesStore()
        for r in records { singleStore.apply(single.updates(for: r)) }
        var batch = RequestMetrics(slowThreshold: 100_000_000)
        var batchStore = SeriesStore()
        for r in records { batch.add(r) }
        let updates = batch.takeUpdates()
        batchStore.apply(updates)
        #expect(batchStore.timeSeries(at: 5) == singleStore.timeSeries(at: 5))
        // Three records of one hop, one observation batch for each histogram.
        #expect(updates.filter { $0.family == RequestMetrics.duration }.count == 3)
        #expect(updates.contains { if case .observe(RequestMetrics.duration, _, let v) = $0 { v.count == 3 } else { false } })
        #expect(batch.takeUpdates().isEmpty)
    }

    @Test("interleaved records of hops alike in every length each count in their own hop, also after the target bound changes")
    func alikeHops() {
        var metrics = RequestMetrics(slowThreshold: 100_000_000)
        var store = SeriesStore()
        // Same lengths everywhere: the remembered last keys cannot tell these apart by slot, only by comparing.
        for i in 0..<12 {
            metrics.add(record(id: UInt64(i), ms: 1, server: i % 2 == 0 ? "vm1" : "vm2", target: i % 3 == 0 ? "/a" : "/b"))
        }
        store.apply(metrics.takeUpdates())
        var s = store.timeSeries(at: 1)
        for server in ["vm1", "vm2"] {
            for target in ["/a", "/b"] {
                let expected: Double = switch (server, target) {
                case ("vm1", "/a"), ("vm2", "/a"): 2
                default: 4
                }
                #expect(Self.value(s, "pipetrace_request_duration_seconds_count", ["server_container": server, "target": target]) == expected)
            }
        }
        // A lower bound applies to what comes next: "/c" is one target too many for vm1 now.
        metrics.maxTargets = 2
        metrics.add(record(id: 20, ms: 1, server: "vm1", target: "/c"))
        metrics.add(record(id: 21, ms: 1, server: "vm1", target: "/a"))
        store.apply(metrics.takeUpdates())
        s = store.timeSeries(at: 2)
        #expect(Self.value(s, "pipetrace_request_duration_seconds_count", ["server_container": "vm1", "target": "{other}"]) == 1)
        #expect(Self.value(s, "pipetrace_request_duration_seconds_count", ["server_container": "vm1", "target": "/a"]) == 3)
    }

    @Test("unknown containers and missing status get explicit label values", arguments: [
        (Int?.none, "none"), (101, "1xx"), (302, "3xx"), (404, "4xx"), (999, "none"),
    ])
    func statusClass(_ status: Int?, _ expected: String) {
        #expect(RequestMetrics.statusClass(status) == expected)
    }

    @Test("health counters advance by the difference between snapshots; gauges are set")
    func health() {
        var health = ExporterHealth()
        var store = SeriesStore()
        var snapshot = HealthSnapshot()
        snapshot.events = 100
        snapshot.lostEvents = 3
        var sink = SinkHealth()
        sink.queueDepth = 2
        sink.droppedPoints = ["spool_full": 10]
        snapshot.sinks["http://x/api/v1/write"] = sink
        store.apply(health.updates(for: snapshot))
        snapshot.events = 150
        snapshot.connectionsEvicted = 8192
        snapshot.sinks["http://x/api/v1/write"]!.droppedPoints["spool_full"] = 25
        snapshot.sinks["http://x/api/v1/write"]!.queueDepth = 0
        store.apply(health.updates(for: snapshot))
        let s = store.timeSeries(at: 0)
        #expect(Self.value(s, "pipetrace_events_total") == 150)
        #expect(Self.value(s, "pipetrace_lost_events_total") == 3)
        #expect(Self.value(s, "pipetrace_connections_evicted_total") == 8192)
        #expect(Self.value(s, "pipetrace_export_queue_batches") == 0)
        #expect(Self.value(s, "pipetrace_export_dropped_points_total", ["reason": "spool_full"]) == 25)
        #expect(Self.value(s, "pipetrace_export_sent_points_total") == 0)
    }
}
