import Analyzer
import Events
import Glibc
import Redaction
import Report
import Testing
import Tracing

@Suite("RequestTracer: an event source through the analyzer to records, until the window ends or a signal")
struct RequestTracerTests {
    let client = Socket.client

    @Test("records reach the handler redacted as they complete; the exchange still open at the end comes from finish()")
    func recordsAndFinish() throws {
        let source = ListEventSource(polls: [
            [client.io(.egress, "GET /a?token=secret HTTP/1.1\r\nHost: x\r\n\r\n", at: 1_010_000_000)],
            [client.io(.ingress, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 1_020_000_000)],
            [client.io(.egress, "GET /open HTTP/1.1\r\nHost: x\r\n\r\n", at: 1_150_000_000)],
        ])
        let tracer = RequestTracer(source: source, redactor: Redactor())
        var records: [RequestRecord] = []
        let stoppedBy = try tracer.run(seconds: nil, stop: { source.isExhausted ? SIGINT : nil }) { records.append($0) }
        #expect(stoppedBy == SIGINT)
        #expect(source.detached)
        #expect(records.map(\.target) == ["/a?token=******", "/open"])
        #expect(records.map(\.status) == [200, nil])
        #expect(records.map(\.isComplete) == [true, false])
        #expect(records[0].duration == 10_001_000) // from entering the request's write (1 µs before its exit)
        // Three polls of 100 ms on the source's clock.
        #expect(tracer.window == 0.3)
    }

    @Test("a window of 0 s polls nothing, still drains what waits and reports it")
    func zeroWindow() throws {
        let source = ListEventSource(polls: [[client.io(.egress, "GET /never HTTP/1.1\r\n\r\n", at: 1_010_000_000)]],
                                     waiting: [client.io(.egress, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n", at: 1_010_000_000),
                                               client.io(.ingress, "HTTP/1.1 204 No Content\r\n\r\n", at: 1_030_000_000)])
        let tracer = RequestTracer(source: source, redactor: Redactor())
        var targets: [String?] = []
        var countdown: [UInt64] = []
        let stoppedBy = try tracer.run(seconds: 0, stop: { nil }, secondsLeft: { countdown.append($0) }) { targets.append($0.target) }
        #expect(stoppedBy == nil)
        #expect(source.polled == 0)
        #expect(countdown.isEmpty)
        #expect(targets == ["/b"])
    }

    @Test("stat's window: complete records grouped, cut-short ones counted apart, the source's lost events in the report")
    func statistics() throws {
        let source = ListEventSource(polls: [
            [client.io(.egress, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", at: 1_010_000_000),
             client.io(.ingress, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 1_015_000_000)],
            [client.io(.egress, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", at: 1_110_000_000),
             client.io(.ingress, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 1_135_000_000)],
            [client.io(.egress, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", at: 1_210_000_000)],
        ])
        let tracer = RequestTracer(source: source, redactor: Redactor())
        var countdown: [UInt64] = []
        let report = try tracer.collectStatistics(seconds: 1, stop: { nil }, secondsLeft: { countdown.append($0) },
                                                  grouping: .target, ranking: .slowest, top: 1)
        #expect(countdown == [1])
        #expect(report.window == 1.0)
        #expect(report.lostEvents == 3)
        #expect(report.incomplete == 1)
        #expect(report.statistics.summaries.map(\.key) == ["GET /a"])
        #expect(report.statistics.summaries.map(\.count) == [2])
        #expect(report.statistics.summaries.first?.top.map(\.duration) == [25_001_000])
        #expect(report.timeline == nil)
    }
}
