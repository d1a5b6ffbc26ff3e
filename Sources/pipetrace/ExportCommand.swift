import Analyzer
import ArgumentParser
import Events
import Exporter
import ExporterCore
import Foundation
import Glibc
import Probe

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Trace continuously and feed per-hop latency, slow requests and retransmits into Prometheus-compatible storage.",
        discussion: """
        Serves the series on --listen (GET /metrics) and, with --remote-write, sends one sample of \
        every series per --interval to each URL (Prometheus remote write: protobuf + snappy; \
        VictoriaMetrics, Prometheus, Mimir, Thanos). With --otlp, every request is a span (a hop \
        chain is one trace) sent to <url>/v1/traces, and slow requests are also log records sent \
        to <url>/v1/logs (OTLP/HTTP protobuf: an OpenTelemetry collector, SigNoz, OpenObserve). \
        A receiver that is down or slow never holds up tracing: batches wait in a bounded queue, are retried with backoff, go to a bounded \
        spool directory when the receiver stays away, and are replayed in order when it is back. \
        What even the spool cannot hold is dropped and counted in pipetrace_export_dropped_points_total. \
        SIGTERM/Ctrl-C flushes what is held (the rest stays spooled for the next run); SIGHUP \
        reloads --config. Every key of the config file has a flag; flags win.

        Examples:
          sudo pipetrace export
          sudo pipetrace export --remote-write http://127.0.0.1:8428/api/v1/write --slow-ms 250
          sudo pipetrace export --otlp http://127.0.0.1:4318 --interval 2
          sudo pipetrace export --remote-write https://vm.example.com/api/v1/write --tls-ca-file /etc/pipetrace/ca.pem
          sudo pipetrace export --config /etc/pipetrace/export.yaml
        """
    )

    @Option(name: .customLong("config"), help: ArgumentHelp("YAML file with the settings below (see deploy/README.md).", valueName: "file"))
    var configFile: String?

    @Option(name: .customLong("listen"), help: ArgumentHelp("Address for GET /metrics (default 127.0.0.1:9464; \"\" for none).", valueName: "host:port"))
    var listen: String?

    @Option(name: .customLong("remote-write"), help: ArgumentHelp("Prometheus remote write URL, http:// or https:// (repeatable).", valueName: "url"))
    var remoteWrite: [String] = []

    @Option(name: .customLong("otlp"), help: ArgumentHelp("OTLP/HTTP base URL, http:// or https:// (spans to /v1/traces, slow requests as logs to /v1/logs; repeatable).", valueName: "url"))
    var otlp: [String] = []

    @Option(name: .customLong("otlp-compression"), help: ArgumentHelp("Content-Encoding of OTLP bodies: gzip (default) or none.", valueName: "gzip|none"))
    var otlpCompression: String?

    @Flag(name: .customLong("otlp-flows"), help: "Send the turns of TCP connections no parser recognizes as spans too (by default they are metrics only).")
    var otlpFlows = false

    @Option(name: .customLong("tls-ca-file"), help: ArgumentHelp("PEM certificate authorities that https receivers are verified against, instead of the system's.", valueName: "file"))
    var tlsCAFile: String?

    @Option(name: .customLong("tls-cert-file"), help: ArgumentHelp("PEM client certificate for https receivers that ask for one (with --tls-key-file).", valueName: "file"))
    var tlsCertFile: String?

    @Option(name: .customLong("tls-key-file"), help: ArgumentHelp("PEM private key of --tls-cert-file.", valueName: "file"))
    var tlsKeyFile: String?

    @Option(name: .customLong("slow-ms"), help: ArgumentHelp("Requests at least this slow count in pipetrace_slow_requests_total and are OTLP log records (default 500).", valueName: "ms"))
    var slowMilliseconds: Double?

    @Option(name: .customLong("interval"), help: ArgumentHelp("Seconds between samples sent by remote write (default 10).", valueName: "seconds"))
    var interval: Double?

    @Option(name: .customLong("spool-dir"), help: ArgumentHelp("Where undelivered batches wait (default /var/lib/pipetrace/spool).", valueName: "dir"))
    var spoolDirectory: String?

    @Option(name: .customLong("spool-max-bytes"), help: ArgumentHelp("Spool size per sink before the oldest batches are dropped (default 256 MiB).", valueName: "bytes"))
    var spoolMaxBytes: Int?

    @Option(name: .customLong("flush-timeout"), help: ArgumentHelp("Seconds to deliver what is held at exit (default 10).", valueName: "seconds"))
    var flushTimeout: Double?

    @OptionGroup var filters: FilterOptions

    @OptionGroup var redaction: RedactionOptions

    /// The config file (if any) with the flags over it.
    func resolvedConfiguration() throws -> ExportConfiguration {
        var c = ExportConfiguration()
        if let configFile {
            guard let text = try? String(contentsOfFile: configFile, encoding: .utf8) else {
                throw FailureMessage(text: "cannot read the config file \(configFile)")
            }
            c = try ExportConfiguration.parse(yaml: text, source: configFile)
        }
        if let listen { c.listen = listen }
        if !remoteWrite.isEmpty { c.remoteWrite = remoteWrite }
        if !otlp.isEmpty { c.otlp = otlp }
        if let otlpCompression {
            guard let compression = OTLPCompression(rawValue: otlpCompression) else {
                throw FailureMessage(text: "--otlp-compression must be gzip or none, got '\(otlpCompression)'")
            }
            c.otlpCompression = compression
        }
        if otlpFlows { c.otlpFlows = true }
        if let tlsCAFile { c.tls.caFile = tlsCAFile }
        if let tlsCertFile { c.tls.certFile = tlsCertFile }
        if let tlsKeyFile { c.tls.keyFile = tlsKeyFile }
        if let slowMilliseconds { c.slowMilliseconds = slowMilliseconds }
        if let interval { c.interval = interval }
        if let spoolDirectory { c.spoolDirectory = spoolDirectory }
        if let spoolMaxBytes { c.spoolMaxBytes = spoolMaxBytes }
        if let flushTimeout { c.flushTimeout = flushTimeout }
        if !filters.pids.isEmpty { c.pids = filters.pids }
        if !filters.containers.isEmpty { c.containers = filters.containers }
        if !filters.ports.isEmpty { c.ports = filters.ports }
        if filters.noTLSPlaintext { c.tlsPlaintext = false }
        guard c.interval > 0, c.slowMilliseconds >= 0, c.spoolMaxBytes >= 0, c.flushTimeout >= 0 else {
            throw FailureMessage(text: "--interval must be above 0; --slow-ms, --spool-max-bytes and --flush-timeout at least 0")
        }
        try c.validate(source: configFile == nil ? "flags" : "\(configFile!) and flags")
        return c
    }

    func run() throws {
        let signals = SignalWatcher([SIGINT, SIGTERM, SIGHUP])
        let config: ExportConfiguration
        do { config = try resolvedConfiguration() } catch let e as ExportConfiguration.Invalid {
            throw FailureMessage(text: "\(e.description)")
        }
        var probeFilters = filters
        probeFilters.pids = config.pids
        probeFilters.containers = config.containers
        probeFilters.ports = config.ports
        probeFilters.noTLSPlaintext = !config.tlsPlaintext
        // 8 MiB, not 32: its pages count twice in RSS (libbpf maps them twice for wrap-around),
        // and the loop drains it every 50 ms (sooner once 2 MiB wait): 8 MiB hold a stall of ~100 ms at 40k requests/s.
        // A file sent by sendfile() is a body: its length is all the analyzer needs, so its bytes stay on the wire.
        let probe = try probeFilters.makeProbe(defaultBufferMiB: 8, sendfileBytes: false)
        let exposition = PrometheusExposition()
        let log: (String) -> Void = { StandardError.write($0) }
        let outputs: ExportOutputs
        do { outputs = try ExportOutputs(config, exposition: exposition, log: log) } catch let e as ExportOutputs.Failure {
            throw FailureMessage(text: e.description)
        }
        StandardError.write("pipetrace: exporting (\(probe.programs.count) BPF programs attached)\(outputs.summary)\n")

        var session = ExportSession(
            configuration: config, source: probe, outputs: outputs, exposition: exposition,
            analyzer: Analyzer(configuration: AnalyzerConfiguration(wallClock: probe.wallClock)),
            redactor: redaction.makeRedactor(),
            clock: ExportClock(monotonicNanoseconds: Probe.monotonicNow,
                               wallMilliseconds: { Int64(Date().timeIntervalSince1970 * 1000) }),
            probeFeatures: Dictionary(uniqueKeysWithValues: probe.features.map { ($0.key.rawValue, $0.value.name) }),
            reload: configFile.map { file in ExportSession.Reload(source: file) { try resolvedConfiguration() } },
            log: log)
        try session.run {
            signals.received().map { $0 == SIGHUP ? .reload : .stop }
        }
        StandardError.write(RunSummary(probe.statistics).line)
    }
}
