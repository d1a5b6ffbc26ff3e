import Glibc

/// A small telemetry pipeline on this host, for `pipetrace demo`: real
/// Debian servers in network namespaces joined by a bridge that lives in a
/// namespace of its own, so nothing is added to the host's network.
///
///     source (nginx: three /metrics targets)
///       ← scraped every second by collector (vmagent)
///     collector → lb (nginx) → aggregator (vmagent) → storage (victoria-metrics)
///                 remote write, flushed every second
///
/// `remove()` (also run on deinit) stops every process, deletes the
/// namespaces and the temporary directory; `init` first removes what a
/// crashed run may have left.
public final class DemoPipeline: @unchecked Sendable {
    // @unchecked: started, watched and removed by the one thread that runs the demo.

    /// Why the demo cannot run, said for the user ("error: …").
    public struct Failure: Error, CustomStringConvertible {
        public let text: String
        public var description: String { text }
    }

    /// The namespaces, in start order (each name is also the container pipetrace shows).
    public static let hosts = ["storage", "aggregator", "lb", "collector", "source"]
    /// The namespace holding the bridge.
    static let hub = "pipetrace-demo"
    static let addresses = ["source": "10.77.0.10", "collector": "10.77.0.11", "lb": "10.77.0.12",
                            "aggregator": "10.77.0.13", "storage": "10.77.0.14"]
    static let sourcePorts = [9100, 9101, 9102]
    static let binaries = ["ip", "ss", "nginx", "vmagent", "victoria-metrics"]

    public let directory: String
    private var processes: [(name: String, process: ChildProcess)] = []
    private let network = NetworkNamespaces()
    private var removed = false
    private let paths: [String: String]

