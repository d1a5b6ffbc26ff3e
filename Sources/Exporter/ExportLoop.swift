import Analyzer
import Events
import ExporterCore
import Redaction

/// What `pipetrace export` keeps between events: the analyzer, the series
/// being counted and the sinks the records go to. A value the run loop owns
/// and changes in place, event by event (this runs for every event, so no
/// closures over shared boxes and no checks of exclusive access at run time).
struct ExportLoop {
    let clock: ExportClock
    var analyzer: Analyzer
    var metrics: RequestMetrics
    var outputs: ExportOutputs
    let exposition: PrometheusExposition
    /// Applied to each record before the metrics and the sinks see it (labels, span attributes, logs).
    let redactor: Redactor
    private var completed: [RequestRecord] = []
    private var health = ExporterHealth()
    private var store = SeriesStore()
    private var snapshot = HealthSnapshot()
    private var lastEvents: UInt64 = 0
    private var lastTick: UInt64

    /// `probeFeatures`: each probe feature's state by name, exported as `pipetrace_probe_feature`.
    init(analyzer: Analyzer, metrics: RequestMetrics, outputs: ExportOutputs, exposition: PrometheusExposition,
         redactor: Redactor, clock: ExportClock, probeFeatures: [String: String] = [:]) {
        self.clock = clock
        lastTick = clock.monotonicNanoseconds()
        snapshot.probeFeatures = probeFeatures
        self.redactor = redactor
        self.analyzer = analyzer
        self.metrics = metrics
        self.outputs = outputs
        self.exposition = exposition
    }

    /// One event from the probe: the records it completes go to the metrics and every sink.
    mutating func feed(_ event: ProbeEvent) {
        analyzer.process(event, into: &completed)
        guard !completed.isEmpty else { return }
        // Moved out one by one (reversed, then popped: bitwise moves), not read in place:
        // `for record in completed` or a read through a pointer copied each record,
        // retaining its strings, and the array then destroyed the originals.
        var records: [RequestRecord] = []
        swap(&records, &completed)
        records.reverse()
        while let record = records.popLast() { take(record) }
        swap(&records, &completed)
    }

    /// Records still open when tracing stops.
    mutating func finish() {
        for record in analyzer.finish() { take(record) }
    }

    private mutating func take(_ record: consuming RequestRecord) {
        if outputs.ownTraffic.contains(record) {
            snapshot.ownTrafficRecords += 1
            return
        }
        snapshot.records += 1
        let record = record.redacted(by: redactor)
        metrics.add(record)
        // The sinks that take records get it, the last one without a copy.
        var last: (any ExportSink)?
        for sink in outputs.sinks where sink.takesRecords {
            last?.record(copy record)
            last = sink
        }
        last?.record(record)
    }

    /// Once per poll, not per record: the stores look each changed series up once.
    mutating func applyMetrics() {
        apply(metrics.takeUpdates())
    }

    /// pipetrace's own health into the series; with `send`, one sample of every series to each sink.
    mutating func tick(_ counts: ExportEventCounts, send: Bool) {
        let now = clock.monotonicNanoseconds()
        snapshot.events = counts.events
        snapshot.lostEvents = counts.lostEvents
        snapshot.connectionsEvicted = analyzer.counters.connectionsEvicted
        snapshot.eventsPerSecond = Double(counts.events &- lastEvents) / max(1e-9, Double(now &- lastTick) / 1e9)
        lastEvents = counts.events
        lastTick = now
        snapshot.sinks = Dictionary(uniqueKeysWithValues: outputs.sinks.map { ($0.name, $0.health) })
        apply(metrics.takeUpdates())
        apply(health.updates(for: snapshot))
        guard send, !outputs.sinks.isEmpty else { return }
        let series = store.timeSeries(at: clock.wallMilliseconds())
        for sink in outputs.sinks { sink.send(series) }
    }

    private mutating func apply(_ updates: [MetricUpdate]) {
        store.apply(updates)
        exposition.apply(updates)
    }
}
