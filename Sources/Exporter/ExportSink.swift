/// Where series go besides `/metrics`: one conforming type per protocol
/// (remote write today; OTLP plugs in the same way). A sink queues what it
/// is given and delivers on its own thread, so a slow or absent receiver
/// never holds up tracing.
public protocol ExportSink: AnyObject, Sendable {
    /// What its health series are labelled with (its URL).
    var name: String { get }
    /// Queues one sample of every series.
    func send(_ series: [TimeSeries])
    /// Cumulative counts and the current backlog.
    var health: SinkHealth { get }
    /// Delivers what it can within `timeout` seconds, spools the rest, and stops.
    func flush(timeout: Double)
}
