import Events
import Analyzer
import ExporterCore
import Redaction

/// `pipetrace export` from its first event to its flush: polls the source,
/// feeds the loop, samples every series each `interval`, and on a reload
/// reads the configuration again, making new outputs only when what they
/// are made of changed. The command line wires it (the probe, signals,
/// stderr); a test drives it with a list of events and a clock of its own.
public struct ExportSession {
    /// What the caller asks for between two polls (a signal).
    public enum Control: Sendable, Hashable {
        case reload, stop
    }

    /// How a reload reads the configuration again, and what it is called in messages (the config file).
    public struct Reload {
        public var source: String
        public var read: () throws -> ExportConfiguration

        public init(source: String, read: @escaping () throws -> ExportConfiguration) {
            self.source = source
            self.read = read
        }
    }

    public private(set) var configuration: ExportConfiguration
    var loop: ExportLoop
    let source: EventSource
    let reloadConfiguration: Reload?
    let makeOutputs: (ExportConfiguration) throws -> ExportOutputs
    let log: (String) -> Void

    /// `reload`: nil when there is no file to read again. `makeOutputs`: the outputs of a reloaded
    /// configuration (by default its server and sinks). `log`: what the user is told (stderr).
    public init(configuration: ExportConfiguration, source: EventSource, outputs: ExportOutputs, exposition: PrometheusExposition,
                analyzer: Analyzer, redactor: Redactor, clock: ExportClock, probeFeatures: [String: String] = [:],
                reload: Reload? = nil, makeOutputs: ((ExportConfiguration) throws -> ExportOutputs)? = nil,
                log: @escaping (String) -> Void) {
        self.configuration = configuration
        self.source = source
        reloadConfiguration = reload
        self.log = log
        self.makeOutputs = makeOutputs ?? { try ExportOutputs($0, exposition: exposition, log: log) }
        loop = ExportLoop(
            analyzer: analyzer,
            metrics: RequestMetrics(slowThreshold: UInt64(configuration.slowMilliseconds * 1e6), maxTargets: configuration.maxTargets),
            outputs: outputs, exposition: exposition, redactor: redactor, clock: clock, probeFeatures: probeFeatures)
    }

    /// The sinks in use now (a reload may have replaced them).
    public var outputs: ExportOutputs { loop.outputs }

    /// Runs until `control` says stop, then drains the source, sends a last
    /// sample and flushes the sinks (at most `flushTimeout` seconds), telling each one's health.
    public mutating func run(control: () -> Control?) throws {
        loop.tick(counts, send: false)
        var nextExport = nextExportTime()
        try source.trace(seconds: nil, stop: {
            while let request = control() {
                guard request == .reload else { return true }
                reload()
                nextExport = min(nextExport, nextExportTime())
            }
            return false
        }, polled: {
            loop.applyMetrics()
            if loop.clock.monotonicNanoseconds() >= nextExport {
                loop.tick(counts, send: true)
                nextExport = nextExportTime()
            }
            return true
        }) { loop.feed($0) }
        loop.finish()
        loop.tick(counts, send: true)
        log("pipetrace: flushing (at most \(configuration.flushTimeout) s)\n")
        loop.outputs.stop(flushTimeout: configuration.flushTimeout)
        for sink in loop.outputs.sinks {
            log("pipetrace: \(ExportOutputs.describe(sink.name, sink.health))\n")
        }
    }

    private var counts: ExportEventCounts {
        ExportEventCounts(events: source.deliveredEvents, lostEvents: source.lostEvents)
    }

    private func nextExportTime() -> UInt64 {
        loop.clock.monotonicNanoseconds() + UInt64(configuration.interval * 1e9)
    }

    /// SIGHUP: reads the configuration again; a bad one is reported and the running one kept.
    mutating func reload() {
        guard let reloadConfiguration else {
            log("pipetrace: SIGHUP: no --config file to reload\n")
            return
        }
        let fresh: ExportConfiguration
        do { fresh = try reloadConfiguration.read() } catch {
            log("pipetrace: SIGHUP: \(error); keeping the running configuration\n")
            return
        }
        if fresh.filtersDiffer(from: configuration) {
            log("pipetrace: SIGHUP: filters are applied in the kernel at start; restart to change them\n")
        }
        loop.metrics.slowThreshold = UInt64(fresh.slowMilliseconds * 1e6)
        loop.metrics.maxTargets = fresh.maxTargets
        if fresh.outputsDiffer(from: configuration) {
            // What the old sinks hold goes to their spools; the new ones replay it if they use the same directory.
            loop.outputs.stop(flushTimeout: min(2, fresh.flushTimeout))
            do { loop.outputs = try makeOutputs(fresh) } catch {
                log("pipetrace: SIGHUP: \(error); exporting to nothing until the next reload\n")
                loop.outputs = ExportOutputs.none
            }
        }
        configuration = fresh
        log("pipetrace: reloaded \(reloadConfiguration.source)\(loop.outputs.summary)\n")
    }
}
