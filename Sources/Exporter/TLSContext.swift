import COpenSSL
import ExporterCore
import Glibc

/// What a sink's TLS connections trust and present: OpenSSL's client
/// context, built once per configuration (the trust store is read at
/// start, so a bad file is an error then, not at the first batch) and
/// shared by the sink's connections (OpenSSL contexts are thread-safe).
///
/// The server certificate is always verified: against `caFile` when given,
/// else the system trust store (Debian: /etc/ssl/certs). Its name must match
/// the URL's host (an IP address against the certificate's IP addresses).
/// `certFile`/`keyFile` (PEM) are the client certificate for servers that
/// ask for one (mTLS, common for remote write behind a gateway). TLS 1.2 at least.
public final class TLSContext: @unchecked Sendable {
    /// The `tls` keys of the configuration (in the core, where it is parsed).
    public typealias Settings = TLSSettings

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    let context: OpaquePointer

    public init(_ settings: Settings = Settings()) throws(Invalid) {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw Invalid(description: "TLS: \(Self.openSSLError())") }
        self.context = context
        guard pipetrace_ssl_ctx_set_min_tls12(context) == 1 else {
            throw Invalid(description: "TLS: cannot require TLS 1.2 or later: \(Self.openSSLError())")
        }
        pipetrace_ssl_ctx_ignore_unexpected_eof(context)
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        if let caFile = settings.caFile {
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                throw Invalid(description: "'tls.ca_file' \(caFile): \(Self.openSSLError())")
            }
        } else if SSL_CTX_set_default_verify_paths(context) != 1 {
            throw Invalid(description: "TLS: cannot read the system trust store: \(Self.openSSLError())")
        }
        switch (settings.certFile, settings.keyFile) {
        case (nil, nil):
            break
        case let (cert?, key?):
            // The key first: loading it after the certificate would fail a mismatch with a terser reason.
            guard SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1 else {
                throw Invalid(description: "'tls.key_file' \(key): \(Self.openSSLError())")
            }
            guard SSL_CTX_use_certificate_chain_file(context, cert) == 1 else {
                throw Invalid(description: "'tls.cert_file' \(cert): \(Self.openSSLError())")
            }
            guard SSL_CTX_check_private_key(context) == 1 else {
                throw Invalid(description: "'tls.key_file' \(key) is not the key of 'tls.cert_file' \(cert)")
            }
        default:
            throw Invalid(description: "'tls.cert_file' and 'tls.key_file' go together: a client certificate needs its key")
        }
    }

    deinit { SSL_CTX_free(context) }

    /// The TLS handshake over a connected socket, verifying the server as `host`.
    /// A certificate that does not verify fails with why, naming the host.
    /// Fails closed: a host that cannot be checked (empty, a NUL byte, a
    /// name OpenSSL refuses) is an error before a byte is sent, never a
    /// connection that verifies nothing.
    func connect(_ socket: Socket, host: String, port: UInt16) throws(Socket.Failure) -> TLSStream {
        ERR_clear_error()
        guard !host.isEmpty, !host.utf8.contains(0) else {
            throw Socket.Failure(reason: "tls", description: "TLS: no host name to verify the certificate against")
        }
        guard let ssl = SSL_new(context) else { throw Socket.Failure(reason: "tls", description: "TLS: \(Self.openSSLError())") }
        let stream = TLSStream(ssl: ssl, socket: socket)
        func check(_ ok: Bool, _ what: String) throws(Socket.Failure) {
            guard ok else { throw Socket.Failure(reason: "tls", description: "TLS: \(what) \(host): \(Self.openSSLError())") }
        }
        var address = in6_addr()
        let isAddress = inet_pton(AF_INET, host, &address) == 1 || inet_pton(AF_INET6, host, &address) == 1
        if isAddress {
            try check(X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1, "cannot verify against the address")
        } else {
            // SNI (never for an IP address, RFC 6066) and the name the certificate must carry.
            try check(pipetrace_ssl_set_server_name(ssl, host) == 1, "cannot send the server name")
            try check(SSL_set1_host(ssl, host) == 1, "cannot verify against the name")
        }
        try check(SSL_set_fd(ssl, socket.fd) == 1, "cannot attach the socket for")
        let result = SSL_connect(ssl)
        guard result == 1 else {
            let verify = SSL_get_verify_result(ssl)
            if verify != X509_V_OK {
                let why = String(cString: X509_verify_cert_error_string(verify))
                throw Socket.Failure(reason: "tls", description: "TLS: the certificate of \(host):\(port) is not trusted: \(why)")
            }
            throw stream.failure(result, "TLS handshake with \(host):\(port)")
        }
        return stream
    }

    /// The oldest error on OpenSSL's queue for this thread, as text (and the queue cleared).
    static func openSSLError() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "unknown error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // "error:0A000086:SSL routines::certificate verify failed": the reason is the part after the last colon.
        return text.split(separator: ":", omittingEmptySubsequences: false).last.map(String.init) ?? text
    }
}