    /// Checks the binaries, clears leftovers and builds the network (no servers yet).
    public init() throws {
        var paths: [String: String] = [:]
        for name in DemoPipeline.binaries {
            guard let path = ChildProcess.find(name) else {
                let package = ["ip": "iproute2", "ss": "iproute2", "vmagent": "victoria-metrics"][name] ?? name
                throw Failure(text: "error: the demo needs `\(name)`, which is not installed (Debian: apt-get install \(package))")
            }
            paths[name] = path
        }
        self.paths = paths
        var template = Array("/tmp/pipetrace-demo-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Failure(text: "error: cannot create a temporary directory") }
        directory = String(cString: made)
        DemoPipeline.removeNamespaces()
        do {
            try buildNetwork()
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    /// Starts the servers from storage up to the collector, each once the one it sends to listens.
    /// `shouldStop` is asked while waiting (a Ctrl-C during start-up).
    public func start(shouldStop: () -> Bool) throws {
        let a = DemoPipeline.addresses
        try write("metrics.txt", DemoPipeline.sampleMetrics())
        try write("source.conf", nginxConfiguration(name: "source", body: """
            server {
                \(DemoPipeline.sourcePorts.map { "listen \($0);" }.joined(separator: " "))
                location /metrics { default_type text/plain; alias \(directory)/metrics.txt; }
            }
            """))
        try write("lb.conf", nginxConfiguration(name: "lb", body: """
            upstream aggregators { server \(a["aggregator"]!):8429; keepalive 16; }
            server {
                listen 8480;
                client_max_body_size 64m;
                location / {
                    proxy_pass http://aggregators;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                }
            }
            """))
        try write("scrape.yml", """
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: source
                static_configs:
                  - targets: [\(DemoPipeline.sourcePorts.map { "'\(a["source"]!):\($0)'" }.joined(separator: ", "))]

            """)
        let vm = paths["victoria-metrics"]!, vmagent = paths["vmagent"]!, nginx = paths["nginx"]!
        try launch("storage", [vm, "-storageDataPath=\(directory)/storage", "-httpListenAddr=:8428", "-retentionPeriod=1d",
                               "-loggerLevel=WARN"], port: 8428, shouldStop: shouldStop)
        try launch("aggregator", [vmagent, "-httpListenAddr=:8429", "-remoteWrite.url=http://\(a["storage"]!):8428/api/v1/write",
                                  "-remoteWrite.tmpDataPath=\(directory)/aggregator", "-remoteWrite.flushInterval=1s",
                                  "-loggerLevel=WARN"], port: 8429, shouldStop: shouldStop)
        try launch("lb", [nginx, "-c", "\(directory)/lb.conf"], port: 8480, shouldStop: shouldStop)
        try launch("source", [nginx, "-c", "\(directory)/source.conf"], port: DemoPipeline.sourcePorts[0], shouldStop: shouldStop)
        try launch("collector", [vmagent, "-httpListenAddr=:8429", "-promscrape.config=\(directory)/scrape.yml",
                                 "-remoteWrite.url=http://\(a["lb"]!):8480/api/v1/write",
                                 "-remoteWrite.tmpDataPath=\(directory)/collector", "-remoteWrite.flushInterval=1s",
                                 "-loggerLevel=WARN"], port: 8429, shouldStop: shouldStop)
    }

    /// A server that has exited since it started, with the end of its log.
    public func exitedServer() -> String? {
        processes.first { !$0.process.isRunning }.map { "\($0.name) exited: \(logTail($0.name))" }
    }

    public func remove() {
        guard !removed else { return }
        removed = true
        for (_, process) in processes.reversed() { process.stop() }
        processes = []
        network.remove()
        _ = try? ChildProcess.run(["rm", "-rf", "--one-file-system", directory])
    }

    /// Deletes the demo's namespaces and whatever still runs in them (also a crashed run's).
    static func removeNamespaces() {
        NetworkNamespaces.delete(hosts + [hub])
    }

    private func buildNetwork() throws {
        do {
            try network.add(DemoPipeline.hub)
            try network.addBridge("br0", in: DemoPipeline.hub)
            for ns in DemoPipeline.hosts {
                try network.add(ns)
                try network.link("eth0", in: ns, to: "to-\(ns)", in: DemoPipeline.hub, bridge: "br0")
                try network.address("\(DemoPipeline.addresses[ns]!)/24", device: "eth0", in: ns)
            }
        } catch let failure as ChildProcess.Failure {
            throw Failure(text: "error: `\(failure.command.joined(separator: " "))` failed: \(failure.stderr)")
        }
    }

    private func launch(_ ns: String, _ argv: [String], port: Int, shouldStop: () -> Bool) throws {
        let process: ChildProcess
        do {
            process = try ChildProcess([paths["ip"]!, "netns", "exec", ns] + argv, output: .appendTo(path: logPath(ns)), processGroup: true)
        } catch let failure as ChildProcess.Failure {
            throw Failure(text: "error: \(failure.stderr) (\(ns))")
        }
        processes.append((ns, process))
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            if shouldStop() { throw Failure(text: "pipetrace demo: stopped during start-up") }
            guard process.isRunning else {
                throw Failure(text: "error: \(ns) (\(argv[0])) exited during start-up:\n\(logTail(ns))")
            }
            if (try? ChildProcess.run(NetworkNamespaces.exec(ns, ["ss", "-Htln", "sport = :\(port)"])).stdout)?.contains(":\(port)") == true {
                return
            }
            usleep(100_000)
        }
        throw Failure(text: "error: \(ns) did not listen on port \(port) within 15 s:\n\(logTail(ns))")
    }

    private func logPath(_ ns: String) -> String { "\(directory)/\(ns).log" }

    /// The last lines of a server's log, for an error message.
    private func logTail(_ ns: String, lines: Int = 5) -> String {
        guard let file = fopen(logPath(ns), "r") else { return "" }
        defer { fclose(file) }
        var text: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            text += buffer[..<n]
            if text.count > 64 << 10 { text.removeFirst(text.count - (32 << 10)) }
        }
        return String(decoding: text, as: UTF8.self).split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    private func nginxConfiguration(name: String, body: String) -> String {
        let d = "\(directory)/\(name)"
        return """
        worker_processes 1;
        daemon off;
        user root;
        pid \(d).pid;
        error_log \(d)-error.log warn;
        events { worker_connections 1024; }
        http {
            access_log off;
            client_body_temp_path \(d)-body;
            proxy_temp_path \(d)-proxy;
            fastcgi_temp_path \(d)-fastcgi;
            uwsgi_temp_path \(d)-uwsgi;
            scgi_temp_path \(d)-scgi;
            \(body)
        }

        """
    }

    private func write(_ name: String, _ text: String) throws {
        guard let file = fopen("\(directory)/\(name)", "w") else {
            throw Failure(text: "error: cannot write \(directory)/\(name)")
        }
        defer { fclose(file) }
        fputs(text, file)
    }

    /// A node-exporter-like page of a few hundred series: enough for remote write batches of a realistic size.
    static func sampleMetrics() -> String {
        var text = "# HELP demo_cpu_seconds_total Seconds the CPUs spent in each mode.\n# TYPE demo_cpu_seconds_total counter\n"
        for cpu in 0..<16 {
            for (i, mode) in ["idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice"].enumerated() {
                text += "demo_cpu_seconds_total{cpu=\"\(cpu)\",mode=\"\(mode)\"} \(1000 * cpu + 37 * i).25\n"
            }
        }
        text += "# HELP demo_http_request_duration_seconds Request latency.\n# TYPE demo_http_request_duration_seconds histogram\n"
        for handler in ["/api/v1/write", "/metrics", "/api/v1/query", "/health"] {
            var cumulative = 0
            for (i, le) in ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "+Inf"].enumerated() {
                cumulative += 100 / (i + 1)
                text += "demo_http_request_duration_seconds_bucket{handler=\"\(handler)\",le=\"\(le)\"} \(cumulative)\n"
            }
            text += "demo_http_request_duration_seconds_sum{handler=\"\(handler)\"} 12.5\n"
            text += "demo_http_request_duration_seconds_count{handler=\"\(handler)\"} \(cumulative)\n"
        }
        return text
    }
}
