import Analyzer
import ArgumentParser
import Events
import Exporter
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
            guard let compression = OTLPSink.Compression(rawValue: otlpCompression) else {
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
        guard c.interval > 0, c.slowMilliseconds >= 0, c.spoolMaxBytes >= 0, c.flushTimeout >= 0 else {
            throw FailureMessage(text: "--interval must be above 0; --slow-ms, --spool-max-bytes and --flush-timeout at least 0")
        }
        try c.validate(source: configFile == nil ? "flags" : "\(configFile!) and flags")
        return c
    }

    func run() throws {
        let signals = SignalWatcher([SIGINT, SIGTERM, SIGHUP])
        var config: ExportConfiguration
        do { config = try resolvedConfiguration() } catch let e as ExportConfiguration.Invalid {
            throw FailureMessage(text: "\(e.description)")
        }
        var probeFilters = filters
        probeFilters.pids = config.pids
        probeFilters.containers = config.containers
        probeFilters.ports = config.ports
        // 8 MiB, not 32: its pages count twice in RSS (libbpf maps them twice for wrap-around),
        // and the loop drains it every 50 ms (sooner once 2 MiB wait): 8 MiB hold a stall of ~100 ms at 40k requests/s.
        // A file sent by sendfile() is a body: its length is all the analyzer needs, so its bytes stay on the wire.
        let probe = try probeFilters.makeProbe(defaultBufferMiB: 8, sendfileBytes: false)
        let exposition = PrometheusExposition()
        let outputs = try ExportOutputs(config, exposition: exposition)
        StandardError.write("pipetrace: exporting (\(probe.programs.count) BPF programs attached)\(outputs.summary)\n")

        var loop = ExportLoop(
            analyzer: Analyzer(configuration: AnalyzerConfiguration(wallClock: probe.wallClock)),
            metrics: RequestMetrics(slowThreshold: UInt64(config.slowMilliseconds * 1e6), maxTargets: config.maxTargets),
            outputs: outputs, exposition: exposition, redactor: redaction.makeRedactor(),
            probeFeatures: Dictionary(uniqueKeysWithValues: probe.features.map { ($0.key.rawValue, $0.value.name) }))
        loop.tick(probe.statistics, send: false)
        var nextExport = Probe.monotonicNow() + UInt64(config.interval * 1e9)
        var stopSignal: Int32?
        while stopSignal == nil {
            if let signal = signals.received() {
                if signal == SIGHUP {
                    reload(&config, &loop.outputs, &loop.metrics, exposition: exposition)
                    nextExport = min(nextExport, Probe.monotonicNow() + UInt64(config.interval * 1e9))
                } else {
                    stopSignal = signal
                }
                continue
            }
            try probe.poll(timeoutMilliseconds: 50) { loop.feed($0) }
            loop.applyMetrics()
            if Probe.monotonicNow() >= nextExport {
                loop.tick(probe.statistics, send: true)
                nextExport = Probe.monotonicNow() + UInt64(config.interval * 1e9)
            }
        }
        probe.detach()
        probe.drain { loop.feed($0) }
        loop.finish()
        loop.tick(probe.statistics, send: true)
        StandardError.write("pipetrace: flushing (at most \(config.flushTimeout) s)\n")
        loop.outputs.stop(flushTimeout: config.flushTimeout)
        for sink in loop.outputs.sinks {
            StandardError.write("pipetrace: \(ExportOutputs.describe(sink.name, sink.health))\n")
        }
        StandardError.write(RunSummary(probe.statistics).line)
    }

    /// SIGHUP: re-reads the config file; a bad one is reported and the running configuration kept.
    func reload(_ config: inout ExportConfiguration, _ outputs: inout ExportOutputs, _ metrics: inout RequestMetrics,
                exposition: PrometheusExposition) {
        guard configFile != nil else {
            StandardError.write("pipetrace: SIGHUP: no --config file to reload\n")
            return
        }
        let fresh: ExportConfiguration
        do { fresh = try resolvedConfiguration() } catch {
            StandardError.write("pipetrace: SIGHUP: \(error); keeping the running configuration\n")
            return
        }
        if fresh.pids != config.pids || fresh.containers != config.containers || fresh.ports != config.ports {
            StandardError.write("pipetrace: SIGHUP: filters are applied in the kernel at start; restart to change them\n")
        }
        metrics.slowThreshold = UInt64(fresh.slowMilliseconds * 1e6)
        metrics.maxTargets = fresh.maxTargets
        if fresh.listen != config.listen || fresh.remoteWrite != config.remoteWrite || fresh.otlp != config.otlp
            || !fresh.otlp.isEmpty && fresh.slowMilliseconds != config.slowMilliseconds || fresh.spoolDirectory != config.spoolDirectory
            || fresh.spoolMaxBytes != config.spoolMaxBytes || fresh.spoolMaxBatches != config.spoolMaxBatches
            || fresh.queueBatches != config.queueBatches || fresh.retryInitial != config.retryInitial
            || fresh.retryMax != config.retryMax || fresh.requestTimeout != config.requestTimeout
            || fresh.maxSamplesPerBatch != config.maxSamplesPerBatch
            // TLS files are read again at every SIGHUP: certificates are rotated in place.
            || fresh.otlpCompression != config.otlpCompression || fresh.otlpFlows != config.otlpFlows || fresh.tls != config.tls || fresh.tls != TLSContext.Settings() {
            // What the old sinks hold goes to their spools; the new ones replay it if they use the same directory.
            outputs.stop(flushTimeout: min(2, fresh.flushTimeout))
            do { outputs = try ExportOutputs(fresh, exposition: exposition) } catch {
                StandardError.write("pipetrace: SIGHUP: \(error); exporting to nothing until the next reload\n")
                outputs = ExportOutputs.none
            }
        }
        config = fresh
        StandardError.write("pipetrace: reloaded \(configFile!)\(outputs.summary)\n")
    }
}

