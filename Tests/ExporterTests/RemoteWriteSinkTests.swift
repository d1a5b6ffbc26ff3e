import Analyzer
import Foundation
import TestSupport
import Testing
@testable import Exporter
@testable import ExporterCore

/// A spool directory of its own, removed by the caller.
func temporarySpool(_ limits: SpoolDirectory.Limits = .init()) throws -> SpoolDirectory {
    try SpoolDirectory(directory: NSTemporaryDirectory() + "pipetrace-spool-\(UUID().uuidString)", limits: limits)
}

/// Polls `body` until it returns true or `seconds` pass.
func eventually(_ seconds: Double = 20, _ body: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try body() { return true }
        usleep(200_000)
    }
    return try body()
}

@Suite("Remote write into real victoria-metrics and prometheus", .serialized, .enabled(if: RootRequirement.enabled(when: ReceiverProcess.available)))
struct RemoteWriteSinkTests {
    /// The series a few records make, at one timestamp.
    static func series(at timestamp: Int64) -> [TimeSeries] {
        var metrics = RequestMetrics(slowThreshold: 100_000_000)
        var store = SeriesStore()
        store.apply(metrics.updates(for: record(ms: 3, network: 1, serverMs: 2)))
        store.apply(metrics.updates(for: record(id: 2, ms: 150, status: 503, retransmits: 2)))
        store.apply(metrics.updates(for: record(id: 3, ms: 40, server: "vm", method: "GET", target: "/api/v1/query?q=1")))
        return store.timeSeries(at: timestamp)
    }

