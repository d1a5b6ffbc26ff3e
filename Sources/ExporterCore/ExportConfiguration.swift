import Foundation
import Yams

/// Everything `pipetrace export` can be told, from a YAML file
/// (`--config`), each key mirrored by a flag (flags win). Parsing is strict:
/// an unknown key, a wrong type or an out-of-range value is an error that
/// names the key, so a typo never silently means "default".
///
///     listen: 127.0.0.1:9464          # "" turns /metrics off
///     remote_write: [http://127.0.0.1:8428/api/v1/write]
///     otlp: [http://127.0.0.1:4318]     # spans to /v1/traces, slow requests to /v1/logs
///     otlp_compression: gzip          # or none
///     otlp_flows: false               # tcp flows' turns as spans too (they are metrics only by default)
///     interval_s: 10                  # one sample of every series per interval
///     slow_ms: 500
///     max_targets: 50                 # target templates per server container
///     max_samples_per_batch: 5000
///     queue_batches: 16               # in memory per sink, then the spool
///     flush_timeout_s: 10             # at SIGTERM
///     spool: {directory: /var/lib/pipetrace/spool, max_bytes: 268435456, max_batches: 10000}
///     retry: {initial_s: 0.5, max_s: 30, timeout_s: 10}
///     tls: {ca_file: /etc/pipetrace/ca.pem, cert_file: client.pem, key_file: client-key.pem}  # for https URLs
///     filters: {pid: [], container: [], port: [], tls_plaintext: true}  # false: no TLS uprobes
public struct ExportConfiguration: Sendable, Hashable {
    public var listen: String? = "127.0.0.1:9464"
    public var remoteWrite: [String] = []
    /// OTLP/HTTP base URLs (or `…/v1/traces` URLs).
    public var otlp: [String] = []
    /// `Content-Encoding` of OTLP bodies.
    public var otlpCompression: OTLPCompression = .gzip
    /// Whether the turns of unparsed TCP connections are spans too (`OTLPSink.flowSpans`).
    public var otlpFlows = false
    public var interval: Double = 10
    public var slowMilliseconds: Double = 500
    public var maxTargets = 50
    public var maxSamplesPerBatch = 5000
    public var queueBatches = 16
    public var flushTimeout: Double = 10
    public var spoolDirectory = "/var/lib/pipetrace/spool"
    public var spoolMaxBytes = 256 << 20
    public var spoolMaxBatches = 10_000
    public var retryInitial: Double = 0.5
    public var retryMax: Double = 30
    public var requestTimeout: Double = 10
    /// For every https sink URL.
    public var tls = TLSSettings()
    public var pids: [UInt32] = []
    public var containers: [String] = []
    public var ports: [UInt16] = []
    /// Read TLS plaintext through uprobes (`--no-tls-plaintext` turns it off).
    public var tlsPlaintext = true

