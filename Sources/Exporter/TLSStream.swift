import COpenSSL
import Glibc

/// The bytes a connection carries, plain or through TLS: what the HTTP
/// client reads and writes, whichever the URL asked for.
protocol ByteStream: AnyObject {
    func writeAll(_ bytes: [UInt8]) throws(Socket.Failure)
    /// Reads up to `buffer.count` bytes into `buffer`: how many, 0 at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(Socket.Failure) -> Int
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

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(Socket.Failure) -> Int {
        let n = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
        if n > 0 { return Int(n) }
        if SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN { return 0 }
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
