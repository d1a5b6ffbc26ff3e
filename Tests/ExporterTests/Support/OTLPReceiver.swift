import Exporter
import ExporterCore
import Foundation
import Glibc
import TestSupport

/// The fixture OTLP/HTTP receiver (`Fixtures/otlp_receiver.py`) on
/// loopback: stores each body it is sent (gunzipped by Python); stopped and
/// removed at the end. With `tls`, it serves https with the test CA's server
/// certificate, and with `requireClientCertificate` accepts only clients
/// presenting one the test CA signed.
final class OTLPReceiver {
    let port: UInt16
    let directory: String
    let tls: TestCertificates?
    let requireClientCertificate: Bool
    private var process: ChildProcess?

    init(tls: TestCertificates? = nil, requireClientCertificate: Bool = false) throws {
        self.tls = tls
        self.requireClientCertificate = requireClientCertificate
        port = freePort()
        directory = NSTemporaryDirectory() + "pipetrace-otlp-\(UUID().uuidString)"
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var baseURL: String { "\(tls == nil ? "http" : "https")://127.0.0.1:\(port)" }

    func start() throws {
        var command = ["python3", Repository.fixtures + "/otlp_receiver.py", String(port), directory]
        if let tls { command += [tls.serverCert, tls.serverKey] + (requireClientCertificate ? [tls.ca] : []) }
        process = try ChildProcess(command, output: .discard)
        let probe = try HTTPEndpoint(baseURL + "/")
        let client = HTTPClient(timeout: 1, tls: try tls?.context(clientCertificate: requireClientCertificate))
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if (try? client.get(probe)) != nil { return }
            usleep(50_000)
        }
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "the OTLP receiver did not start on port \(port)"])
    }

    func stop() {
        guard let p = process, p.isRunning else { return }
        p.signal(SIGKILL)
        p.wait()
        process = nil
    }

    /// Every body received so far, in order: its signal ("traces", "logs"), Content-Type,
    /// Content-Encoding ("" for none) and bytes (gunzipped).
    func bodies() -> [(signal: String, contentType: String, contentEncoding: String, body: [UInt8])] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".bin") }.sorted()
        return names.map { name in
            let stem = String(name.dropLast(4))
            let type = (try? String(contentsOfFile: directory + "/" + stem + ".type", encoding: .utf8)) ?? ""
            let encoding = (try? String(contentsOfFile: directory + "/" + stem + ".encoding", encoding: .utf8)) ?? ""
            let body = FileManager.default.contents(atPath: directory + "/" + name) ?? Data()
            return (String(stem.split(separator: "-")[1]), type, encoding, [UInt8](body))
        }
    }

    /// Every span (or log record) received so far, decoded by opentelemetry-proto.
    func decoded(_ signal: String) throws -> [[String: Any]] {
        try bodies().filter { $0.signal == signal }.flatMap { try OTLPDecoder.decode(signal, $0.body) }
    }
}

/// `Fixtures/decode_otlp.py`: the opentelemetry-proto package reads our bytes.
enum OTLPDecoder {
    static var available: Bool {
        (try? Command.run(["python3", "-c", "import opentelemetry.proto.collector.trace.v1.trace_service_pb2"]).status) == 0
    }

    /// One JSON object per span (`signal` "traces") or log record ("logs").
    static func decode(_ signal: String, _ body: [UInt8]) throws -> [[String: Any]] {
        let result = try Command.run(["python3", Repository.fixtures + "/decode_otlp.py", signal], input: body)
        guard result.status == 0 else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "decode_otlp.py: \(result.stderr)"])
        }
        return try result.stdout.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }
}

/// Hex of bytes, as decode_otlp.py prints ids.
func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

/// Whether two decoded JSON values are equal (numbers by value).
func same(_ a: Any, _ b: Any) -> Bool { NSDictionary(dictionary: ["v": a]).isEqual(to: ["v": b]) }