    public init() {}

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Reads a YAML document over the defaults.
    public static func parse(yaml text: String, source: String = "config") throws(Invalid) -> ExportConfiguration {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw Invalid(description: "\(source): not valid YAML: \(error)")
        }
        try node.map { node throws(Invalid) in try checkShape(node, source: source) }
        let document = node.map(value(of:))
        var c = ExportConfiguration()
        guard let document else { return c }
        let reader = Reader(source: source)
        let top = try reader.mapping(document, "")
        try reader.only(top, ["listen", "remote_write", "otlp", "otlp_compression", "otlp_flows", "interval_s", "slow_ms", "max_targets", "max_samples_per_batch",
                              "queue_batches", "flush_timeout_s", "spool", "retry", "tls", "filters"], in: "")
        if let v = top["listen"] { c.listen = v is NSNull ? nil : try reader.string(v, "listen") }
        if let v = top["remote_write"] { c.remoteWrite = try reader.list(v, "remote_write").enumerated().map { i, e throws(Invalid) in try reader.string(e, "remote_write[\(i)]") } }
        if let v = top["otlp"] {
            // One URL or a list of them.
            let urls = v is String ? [v] : try reader.list(v, "otlp")
            c.otlp = try urls.enumerated().map { i, e throws(Invalid) in try reader.string(e, v is String ? "otlp" : "otlp[\(i)]") }
        }
        if let v = top["otlp_compression"] {
            let name = try reader.string(v, "otlp_compression")
            guard let compression = OTLPCompression(rawValue: name) else { throw reader.fail("otlp_compression", "gzip or none", v) }
            c.otlpCompression = compression
        }
        if let v = top["otlp_flows"] { c.otlpFlows = try reader.bool(v, "otlp_flows") }
        if let v = top["interval_s"] { c.interval = try reader.number(v, "interval_s", above: 0) }
        if let v = top["slow_ms"] { c.slowMilliseconds = try reader.number(v, "slow_ms", atLeast: 0) }
        if let v = top["max_targets"] { c.maxTargets = try reader.integer(v, "max_targets", atLeast: 1) }
        if let v = top["max_samples_per_batch"] { c.maxSamplesPerBatch = try reader.integer(v, "max_samples_per_batch", atLeast: 1) }
        if let v = top["queue_batches"] { c.queueBatches = try reader.integer(v, "queue_batches", atLeast: 0) }
        if let v = top["flush_timeout_s"] { c.flushTimeout = try reader.number(v, "flush_timeout_s", atLeast: 0) }
        if let v = top["spool"] {
            let m = try reader.mapping(v, "spool")
            try reader.only(m, ["directory", "max_bytes", "max_batches"], in: "spool")
            if let v = m["directory"] { c.spoolDirectory = try reader.string(v, "spool.directory") }
            if let v = m["max_bytes"] { c.spoolMaxBytes = try reader.integer(v, "spool.max_bytes", atLeast: 0) }
            if let v = m["max_batches"] { c.spoolMaxBatches = try reader.integer(v, "spool.max_batches", atLeast: 0) }
        }
        if let v = top["retry"] {
            let m = try reader.mapping(v, "retry")
            try reader.only(m, ["initial_s", "max_s", "timeout_s"], in: "retry")
            if let v = m["initial_s"] { c.retryInitial = try reader.number(v, "retry.initial_s", above: 0) }
            if let v = m["max_s"] { c.retryMax = try reader.number(v, "retry.max_s", above: 0) }
            if let v = m["timeout_s"] { c.requestTimeout = try reader.number(v, "retry.timeout_s", above: 0) }
        }
        if let v = top["tls"] {
            let m = try reader.mapping(v, "tls")
            try reader.only(m, ["ca_file", "cert_file", "key_file"], in: "tls")
            if let v = m["ca_file"] { c.tls.caFile = try reader.string(v, "tls.ca_file") }
            if let v = m["cert_file"] { c.tls.certFile = try reader.string(v, "tls.cert_file") }
            if let v = m["key_file"] { c.tls.keyFile = try reader.string(v, "tls.key_file") }
        }
        if let v = top["filters"] {
            let m = try reader.mapping(v, "filters")
            try reader.only(m, ["pid", "container", "port", "tls_plaintext"], in: "filters")
            if let v = m["tls_plaintext"] { c.tlsPlaintext = try reader.bool(v, "filters.tls_plaintext") }
            if let v = m["pid"] { c.pids = try reader.list(v, "filters.pid").map { e throws(Invalid) in UInt32(try reader.integer(e, "filters.pid", atLeast: 1)) } }
            if let v = m["container"] { c.containers = try reader.list(v, "filters.container").map { e throws(Invalid) in try reader.string(e, "filters.container") } }
            if let v = m["port"] {
                c.ports = try reader.list(v, "filters.port").map { e throws(Invalid) in
                    let p = try reader.integer(e, "filters.port", atLeast: 1)
                    guard p <= 65535 else { throw Invalid(description: "\(source): 'filters.port' must be from 1 to 65535, got \(p)") }
                    return UInt16(p)
                }
            }
        }
        try c.validate(source: source)
        return c
    }

    /// Cross-field checks and the URLs; what a flag could also get wrong.
    /// Yams' constructor traps on a mapping key that is not a plain scalar
    /// (`? [a]: b`) and on a base-60 integer past Int's range
    /// (`2888888888888888888:2`), both found by bench/fuzz, and expands
    /// aliases without bound (a few lines of anchors can stand for billions
    /// of values). So the document's tree is checked first (scalar keys only,
    /// at most 100 000 values) and turned into values here (`value(of:)`).
    static func checkShape(_ node: Node, source: String) throws(Invalid) {
        var left = 100_000
        var pending = [node]
        while let next = pending.popLast() {
            left -= 1
            guard left > 0 else { throw Invalid(description: "\(source): too many values (aliases expanding?)") }
            switch next {
            case .scalar: break
            case .alias: throw Invalid(description: "\(source): an alias that does not resolve")
            case .sequence(let sequence): pending.append(contentsOf: sequence)
            case .mapping(let mapping):
                for (key, value) in mapping {
                    guard case .scalar = key else { throw Invalid(description: "\(source): a key that is not a plain name") }
                    pending.append(value)
                }
            }
        }
    }

    /// A checked node as the Reader takes it: mappings `[String: Any]`, lists
    /// `[Any]`, scalars by the tag YAML resolved (`Int`, `Double`, `Bool`,
    /// `NSNull`, else `String`). A number Swift cannot read (base 60, out of
    /// range) stays a string, which the Reader refuses where a number belongs.
    static func value(of node: Node) -> Any {
        switch node {
        case .mapping(let mapping):
            var out: [String: Any] = [:]
            for (key, value) in mapping { out[key.scalar?.string ?? ""] = Self.value(of: value) }
            return out
        case .sequence(let sequence):
            return sequence.map(value(of:))
        case .scalar(let scalar):
            let text = scalar.string
            let digits = text.replacingOccurrences(of: "_", with: "")
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: return NSNull()
            case .bool: return ["true", "yes", "on", "y"].contains(text.lowercased())
            case .int:
                if digits.hasPrefix("0x") { return Int(digits.dropFirst(2), radix: 16) ?? text as Any }
                if digits.hasPrefix("0o") { return Int(digits.dropFirst(2), radix: 8) ?? text as Any }
                return Int(digits) ?? text as Any
            case .float: return Double(digits) ?? text as Any
            default: return text
            }
        case .alias:
            return "" // refused by checkShape before
        }
    }

    public func validate(source: String = "config") throws(Invalid) {
        for (i, url) in remoteWrite.enumerated() {
            do { _ = try HTTPEndpoint(url) } catch { throw Invalid(description: "\(source): 'remote_write[\(i)]': \(error.description)") }
        }
        for (i, url) in otlp.enumerated() {
            do { _ = try HTTPEndpoint(url) } catch { throw Invalid(description: "\(source): 'otlp[\(i)]': \(error.description)") }
        }
        if let listen, !listen.isEmpty {
            do { _ = try HTTPEndpoint.hostPort(listen, defaultPort: nil, what: "'listen'", allowZero: true) } catch {
                throw Invalid(description: "\(source): \(error.description)")
            }
        }
        guard retryMax >= retryInitial else {
            throw Invalid(description: "\(source): 'retry.max_s' (\(retryMax)) is below 'retry.initial_s' (\(retryInitial))")
        }
        guard !spoolDirectory.isEmpty else { throw Invalid(description: "\(source): 'spool.directory' is empty") }
        guard (tls.certFile == nil) == (tls.keyFile == nil) else {
            throw Invalid(description: "\(source): 'tls.cert_file' and 'tls.key_file' go together: a client certificate needs its key")
        }
    }

    /// Typed access that names the key in every error.
    struct Reader {
        let source: String

        func fail(_ key: String, _ what: String, _ value: Any) -> Invalid {
            Invalid(description: "\(source): '\(key)' must be \(what), got \(String(describing: value).debugDescription)")
        }

        func mapping(_ value: Any, _ key: String) throws(Invalid) -> [String: Any] {
            guard let m = value as? [String: Any] else {
                throw key.isEmpty ? Invalid(description: "\(source): the top level must be a mapping of keys") : fail(key, "a mapping", value)
            }
            return m
        }

        func only(_ m: [String: Any], _ known: [String], in parent: String) throws(Invalid) {
            for key in m.keys.sorted() where !known.contains(key) {
                let path = parent.isEmpty ? key : "\(parent).\(key)"
                throw Invalid(description: "\(source): unknown key '\(path)' (known here: \(known.joined(separator: ", ")))")
            }
        }

        func list(_ value: Any, _ key: String) throws(Invalid) -> [Any] {
            if let l = value as? [Any] { return l }
            throw fail(key, "a list", value)
        }

        func string(_ value: Any, _ key: String) throws(Invalid) -> String {
            if let s = value as? String { return s }
            throw fail(key, "a string", value)
        }

        func bool(_ value: Any, _ key: String) throws(Invalid) -> Bool {
            if let b = value as? Bool { return b }
            throw fail(key, "true or false", value)
        }

        func number(_ value: Any, _ key: String, atLeast low: Double? = nil, above: Double? = nil) throws(Invalid) -> Double {
            let d: Double
            if let i = value as? Int { d = Double(i) } else if let x = value as? Double { d = x } else { throw fail(key, "a number", value) }
            if let low, d < low { throw fail(key, "at least \(low)", value) }
            if let above, d <= above { throw fail(key, "more than \(above)", value) }
            return d
        }

        func integer(_ value: Any, _ key: String, atLeast low: Int) throws(Invalid) -> Int {
            guard let i = value as? Int, !(value is Bool) else { throw fail(key, "an integer", value) }
            guard i >= low else { throw fail(key, "at least \(low)", value) }
            return i
        }
    }
}
