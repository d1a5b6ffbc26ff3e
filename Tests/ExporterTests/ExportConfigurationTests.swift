import TestSupport
import Testing
@testable import Exporter
@testable import ExporterCore

@Suite("Config file: strict, and every error names its key")
struct ExportConfigurationTests {
    @Test("a full file is read over the defaults")
    func full() throws {
        let c = try ExportConfiguration.parse(yaml: """
            listen: 0.0.0.0:9464
            remote_write: [http://127.0.0.1:8428/api/v1/write, "http://[::1]:9090/api/v1/write", https://vm.example.com/api/v1/write]
            otlp: https://otel.example.com:4318
            otlp_compression: none
            otlp_flows: true
            tls: {ca_file: /etc/pipetrace/ca.pem, cert_file: /etc/pipetrace/client.pem, key_file: /etc/pipetrace/client-key.pem}
            interval_s: 5
            slow_ms: 250.5
            spool: {directory: /tmp/s, max_bytes: 1048576, max_batches: 10}
            retry: {initial_s: 1, max_s: 60, timeout_s: 3}
            filters: {container: [lb, vm], port: [8428], tls_plaintext: false}
            """)
        #expect(c.listen == "0.0.0.0:9464")
        #expect(c.remoteWrite.count == 3)
        #expect(c.otlp == ["https://otel.example.com:4318"] && c.otlpCompression == .none && c.otlpFlows)
        #expect(c.tls == .init(caFile: "/etc/pipetrace/ca.pem", certFile: "/etc/pipetrace/client.pem", keyFile: "/etc/pipetrace/client-key.pem"))
        #expect(c.interval == 5 && c.slowMilliseconds == 250.5)
        #expect(c.spoolDirectory == "/tmp/s" && c.spoolMaxBytes == 1 << 20 && c.spoolMaxBatches == 10)
        #expect(c.retryInitial == 1 && c.retryMax == 60 && c.requestTimeout == 3)
        #expect(c.containers == ["lb", "vm"] && c.ports == [8428] && !c.tlsPlaintext)
        #expect(ExportConfiguration().tlsPlaintext)
        #expect(try ExportConfiguration.parse(yaml: "otlp: http://127.0.0.1:4318").otlp == ["http://127.0.0.1:4318"])
        #expect(try ExportConfiguration.parse(yaml: "otlp: [http://a:4318, http://b:4318/v1/traces]").otlp == ["http://a:4318", "http://b:4318/v1/traces"])
        #expect(try ExportConfiguration.parse(yaml: "") == ExportConfiguration())
        #expect(try ExportConfiguration.parse(yaml: "listen: null").listen == nil)
    }

    /// The input bench/fuzz's ExportConfigurationFuzzer made Yams trap on: a complex key (`? …`) that is no string.
    static let fuzzCrash = String(decoding: [0x3f, 0x20, 0x41, 0xdb, 0x8c, 0x9a, 0x8d, 0x91, 0xdf, 0x69, 0x76, 0x29, 0x9b,
                                             0x79, 0x9c, 0x3a, 0x20, 0x70, 0x69, 0x70, 0x20] as [UInt8], as: UTF8.self)

    /// Six lines of anchors and aliases that stand for 10^6 values.
    static let billionLaughs = (0..<6).map { (i: Int) -> String in
        let item = i == 0 ? "x" : "*l\(i - 1)"
        return "l\(i): &l\(i) [" + [String](repeating: item, count: 10).joined(separator: ", ") + "]"
    }.joined(separator: "\n")

    @Test("bad files are refused with the key named", arguments: [
        ("slow_msec: 3", "f.yaml: unknown key 'slow_msec' (known here: listen, remote_write, otlp, otlp_compression, otlp_flows, interval_s, slow_ms, max_targets, max_samples_per_batch, queue_batches, flush_timeout_s, spool, retry, tls, filters)"),
        ("spool: {max_byte: 3}", "f.yaml: unknown key 'spool.max_byte' (known here: directory, max_bytes, max_batches)"),
        ("slow_ms: fast", "f.yaml: 'slow_ms' must be a number, got \"fast\""),
        ("interval_s: 0", "f.yaml: 'interval_s' must be more than 0.0, got \"0\""),
        ("remote_write: http://x/api/v1/write", "f.yaml: 'remote_write' must be a list, got \"http://x/api/v1/write\""),
        ("remote_write: [ftp://x/api/v1/write]", "f.yaml: 'remote_write[0]': 'ftp://x/api/v1/write' is not an http:// or https:// URL"),
        ("otlp: [http://c:4318, https://otel:99999]", "f.yaml: 'otlp[1]': 'https://otel:99999': a port from 1 to 65535 is needed"),
        ("otlp_compression: zstd", "f.yaml: 'otlp_compression' must be gzip or none, got \"zstd\""),
        ("otlp_flows: yes please", "f.yaml: 'otlp_flows' must be true or false, got \"yes please\""),
        ("tls: {ca: /x}", "f.yaml: unknown key 'tls.ca' (known here: ca_file, cert_file, key_file)"),
        ("tls: {cert_file: /c.pem}", "f.yaml: 'tls.cert_file' and 'tls.key_file' go together: a client certificate needs its key"),
        ("otlp: 4318", "f.yaml: 'otlp' must be a list, got \"4318\""),
        ("filters: {port: [70000]}", "f.yaml: 'filters.port' must be from 1 to 65535, got 70000"),
        ("filters: {tls_plaintext: no TLS}", "f.yaml: 'filters.tls_plaintext' must be true or false, got \"no TLS\""),
        ("listen: localhost", "f.yaml: 'listen': a port from 1 to 65535 is needed"),
        ("retry: {initial_s: 10, max_s: 1}", "f.yaml: 'retry.max_s' (1.0) is below 'retry.initial_s' (10.0)"),
        ("- a\n- b", "f.yaml: the top level must be a mapping of keys"),
        // Yams' constructor trapped on these (bench/fuzz's ExportConfigurationFuzzer found the first).
        (ExportConfigurationTests.fuzzCrash, "f.yaml: a key that is not a plain name"),
        ("? [a, b]\n: c", "f.yaml: a key that is not a plain name"),
        ("spool: {{directory: x}: y}", "f.yaml: a key that is not a plain name"),
        // A billion laughs: six lines that stand for 10^6 values.
        (ExportConfigurationTests.billionLaughs, "f.yaml: too many values (aliases expanding?)"),
        ("slow_ms: 28888888888888888822:2", "f.yaml: 'slow_ms' must be a number, got \"28888888888888888822:2\""),
        ("max_targets: 99999999999999999999", "f.yaml: 'max_targets' must be an integer, got \"99999999999999999999\""),
    ])
    func refused(_ yaml: String, _ message: String) {
        #expect(throws: ExportConfiguration.Invalid(description: message)) {
            try ExportConfiguration.parse(yaml: yaml, source: "f.yaml")
        }
    }

    @Test("deploy/export.yaml, as shipped, is a valid config with the defaults")
    func shipped() throws {
        let text = try String(contentsOfFile: Repository.root.appendingPathComponent("deploy/export.yaml").path, encoding: .utf8)
        let c = try ExportConfiguration.parse(yaml: text, source: "deploy/export.yaml")
        #expect(c.otlpCompression == .gzip && c.tls == .init() && c.remoteWrite == ["http://127.0.0.1:8428/api/v1/write"])
    }

    @Test("not YAML at all")
    func notYAML() {
        #expect(throws: ExportConfiguration.Invalid.self) { try ExportConfiguration.parse(yaml: "a: [", source: "f.yaml") }
    }
}
