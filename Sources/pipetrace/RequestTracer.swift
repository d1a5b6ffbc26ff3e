import Analyzer
import Events
import Probe
import Redaction

/// The tracing loop the request verbs share (`stat`, `watch`, `demo`):
/// probe events into the analyzer, completed records out to a handler,
/// until the window ends or SIGINT/SIGTERM arrives. On a terminal it shows
/// a countdown on stderr. Ending early is not an error: what was seen so far
/// still reaches the handler, including the exchanges still open, which
/// `finish()` emits at the end. Records reach the handler redacted.
final class RequestTracer {
    let probe: Probe
    private(set) var analyzer: Analyzer
    /// Applied to every record before the handler sees it.
    let redactor: Redactor
    /// When the loop started and stopped, in CLOCK_MONOTONIC ns (for `window_s`).
    private(set) var startedAt: UInt64 = 0
    private(set) var stoppedAt: UInt64 = 0

    init(probe: Probe, redactor: Redactor, maxConnections: Int = AnalyzerConfiguration().maxConnections) {
        self.probe = probe
        self.redactor = redactor
        analyzer = Analyzer(configuration: AnalyzerConfiguration(wallClock: probe.wallClock, maxConnections: maxConnections))
    }

    /// Seconds actually traced.
    var window: Double { Double(stoppedAt &- startedAt) / 1e9 }

    /// Traces for `seconds` (nil: until a signal), handing out every record
    /// as it completes. Returns the signal that ended the run early, if any.
    @discardableResult
    func run(seconds: Double?, signals: SignalWatcher, countdown: Bool,
             _ handler: (RequestRecord) -> Void) throws -> Int32? {
        startedAt = Probe.monotonicNow()
        let deadline = seconds.map { startedAt + UInt64(max(0, $0) * 1e9) }
        var shownSecond: UInt64 = .max
        var stoppedBy: Int32?
        var completed: [RequestRecord] = []
        let feed: (ProbeEvent) -> Void = { event in
            self.analyzer.process(event, into: &completed)
            guard !completed.isEmpty else { return }
            for record in completed { handler(record.redacted(by: self.redactor)) }
            completed.removeAll(keepingCapacity: true)
        }
        while true {
            if let signal = signals.received() { stoppedBy = signal; break }
            let now = Probe.monotonicNow()
            if let deadline {
                if now >= deadline { break }
                let left = (deadline - now + 999_999_999) / 1_000_000_000
                if countdown && left != shownSecond {
                    shownSecond = left
                    StandardError.write("\rpipetrace: collecting, \(left) s left (Ctrl-C to stop early)  ")
                }
            }
            try probe.poll(timeoutMilliseconds: 50, feed)
        }
        if countdown && deadline != nil { StandardError.write("\r\u{1b}[K") }
        stoppedAt = Probe.monotonicNow()
        probe.detach()
        probe.drain(feed)
        for record in analyzer.finish() { handler(record.redacted(by: redactor)) }
        return stoppedBy
    }
}
