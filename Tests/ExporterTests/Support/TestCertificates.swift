import Exporter
import ExporterCore
import Foundation
import TestSupport

/// A throwaway certificate authority, a server certificate it signed (for
/// 127.0.0.1 only, so "localhost" does not match), a client certificate it
/// signed, and a second CA that signed nothing of ours: made with the
/// `openssl` command in a temporary directory, removed at the end.
final class TestCertificates {
    let directory: String
    var ca: String { directory + "/ca.pem" }
    var serverCert: String { directory + "/server.pem" }
    var serverKey: String { directory + "/server-key.pem" }
    var clientCert: String { directory + "/client.pem" }
    var clientKey: String { directory + "/client-key.pem" }
    /// A CA that did not sign the server's certificate.
    var otherCA: String { directory + "/other-ca.pem" }

    init() throws {
        directory = NSTemporaryDirectory() + "pipetrace-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for name in ["ca", "other-ca"] {
            try openssl(["req", "-x509"] + key + ["-keyout", "\(directory)/\(name)-key.pem", "-out", "\(directory)/\(name).pem",
                                                 "-subj", "/CN=pipetrace test \(name)", "-days", "2"])
        }
        for (name, extensions) in [("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
                                   ("client", "extendedKeyUsage=clientAuth\n")] {
            try extensions.write(toFile: "\(directory)/\(name).ext", atomically: true, encoding: .utf8)
            try openssl(["req"] + key + ["-keyout", "\(directory)/\(name)-key.pem", "-out", "\(directory)/\(name).csr",
                                        "-subj", "/CN=pipetrace test \(name)"])
            try openssl(["x509", "-req", "-in", "\(directory)/\(name).csr", "-CA", ca, "-CAkey", "\(directory)/ca-key.pem",
                         "-CAcreateserial", "-days", "2", "-extfile", "\(directory)/\(name).ext", "-out", "\(directory)/\(name).pem"])
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    static var available: Bool { Command.exists("openssl") }

    /// A client context trusting our CA (and presenting our client certificate, if asked).
    func context(clientCertificate: Bool = false) throws -> TLSContext {
        try TLSContext(.init(caFile: ca, certFile: clientCertificate ? clientCert : nil, keyFile: clientCertificate ? clientKey : nil))
    }

    private func openssl(_ arguments: [String]) throws {
        let result = try Command.run(["openssl"] + arguments)
        guard result.status == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "openssl \(arguments[0]): \(result.stderr)"])
        }
    }
}