/// The /metrics server and the sinks one configuration asks for.
struct ExportOutputs {
    var server: MetricsServer?
    var sinks: [any ExportSink] = []
    var ownTraffic = OwnTraffic()

    static var none: ExportOutputs { ExportOutputs() }

    private init() {}

    init(_ config: ExportConfiguration, exposition: PrometheusExposition) throws {
        if let listen = config.listen, !listen.isEmpty {
            let (host, port) = try HTTPEndpoint.hostPort(listen, defaultPort: nil, what: "--listen", allowZero: true)
            do {
                server = try MetricsServer(host: host, port: port) { exposition.render() }
            } catch {
                throw FailureMessage(text: "\(error.description)")
            }
        }
        let own = OwnTraffic(listen: server.map { ($0.host, $0.port) })
        ownTraffic = own
        // One TLS context (trust store, client certificate) for every https sink, read once.
        var tls: TLSContext?
        if (config.remoteWrite + config.otlp).contains(where: { $0.hasPrefix("https://") }) {
            do { tls = try TLSContext(config.tls) } catch { throw FailureMessage(text: error.description) }
        }
        for url in config.remoteWrite {
            let (endpoint, queue, client) = try Self.delivery(url, what: "remote write", config, own, tls)
            sinks.append(RemoteWriteSink(endpoint: endpoint, queue: queue, client: client,
                                         backoff: Backoff(initial: config.retryInitial, maximum: config.retryMax),
                                         maxSamplesPerBatch: config.maxSamplesPerBatch))
        }
        for url in config.otlp {
            let (endpoint, queue, client) = try Self.delivery(url, what: "OTLP", config, own, tls, probe: { OTLPSink.endpoints($0).traces })
            sinks.append(OTLPSink(endpoint: endpoint, queue: queue, client: client,
                                  backoff: Backoff(initial: config.retryInitial, maximum: config.retryMax),
                                  slowThreshold: UInt64(config.slowMilliseconds * 1e6), compression: config.otlpCompression,
                                  flowSpans: config.otlpFlows))
        }
    }

    /// What every HTTP sink of `url` needs: its endpoint, a queue over its own spool directory, and a client
    /// whose connections are known as our own traffic. Warns at once when the receiver cannot be reached.
    static func delivery(_ url: String, what: String, _ config: ExportConfiguration, _ own: OwnTraffic, _ tls: TLSContext?,
                         probe: (HTTPEndpoint) -> HTTPEndpoint = { $0 }) throws -> (HTTPEndpoint, DeliveryQueue, HTTPClient) {
        let endpoint = try HTTPEndpoint(url)
        // OTLP's spool is named apart: its batches must never be replayed to a remote-write receiver of the same URL.
        let directory = config.spoolDirectory + "/" + (what == "OTLP" ? "otlp_" : "") + String(url.map { $0.isLetter || $0.isNumber ? $0 : "_" })
        let spool: SpoolDirectory
        do {
            spool = try SpoolDirectory(directory: directory,
                                       limits: .init(maxBytes: config.spoolMaxBytes, maxBatches: config.spoolMaxBatches))
        } catch {
            throw FailureMessage(text: "\(error.description)")
        }
        let client = HTTPClient(timeout: config.requestTimeout, tls: tls) { own.connected($0) }
        // Tell at once when a receiver cannot be reached; batches are spooled meanwhile, so it is not fatal.
        do { _ = try client.get(probe(endpoint)) } catch {
            StandardError.write("pipetrace: warning: \(what) \(error.description); spooling to \(directory) until it answers\n")
        }
        if !spool.isEmpty { StandardError.write("pipetrace: \(url): replaying \(spool.count) spooled batches first\n") }
        return (endpoint, DeliveryQueue(spool: spool, maxMemoryBatches: config.queueBatches), client)
    }

    var summary: String {
        var parts: [String] = []
        if let server { parts.append("GET http://\(server.host.contains(":") ? "[\(server.host)]" : server.host):\(server.port)/metrics") }
        parts += sinks.map { "\($0 is OTLPSink ? "OTLP" : "remote write") to \($0.name)" }
        return parts.isEmpty ? "" : ": " + parts.joined(separator: ", ")
    }

    func stop(flushTimeout: Double) {
        server?.stop()
        for sink in sinks { sink.flush(timeout: flushTimeout) }
    }

    static func describe(_ name: String, _ h: SinkHealth) -> String {
        var text = "\(name): \(h.sentPoints) points delivered"
        if h.spoolBatches > 0 { text += ", \(h.spoolBatches) batches (\(h.spoolBytes) bytes) left spooled for the next run" }
        let errors = h.errors.values.reduce(0, +)
        if errors > 0 { text += ", \(errors) failed attempts (" + h.errors.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + ")" }
        if !h.droppedPoints.isEmpty {
            text += ", points DROPPED: " + h.droppedPoints.sorted { $0.key < $1.key }.map { "\($0.value) (\($0.key))" }.joined(separator: ", ")
        }
        return text
    }
}
