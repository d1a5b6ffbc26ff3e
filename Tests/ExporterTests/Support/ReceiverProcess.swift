import Exporter
import ExporterCore
import Foundation
import Glibc
import TestSupport

/// A free TCP port on loopback (bound, read, released).
func freePort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
            bind(fd, p, length)
            return getsockname(fd, p, &length)
        }
    }
    return UInt16(bigEndian: address.sin_port)
}

/// A storage server (victoria-metrics or prometheus) run by a test on
/// loopback, with its data in a temporary directory; stopped and removed at
/// the end. With `tls` (victoria-metrics only), it serves https with the
/// test CA's server certificate; with `rules` (prometheus only), it
/// evaluates that rule file every second.
final class ReceiverProcess {
    enum Kind { case victoriaMetrics, prometheus }

    let kind: Kind
    let port: UInt16
    let directory: String
    let tls: TestCertificates?
    let rules: String?
    /// Queries it (over https with `tls`, trusting the test CA).
    let client: HTTPClient
    private var process: ChildProcess?

    init(_ kind: Kind, directory: String? = nil, port: UInt16? = nil, tls: TestCertificates? = nil, rules: String? = nil) throws {
        self.kind = kind
        self.tls = tls
        self.rules = rules
        client = HTTPClient(timeout: 10, tls: try tls?.context())
        self.port = port ?? freePort()
        self.directory = directory ?? NSTemporaryDirectory() + "pipetrace-receiver-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static var available: Bool { Command.exists("victoria-metrics") && Command.exists("prometheus") }

    var baseURL: String { "\(tls == nil ? "http" : "https")://127.0.0.1:\(port)" }

    var writeURL: String { baseURL + "/api/v1/write" }

    func start() throws {
        let command: [String]
        switch kind {
        case .victoriaMetrics:
            var arguments = ["victoria-metrics", "-storageDataPath", directory + "/data", "-httpListenAddr", "127.0.0.1:\(port)",
                           "-retentionPeriod", "100y", "-search.latencyOffset", "0s", "-loggerLevel", "ERROR"]
            if let tls { arguments += ["-tls", "-tlsCertFile", tls.serverCert, "-tlsKeyFile", tls.serverKey] }
            command = arguments
        case .prometheus:
            let config = directory + "/prometheus.yml"
            var text = "global:\n  scrape_interval: 1h\n"
            if let rules { text += "  evaluation_interval: 1s\nrule_files: [\"\(rules)\"]\n" }
            try text.write(toFile: config, atomically: true, encoding: .utf8)
            command = ["prometheus", "--config.file", config, "--storage.tsdb.path", directory + "/data",
                           "--web.listen-address", "127.0.0.1:\(port)", "--web.enable-remote-write-receiver", "--log.level", "error"]
        }
        process = try ChildProcess(command, output: .discard)
        let ready = try HTTPEndpoint(baseURL + (kind == .victoriaMetrics ? "/health" : "/-/ready"))
        var probe = client
        probe.timeout = 1
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let r = try? probe.get(ready), r.status == 200 { return }
            usleep(100_000)
        }
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "\(kind) did not become ready on port \(port)"])
    }

    func stop() {
        guard let p = process, p.isRunning else { return }
        p.stop()
        process = nil
    }

    /// GET a path of the HTTP API, as JSON.
    func query(_ pathAndQuery: String) throws -> Any {
        let r = try client.get(try HTTPEndpoint(baseURL + pathAndQuery))
        return try JSONSerialization.jsonObject(with: Data(r.body), options: [.fragmentsAllowed])
    }

    /// `/api/v1/export` (victoria-metrics): every raw sample of the matching series, as (labels, values, timestamps).
    func export(_ match: String) throws -> [(metric: [String: String], values: [Double], timestamps: [Int64])] {
        let r = try client.get(try HTTPEndpoint(baseURL + "/api/v1/export?match[]=\(Self.escape(match))"))
        return try String(decoding: r.body, as: UTF8.self).split(separator: "\n").map { line in
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return (o["metric"] as! [String: String], (o["values"] as! [NSNumber]).map(\.doubleValue),
                    (o["timestamps"] as! [NSNumber]).map(\.int64Value))
        }
    }

    /// `/api/v1/query` instant vector: labels and value of each result.
    func instant(_ promql: String) throws -> [([String: String], Double)] {
        let o = try query("/api/v1/query?query=\(Self.escape(promql))") as! [String: Any]
        let data = o["data"] as? [String: Any] ?? [:]
        return (data["result"] as? [[String: Any]] ?? []).map { r in
            let value = r["value"] as! [Any]
            return (r["metric"] as! [String: String], Double(value[1] as! String) ?? .nan)
        }
    }

    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s
    }
}
