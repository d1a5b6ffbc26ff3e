import Glibc

/// Files that hold traffic (captures, JSON lines, spooled batches):
/// readable and writable by their owner alone, whatever the umask, since
/// pipetrace runs as root and they may hold what any process sent.
public enum PrivateFile {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// An open descriptor, and the mode the file had when it already
    /// existed and others could read or write it (it is 0600 now).
    public struct Opened: Sendable {
        public let fd: Int32
        public let tightenedFrom: mode_t?

        /// What to tell the user when an existing file was made private.
        public func note(_ path: String) -> String? {
            tightenedFrom.map { "pipetrace: \(path) was mode \(String($0, radix: 8)); it is 0600 now (it holds traffic)\n" }
        }
    }

    /// Opens `path` for writing from its start (truncated), creating it 0600.
    /// A regular file is left 0600 whether it was created or not (so the
    /// umask cannot loosen it); a device or a pipe (/dev/stdout) keeps its mode.
    public static func create(_ path: String) throws(Failure) -> Opened {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot write \(path): \(String(cString: strerror(errno)))") }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return Opened(fd: fd, tightenedFrom: nil) }
        let mode = st.st_mode & 0o7777
        guard mode != 0o600 else { return Opened(fd: fd, tightenedFrom: nil) }
        guard fchmod(fd, 0o600) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "cannot make \(path) private (0600): \(reason)")
        }
        // Created just now with fewer bits than 0600 (a umask of 0o200, say): not worth a word.
        return Opened(fd: fd, tightenedFrom: mode & 0o077 != 0 ? mode : nil)
    }

    /// Writes `bytes` as the whole content of `path`, 0600.
    public static func write(_ bytes: [UInt8], to path: String) throws(Failure) {
        let fd = try create(path).fd
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "cannot write \(path): \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    /// Creates the directory (and its parents) if needed; it is left 0700.
    public static func makeDirectory(_ path: String) throws(Failure) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw Failure(description: "cannot create \(prefix): \(String(cString: strerror(errno)))")
            }
        }
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw Failure(description: "\(path) is not a directory")
        }
        guard st.st_mode & 0o7777 == 0o700 || chmod(path, 0o700) == 0 else {
            throw Failure(description: "cannot make \(path) private (0700): \(String(cString: strerror(errno)))")
        }
    }
}
