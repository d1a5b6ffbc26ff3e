import Analyzer
import Events
@testable import Exporter
@testable import ExporterCore
import Redaction
import Synchronization
import Testing

/// `ExportSession` driven in process: events from a list, a clock the test
/// moves, sinks that keep what they are given (no probe, no sockets).
@Suite("export session: events in, records and samples out, reloads")
struct ExportSessionTests {
    /// Each poll hands one batch of events and moves the clock one second.
    final class ListSource: EventSource {
        var batches: [[ProbeEvent]]
        let clock: TestClock
        var delivered: UInt64 = 0
        var detached = false

        init(_ batches: [[ProbeEvent]], clock: TestClock) {
            self.batches = batches
            self.clock = clock
        }

        func poll(timeoutMilliseconds: Int32, _ handler: (ProbeEvent) -> Void) throws {
            clock.advance(seconds: 1)
            guard !batches.isEmpty else { return }
            for event in batches.removeFirst() {
                delivered += 1
                handler(event)
            }
        }

        func detach() { detached = true }
        func drain(_ handler: (ProbeEvent) -> Void) {}
        let wallClock = WallClock(offsetNanoseconds: 1_700_000_000_000_000_000)
        var now: UInt64 { clock.clock.monotonicNanoseconds() }
        var deliveredEvents: UInt64 { delivered }
        let lostEvents: UInt64 = 0
    }

    final class TestClock: Sendable {
        private let nanoseconds = Mutex<UInt64>(1_000_000_000)

        func advance(seconds: UInt64) { nanoseconds.withLock { $0 += seconds * 1_000_000_000 } }

        var clock: ExportClock {
            ExportClock(monotonicNanoseconds: { self.nanoseconds.withLock { $0 } },
                        wallMilliseconds: { Int64(self.nanoseconds.withLock { $0 } / 1_000_000) + 1_700_000_000_000 })
        }
    }

    /// A sink that keeps the records and the samples it is given.
    final class KeepingSink: ExportSink {
        struct Kept {
            var targets: [String] = []
            var sends: [[TimeSeries]] = []
            var flushed = false
        }

        let name: String
        let kept = Mutex(Kept())

        init(_ name: String) { self.name = name }

        var takesRecords: Bool { true }
        func record(_ record: consuming RequestRecord) { kept.withLock { $0.targets.append(record.target ?? "") } }
        func send(_ series: [TimeSeries]) { kept.withLock { $0.sends.append(series) } }
        var health: SinkHealth { SinkHealth() }
        func flush(timeout: Double) { kept.withLock { $0.flushed = true } }
    }

    /// A GET and its 200 on the client end of 10.0.0.1:40000 → 10.0.0.2:8080, at `at` nanoseconds.
    static func exchange(_ path: String, at: UInt64) -> [ProbeEvent] {
        let tuple = SocketTuple(local: Endpoint(address: IPAddress("10.0.0.1")!, port: 40000),
                                remote: Endpoint(address: IPAddress("10.0.0.2")!, port: 8080))
        func data(_ direction: Direction, _ text: String, _ t: UInt64) -> ProbeEvent {
            .data(DataEvent(header: EventHeader(pid: 1000, tid: 1000, comm: "curl", netns: 1, cgroupID: 1, connectionID: 1,
                                                timestamp: t + 1000, tuple: tuple, container: nil, containerID: nil),
                            enterTimestamp: t, direction: direction, syscall: direction == .egress ? .write : .read, fd: 5,
                            role: .client, length: UInt64(text.utf8.count), payload: Array(text.utf8), payloadUnavailable: false))
        }
        return [data(.egress, "GET \(path) HTTP/1.1\r\nHost: api\r\n\r\n", at),
                data(.ingress, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at + 5_000_000)]
    }

    func session(_ configuration: ExportConfiguration, _ source: ListSource, _ clock: TestClock, sinks: [any ExportSink],
                 reload: ExportSession.Reload? = nil,
                 makeOutputs: ((ExportConfiguration) throws -> ExportOutputs)? = nil,
                 log: @escaping (String) -> Void = { _ in }) -> ExportSession {
        ExportSession(configuration: configuration, source: source, outputs: ExportOutputs(sinks: sinks),
                      exposition: PrometheusExposition(), analyzer: Analyzer(), redactor: Redactor(), clock: clock.clock,
                      reload: reload, makeOutputs: makeOutputs, log: log)
    }

