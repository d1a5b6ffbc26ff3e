import COpenSSL
import Glibc

/// The bytes a connection carries, plain or through TLS: what the HTTP
/// client reads and writes, whichever the URL asked for.
protocol ByteStream: AnyObject {
    func writeAll(_ bytes: [UInt8]) throws(Socket.Failure)
    /// Up to `max` bytes; empty at the end of the stream.
    func read(max: Int) throws(Socket.Failure) -> [UInt8]
}

extension Socket: ByteStream {}

/// A TLS session over a connected `Socket` (made by `TLSContext.connect`),
/// freed with it. Blocking, with the socket's timeouts.
final class TLSStream: ByteStream {
    private let ssl: OpaquePointer
    /// Kept open as long as the session uses its descriptor.
    private let socket: Socket

    init(ssl: OpaquePointer, socket: Socket) {
        self.ssl = ssl
        self.socket = socket
    }

    deinit {
        // Sends close_notify without waiting for the peer's: the connection is done with either way.
        SSL_shutdown(ssl)
        SSL_free(ssl)
    }

    func writeAll(_ bytes: [UInt8]) throws(Socket.Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32(min($0.count, Int(Int32.max)))) }
            guard n > 0 else { throw failure(n, "TLS send") }
            offset += Int(n)
        }
    }

    func read(max: Int = 65536) throws(Socket.Failure) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max)
        let n = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
        if n > 0 {
            buffer.removeLast(max - Int(n))
            return buffer
        }
        if SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN { return [] }
        throw failure(n, "TLS recv")
    }

    /// What went wrong with the last call that returned `result`: a timeout
    /// or socket error (errno), or OpenSSL's reason.
    func failure(_ result: Int32, _ what: String) -> Socket.Failure {
        let code = errno
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_SYSCALL where code != 0:
            return Socket.lastError("io", what)
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            // Blocking socket with SO_RCVTIMEO/SO_SNDTIMEO: only a timeout gets here.
            return Socket.Failure(reason: "timeout", description: "\(what): timed out")
        case SSL_ERROR_SYSCALL:
            return Socket.Failure(reason: "io", description: "\(what): connection closed")
        default:
            return Socket.Failure(reason: "tls", description: "\(what): \(TLSContext.openSSLError())")
        }
    }
}
