import ExporterCore

/// The /metrics server and the sinks one configuration asks for.
public struct ExportOutputs {
    public var server: MetricsServer?
    public var sinks: [any ExportSink] = []
    public var ownTraffic = OwnTraffic()

    /// Why the outputs of a configuration cannot be made (an address in use, a spool directory not writable, a bad TLS file).
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static var none: ExportOutputs { ExportOutputs() }

    /// Given parts (a test's sinks).
    public init(server: MetricsServer? = nil, sinks: [any ExportSink] = [], ownTraffic: OwnTraffic = OwnTraffic()) {
        self.server = server
        self.sinks = sinks
        self.ownTraffic = ownTraffic
    }

    /// Opens the server and makes the sinks; `log` is told what is not fatal (a receiver not answering yet).
    public init(_ config: ExportConfiguration, exposition: PrometheusExposition, log: (String) -> Void) throws {
        if let listen = config.listen, !listen.isEmpty {
            let (host, port) = try HTTPEndpoint.hostPort(listen, defaultPort: nil, what: "--listen", allowZero: true)
            do {
                server = try MetricsServer(host: host, port: port) { exposition.render() }
            } catch {
                throw Failure(description: "\(error.description)")
            }
        }
        let own = OwnTraffic(listen: server.map { ($0.host, $0.port) })
        ownTraffic = own
        // One TLS context (trust store, client certificate) for every https sink, read once.
        var tls: TLSContext?
        if (config.remoteWrite + config.otlp).contains(where: { $0.hasPrefix("https://") }) {
            do { tls = try TLSContext(config.tls) } catch { throw Failure(description: error.description) }
        }
        for url in config.remoteWrite {
            let (endpoint, queue, client) = try Self.delivery(url, what: "remote write", config, own, tls, log: log)
            sinks.append(RemoteWriteSink(endpoint: endpoint, queue: queue, client: client,
                                         backoff: Backoff(initial: config.retryInitial, maximum: config.retryMax),
                                         maxSamplesPerBatch: config.maxSamplesPerBatch))
        }
        for url in config.otlp {
            let (endpoint, queue, client) = try Self.delivery(url, what: "OTLP", config, own, tls, log: log,
                                                              probe: { OTLPSink.endpoints($0).traces })
            sinks.append(OTLPSink(endpoint: endpoint, queue: queue, client: client,
                                  backoff: Backoff(initial: config.retryInitial, maximum: config.retryMax),
                                  slowThreshold: UInt64(config.slowMilliseconds * 1e6), compression: config.otlpCompression,
                                  flowSpans: config.otlpFlows))
        }
    }

    /// What every HTTP sink of `url` needs: its endpoint, a queue over its own spool directory, and a client
    /// whose connections are known as our own traffic. Warns at once when the receiver cannot be reached.
    static func delivery(_ url: String, what: String, _ config: ExportConfiguration, _ own: OwnTraffic, _ tls: TLSContext?,
                         log: (String) -> Void,
                         probe: (HTTPEndpoint) -> HTTPEndpoint = { $0 }) throws -> (HTTPEndpoint, DeliveryQueue, HTTPClient) {
        let endpoint = try HTTPEndpoint(url)
        // OTLP's spool is named apart: its batches must never be replayed to a remote-write receiver of the same URL.
        let directory = config.spoolDirectory + "/" + (what == "OTLP" ? "otlp_" : "") + String(url.map { $0.isLetter || $0.isNumber ? $0 : "_" })
        let spool: SpoolDirectory
        do {
            spool = try SpoolDirectory(directory: directory,
                                       limits: .init(maxBytes: config.spoolMaxBytes, maxBatches: config.spoolMaxBatches))
        } catch {
            throw Failure(description: "\(error.description)")
        }
        let client = HTTPClient(timeout: config.requestTimeout, tls: tls) { own.connected($0) }
        // Tell at once when a receiver cannot be reached; batches are spooled meanwhile, so it is not fatal.
        do { _ = try client.get(probe(endpoint)) } catch {
            log("pipetrace: warning: \(what) \(error.description); spooling to \(directory) until it answers\n")
        }
        if !spool.isEmpty { log("pipetrace: \(url): replaying \(spool.count) spooled batches first\n") }
        return (endpoint, DeliveryQueue(spool: spool, maxMemoryBatches: config.queueBatches), client)
    }

    public var summary: String {
        var parts: [String] = []
        if let server { parts.append("GET http://\(server.host.contains(":") ? "[\(server.host)]" : server.host):\(server.port)/metrics") }
        parts += sinks.map { "\($0 is OTLPSink ? "OTLP" : "remote write") to \($0.name)" }
        return parts.isEmpty ? "" : ": " + parts.joined(separator: ", ")
    }

    public func stop(flushTimeout: Double) {
        server?.stop()
        for sink in sinks { sink.flush(timeout: flushTimeout) }
    }

    public static func describe(_ name: String, _ h: SinkHealth) -> String {
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
