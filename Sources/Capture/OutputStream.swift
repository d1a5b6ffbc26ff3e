import Glibc

/// Buffered writes to a file descriptor (stdout by default): one write(2)
/// per batch of events instead of one per line. A write that fails (disk
/// full, an I/O error) is kept in `failure`; a regular file is cut back to
/// the end of the last whole piece written (each `write` is one piece: a
/// pcapng block, a JSON line), so it stays readable.
public final class OutputStream {
    private let fd: Int32
    private var buffer: [UInt8] = []
    /// Where each piece in `buffer` ends.
    private var ends: [Int] = []
    /// Why the last write failed (strerror), once one has.
    public private(set) var failure: String?

    public init(fd: Int32 = 1) {
        self.fd = fd
        buffer.reserveCapacity(1 << 16)
    }

    deinit { flush() }

    public func write(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        ends.append(buffer.count)
        if buffer.count >= 1 << 16 { flush() }
    }

    public func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        ends.append(buffer.count)
        if buffer.count >= 1 << 16 { flush() }
    }

    public func flush() {
        defer {
            buffer.removeAll(keepingCapacity: true)
            ends.removeAll(keepingCapacity: true)
        }
        guard failure == nil, !buffer.isEmpty else { return }
        let start = lseek(fd, 0, SEEK_CUR)
        var offset = 0
        while offset < buffer.count {
            let n = buffer[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                failure = String(cString: strerror(n == 0 ? EIO : errno))
                // Only a regular file can be cut back (a pipe's reader already has the bytes).
                let whole = ends.last { $0 <= offset } ?? 0
                if start >= 0 { _ = ftruncate(fd, start + off_t(whole)) }
                return
            }
            offset += n
        }
    }

    /// Whether the descriptor is a terminal (for countdowns and colours).
    public var isTerminal: Bool { isatty(fd) == 1 }
}
