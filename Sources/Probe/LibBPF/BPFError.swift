import Glibc

/// A libbpf call failed. Carries what was attempted, errno, and libbpf's own
/// last words (its warnings, and the verifier log on a load failure).
public struct BPFError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var errno: Int32
    public var details: String

    public init(_ operation: String, errno: Int32, details: String = "") {
        self.operation = operation
        self.errno = errno
        self.details = details
    }

    public var description: String {
        var text = "\(operation): \(String(cString: strerror(errno))) (errno \(errno))"
        if !details.isEmpty { text += "\n" + details }
        return text
    }

    /// Builds the error for a libbpf call that returned a negative errno (or NULL and set errno).
    static func from(_ operation: String, result: Int32 = 0) -> BPFError {
        let code = result < 0 ? -result : Glibc.errno
        return BPFError(operation, errno: code == 0 ? EINVAL : code, details: LibBPFLog.shared.drain())
    }
}