    @Test("victoria-metrics stores every series with its value, found again by /api/v1/export")
    func victoriaMetrics() throws {
        let vm = try ReceiverProcess(.victoriaMetrics)
        let spool = try temporarySpool()
        defer { try? FileManager.default.removeItem(atPath: spool.directory) }
        let sink = RemoteWriteSink(endpoint: try HTTPEndpoint(vm.writeURL), queue: DeliveryQueue(spool: spool), client: HTTPClient(timeout: 5))
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let sent = Self.series(at: now)
        sink.send(sent)
        sink.flush(timeout: 10)
        #expect(sink.health.sentPoints == UInt64(sent.count))
        var stored: [(metric: [String: String], values: [Double], timestamps: [Int64])] = []
        #expect(try eventually { stored = try vm.export(#"{__name__=~"pipetrace_.*"}"#); return stored.count == sent.count })
        #expect(stored.count == sent.count)
        for s in sent {
            let labels = Dictionary(uniqueKeysWithValues: s.labels.map { ($0.name, $0.value) })
            let match = stored.first { $0.metric == labels }
            #expect(match?.values == [s.samples[0].value], "\(labels)")
            #expect(match?.timestamps == [now], "\(labels)")
        }
        let slow = try vm.instant(#"pipetrace_slow_requests_total"#)
        #expect(slow.count == 1 && slow.first?.0["status_class"] == "5xx" && slow.first?.1 == 1)
    }

    @Test("prometheus' remote-write receiver stores them; /api/v1/query finds the histogram")
    func prometheus() throws {
        let prometheus = try ReceiverProcess(.prometheus)
        let spool = try temporarySpool()
        defer { try? FileManager.default.removeItem(atPath: spool.directory) }
        let sink = RemoteWriteSink(endpoint: try HTTPEndpoint(prometheus.writeURL), queue: DeliveryQueue(spool: spool),
                                   client: HTTPClient(timeout: 5))
        let sent = Self.series(at: Int64(Date().timeIntervalSince1970 * 1000))
        sink.send(sent)
        sink.flush(timeout: 10)
        #expect(sink.health.sentPoints == UInt64(sent.count))
        #expect(sink.health.droppedPoints.isEmpty && sink.health.errors.isEmpty)
        var counts: [([String: String], Double)] = []
        #expect(try eventually {
            counts = try prometheus.instant(#"pipetrace_request_duration_seconds_count{target="/api/v1/write"}"#)
            return counts.count == 2
        })
        let byStatus = Dictionary(uniqueKeysWithValues: counts.map { ($0.0["status_class"] ?? "", $0.1) })
        #expect(byStatus == ["2xx": 1, "5xx": 1])
        let p = try prometheus.instant(#"histogram_quantile(0.5, pipetrace_request_duration_seconds_bucket{status_class="5xx"})"#)
        #expect(p.count == 1 && (0.1...0.25).contains(p[0].1))
        let all = try prometheus.instant(#"count({__name__=~"pipetrace_.*"})"#)
        #expect(all.first?.1 == Double(sent.count))
    }

    @Test("storage stopped under steady traffic: every point arrives after the restart, none twice")
    func outageReplay() throws {
        let vm = try ReceiverProcess(.victoriaMetrics)
        let spool = try temporarySpool()
        defer { try? FileManager.default.removeItem(atPath: spool.directory) }
        let queue = DeliveryQueue(spool: spool, maxMemoryBatches: 4, spillAfterFailures: 2)
        let sink = RemoteWriteSink(endpoint: try HTTPEndpoint(vm.writeURL), queue: queue, client: HTTPClient(timeout: 2),
                                   backoff: Backoff(initial: 0.05, maximum: 0.4))
        let start = Int64(Date().timeIntervalSince1970 * 1000) - 60_000
        let steps = 60
        var spooledDuringOutage = 0
        for step in 0..<steps {
            if step == 15 { vm.stop() }
            if step == 45 { try vm.start() }
            let series = TimeSeries(labels: [MetricLabel("__name__", "pipetrace_fault_test_total"), MetricLabel("run", "outage")],
                                    samples: [.init(value: Double(step), timestamp: start + Int64(step) * 100)])
            sink.send([series])
            usleep(50_000)
            if step == 44 { spooledDuringOutage = sink.health.spoolBatches }
        }
        sink.flush(timeout: 20)
        // The outage really went through the disk spool, and failed attempts were counted.
        #expect(spooledDuringOutage > 4)
        #expect(sink.health.errors.values.reduce(0, +) > 0)
        #expect(sink.health.sentPoints == UInt64(steps))
        #expect(sink.health.spoolBatches == 0 && sink.health.droppedPoints.isEmpty)
        var stored: [(metric: [String: String], values: [Double], timestamps: [Int64])] = []
        #expect(try eventually {
            stored = try vm.export(#"pipetrace_fault_test_total"#)
            return stored.first?.values.count ?? 0 >= steps
        })
        #expect(stored.count == 1)
        #expect(stored.first?.values == (0..<steps).map(Double.init))
        #expect(stored.first?.timestamps == (0..<steps).map { start + Int64($0) * 100 })
    }
}

@Suite("Nothing runaway: bounded queue and spool, drops counted")
struct DeliveryQueueTests {
    @Test("an unreachable receiver fills the spool; past its bound the oldest are dropped and counted as spool_full")
    func spoolFull() throws {
        let spool = try temporarySpool(.init(maxBytes: 1 << 20, maxBatches: 3))
        defer { try? FileManager.default.removeItem(atPath: spool.directory) }
        let queue = DeliveryQueue(spool: spool, maxMemoryBatches: 2, spillAfterFailures: 1)
        // Nothing listens on this port (freePort released it).
        let sink = RemoteWriteSink(endpoint: try HTTPEndpoint("http://127.0.0.1:\(freePort())/api/v1/write"), queue: queue,
                                   client: HTTPClient(timeout: 1), backoff: Backoff(initial: 0.01, maximum: 0.02))
        for step in 0..<10 {
            let s = TimeSeries(labels: [MetricLabel("__name__", "x")], samples: (0..<7).map { .init(value: Double($0), timestamp: Int64(step * 10 + $0)) })
            sink.send([s])
        }
        sink.flush(timeout: 0.5)
        let health = sink.health
        // 10 batches of 7 points: 3 fit the spool, 7 were dropped.
        #expect(health.spoolBatches == 3)
        #expect(health.droppedPoints == ["spool_full": 49])
        #expect(health.errors["connect", default: 0] > 0)
        // ... and reported: the health series carry the count.
        var exporterHealth = ExporterHealth()
        var snapshot = HealthSnapshot()
        snapshot.sinks[sink.name] = health
        let exposition = PrometheusExposition()
        exposition.apply(exporterHealth.updates(for: snapshot))
        let text = String(decoding: exposition.render(), as: UTF8.self)
        #expect(text.contains(#"pipetrace_export_dropped_points_total{reason="spool_full",sink="\#(sink.name)"} 49"#))
        #expect(text.contains(#"pipetrace_export_spool_batches{sink="\#(sink.name)"} 3"#))
        // A new queue on the same directory replays the three that survived, oldest first.
        let reopened = try SpoolDirectory(directory: spool.directory, limits: spool.limits)
        #expect(reopened.count == 3)
        #expect(try reopened.oldest()?.sequence == 7)
    }

