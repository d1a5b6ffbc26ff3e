import Analyzer

/// Where findings go besides `/metrics`: one conforming type per protocol
/// (`RemoteWriteSink` for series, `OTLPSink` for spans and logs). A sink
/// queues what it is given and delivers on its own thread, so a slow or
/// absent receiver never holds up tracing.
public protocol ExportSink: AnyObject, Sendable {
    /// What its health series are labelled with (its URL).
    var name: String { get }
    /// Whether `record` wants request records (sinks of series do not), so
    /// the caller hands each record to those alone, moving it to the last.
    var takesRecords: Bool { get }
    /// Takes one request record as it completes (pipetrace's own traffic
    /// already left out). Sinks of series ignore it (the default).
    func record(_ record: consuming RequestRecord)
    /// Once per export interval: queues one sample of every series (sinks
    /// of records ignore the series and send what they hold).
    func send(_ series: [TimeSeries])
    /// Cumulative counts and the current backlog.
    var health: SinkHealth { get }
    /// Delivers what it can within `timeout` seconds, spools the rest, and stops.
    func flush(timeout: Double)
}

extension ExportSink {
    public var takesRecords: Bool { false }
    public func record(_ record: consuming RequestRecord) {}
}
