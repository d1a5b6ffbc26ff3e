import Analyzer
import Events
import Redaction
import Report

/// The tracing loop the request verbs share (`stat`, `watch`, `demo`):
/// events into the analyzer, completed records out to a handler, until the
/// window ends or `stop` says a signal came. Ending early is not an error:
/// what was seen so far still reaches the handler, including the exchanges
/// still open, which `finish()` emits at the end. Records reach the handler
/// redacted.
public final class RequestTracer {
    public let source: EventSource
    public private(set) var analyzer: Analyzer
    /// Applied to every record before the handler sees it.
    public let redactor: Redactor
    /// When the loop started and stopped, in CLOCK_MONOTONIC ns (for `window_s`).
    public private(set) var traced = TracedWindow()

    public init(source: EventSource, redactor: Redactor, maxConnections: Int = AnalyzerConfiguration().maxConnections) {
        self.source = source
        self.redactor = redactor
        analyzer = Analyzer(configuration: AnalyzerConfiguration(wallClock: source.wallClock, maxConnections: maxConnections))
    }

    /// Seconds actually traced.
    public var window: Double { traced.seconds }

    /// Traces for `seconds` (nil: until `stop` returns a signal), handing out
    /// every record as it completes; `secondsLeft` hears each new whole number
    /// of seconds left (a countdown); `polled` is called after each batch of
    /// events (to flush output once per batch, not per record). Returns the
    /// signal that ended the run early, if any.
    @discardableResult
    public func run(seconds: Double?, stop: () -> Int32?, secondsLeft: ((UInt64) -> Void)? = nil,
                    polled: (() -> Void)? = nil, _ handler: (consuming RequestRecord) -> Void) throws -> Int32? {
        var completed: [RequestRecord] = []
        var taken: [RequestRecord] = []
        let feed: (ProbeEvent) -> Void = { event in
            self.analyzer.process(event, into: &completed)
            guard !completed.isEmpty else { return }
            // Moved out (reversed, then popped), not read in place: `for record in completed`
            // copied each record, retaining its strings, and then released the originals.
            swap(&taken, &completed)
            taken.reverse()
            while let record = taken.popLast() { handler(record.redacted(by: self.redactor)) }
        }
        var stoppedBy: Int32?
        traced = try source.trace(seconds: seconds, stop: { stoppedBy = stop(); return stoppedBy != nil }, secondsLeft: secondsLeft,
                                  polled: { polled?(); return true }, feed)
        for record in analyzer.finish() { handler(record.redacted(by: redactor)) }
        return stoppedBy
    }

    /// `stat`'s window: traces as `run` does and groups the records into a
    /// report (`html`: also a timeline for `--html`).
    public func collectStatistics(seconds: Double, stop: () -> Int32?, secondsLeft: ((UInt64) -> Void)? = nil,
                                  grouping: RequestStatistics.Grouping, ranking: RequestStatistics.Ranking, top: Int,
                                  html: Bool = false) throws -> StatReport {
        var report = StatReport(grouping: grouping, ranking: ranking, top: top, html: html)
        try run(seconds: seconds, stop: stop, secondsLeft: secondsLeft) { report.add($0) }
        report.window = window
        report.lostEvents = source.lostEvents
        report.connectionsEvicted = analyzer.counters.connectionsEvicted
        report.resets = analyzer.counters.resets
        return report
    }
}