    @Test("a 4xx is rejected for good and counted; the next batch still goes", .enabled(if: RootRequirement.enabled(when: ReceiverProcess.available)))
    func rejected() throws {
        let vm = try ReceiverProcess(.victoriaMetrics)
        let spool = try temporarySpool()
        defer { try? FileManager.default.removeItem(atPath: spool.directory) }
        let queue = DeliveryQueue(spool: spool)
        let sink = RemoteWriteSink(endpoint: try HTTPEndpoint(vm.writeURL), queue: queue, client: HTTPClient(timeout: 5))
        queue.append(body: [1, 2, 3, 4, 5], points: 4)  // not snappy: the receiver answers 400
        sink.send([TimeSeries(labels: [MetricLabel("__name__", "after_reject")], samples: [.init(value: 1, timestamp: Int64(Date().timeIntervalSince1970 * 1000))])])
        sink.flush(timeout: 10)
        #expect(sink.health.droppedPoints == ["rejected_http_400": 4])
        #expect(sink.health.sentPoints == 1)
    }

    @Test("backoff doubles to its cap, with jitter between half and all of it")
    func backoff() {
        var b = Backoff(initial: 1, maximum: 8)
        #expect([b.failed(random: 0), b.failed(random: 0.999_999), b.failed(random: 0), b.failed(random: 0), b.failed(random: 0)]
            .map { ($0 * 1000).rounded() / 1000 } == [0.5, 2, 2, 4, 4])
        b.succeeded()
        #expect(b.failed(random: 0.5) == 0.75)
    }
}

@Suite("Endpoints and errors a user reads")
struct EndpointTests {
    @Test("URLs are parsed, bad ones named", arguments: [
        ("http://127.0.0.1:8428/api/v1/write", "http://127.0.0.1:8428/api/v1/write"),
        ("http://vm/api/v1/write", "http://vm:80/api/v1/write"),
        ("http://[::1]:9090/api/v1/write", "http://[::1]:9090/api/v1/write"),
        ("https://vm:8428/api/v1/write", "https://vm:8428/api/v1/write"),
        ("https://vm/api/v1/write", "https://vm:443/api/v1/write"),
        ("vm:8428", "'vm:8428' is not an http:// or https:// URL"),
        ("http://vm:99999/x", "'http://vm:99999/x': a port from 1 to 65535 is needed"),
    ])
    func parse(_ url: String, _ expected: String) {
        do {
            #expect(try HTTPEndpoint(url).description == expected)
        } catch {
            #expect(error.description == expected)
        }
    }

    @Test("an unreachable receiver is a connect error naming the URL")
    func unreachable() throws {
        let port = freePort()
        #expect {
            try HTTPClient(timeout: 1).post(try HTTPEndpoint("http://127.0.0.1:\(port)/api/v1/write"), headers: [], body: [])
        } throws: { error in
            let failure = error as! HTTPClient.Failure
            return failure.reason == "connect"
                && failure.description == "http://127.0.0.1:\(port)/api/v1/write: connect to 127.0.0.1:\(port): Connection refused"
        }
    }
}