    static func configuration(interval: Double = 2, otlp: [String] = []) -> ExportConfiguration {
        var c = ExportConfiguration()
        c.listen = ""
        c.interval = interval
        c.otlp = otlp
        return c
    }

    @Test("records reach the sinks; one sample of every series per interval by the clock, and a last one at stop")
    func recordsAndSamples() throws {
        let clock = TestClock()
        let source = ListSource([Self.exchange("/a", at: 1), Self.exchange("/b", at: 100_000_000)], clock: clock)
        let sink = KeepingSink("keeping")
        var polls = 0
        var s = session(Self.configuration(interval: 2), source, clock, sinks: [sink])
        try s.run {
            polls += 1
            return polls > 5 ? .stop : nil
        }
        let kept = sink.kept.withLock { $0 }
        #expect(kept.targets == ["/a", "/b"])
        // Polls at 2…6 s with samples due every 2 s from 1 s: at 3 and 5 s, then the last one at stop.
        #expect(kept.sends.count == 3)
        #expect(kept.sends.first?.first?.samples.first?.timestamp == 1_700_000_003_000)
        #expect(kept.sends.last?.contains { $0.name == "pipetrace_request_duration_seconds_count" } == true)
        #expect(kept.flushed && source.detached)
    }

    @Test("a reload makes new outputs only when they changed, and keeps the running configuration when the file is bad")
    func reloads() throws {
        let clock = TestClock()
        let source = ListSource([], clock: clock)
        var files = [Self.configuration(interval: 2), Self.configuration(interval: 5),
                     Self.configuration(interval: 5, otlp: ["http://127.0.0.1:1"])]
        struct Unreadable: Error, CustomStringConvertible { var description: String { "cannot read the config file" } }
        var made: [[String]] = []
        var log: [String] = []
        var requests: [ExportSession.Control] = [.reload, .reload, .reload, .reload, .stop]
        var s = session(Self.configuration(interval: 2), source, clock, sinks: [],
                        reload: .init(source: "export.yaml") {
                            guard !files.isEmpty else { throw Unreadable() }
                            return files.removeFirst()
                        },
                        makeOutputs: { c in
                            made.append(c.otlp)
                            return ExportOutputs(sinks: c.otlp.map { KeepingSink($0) })
                        },
                        log: { log.append($0) })
        try s.run { requests.removeFirst() }
        // The same file, then a new interval: no new outputs; a new OTLP URL: new outputs once.
        #expect(made == [["http://127.0.0.1:1"]])
        #expect(s.configuration.interval == 5 && s.configuration.otlp == ["http://127.0.0.1:1"])
        #expect(log.filter { $0.hasPrefix("pipetrace: reloaded export.yaml") }.count == 3)
        #expect(log.contains { $0.hasPrefix("pipetrace: reloaded export.yaml: ") && $0.hasSuffix(" to http://127.0.0.1:1\n") }, "\(log)")
        #expect(log.contains("pipetrace: SIGHUP: cannot read the config file; keeping the running configuration\n"), "\(log)")
    }

    @Test("without a config file a reload says so and changes nothing")
    func reloadWithoutFile() throws {
        let clock = TestClock()
        var log: [String] = []
        var requests: [ExportSession.Control] = [.reload, .stop]
        var s = session(Self.configuration(), ListSource([], clock: clock), clock, sinks: [], log: { log.append($0) })
        try s.run { requests.removeFirst() }
        #expect(log.first == "pipetrace: SIGHUP: no --config file to reload\n")
        #expect(s.configuration == Self.configuration())
    }

    @Test("filters changed by a reload are reported as needing a restart")
    func reloadFilters() {
        var fresh = Self.configuration()
        fresh.ports = [8080]
        #expect(fresh.filtersDiffer(from: Self.configuration()))
        var withoutTLS = Self.configuration()
        withoutTLS.tlsPlaintext = false
        #expect(withoutTLS.filtersDiffer(from: Self.configuration()), "the TLS probes are loaded at start")
        #expect(!fresh.outputsDiffer(from: Self.configuration()))
        fresh.tls.caFile = "/etc/ca.pem"
        // TLS files are read again at every reload (rotated certificates), even unchanged.
        #expect(fresh.outputsDiffer(from: fresh))
    }
}
