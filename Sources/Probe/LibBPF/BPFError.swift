import Glibc

/// A libbpf call failed. Carries what was attempted, errno, and libbpf's own
/// last words (its warnings, and the verifier's verdict on a load failure).
public struct BPFError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var errno: Int32
    public var details: String
    /// On a load failure: the program the verifier refused, if libbpf named it.
    public var rejection: VerifierRejection?

    public init(_ operation: String, errno: Int32, details: String = "", rejection: VerifierRejection? = nil) {
        self.operation = operation
        self.errno = errno
        self.details = details
        self.rejection = rejection
    }

    public var description: String {
        var text = "\(operation): \(String(cString: strerror(errno))) (errno \(errno))"
        if !details.isEmpty { text += "\n" + details }
        if let rejection { text += "\n" + rejection.description }
        return text
    }

    /// Builds the error for a libbpf call that returned a negative errno (or NULL and set errno).
    static func from(_ operation: String, result: Int32 = 0) -> BPFError {
        let code = result < 0 ? -result : Glibc.errno
        return BPFError(operation, errno: code == 0 ? EINVAL : code, details: LibBPFLog.shared.drain())
    }
}

/// A program the kernel's verifier refused: its name, how far the verifier
/// got, the log's last lines, and where the whole log was written.
public struct VerifierRejection: Sendable, CustomStringConvertible {
    public var program: String
    /// "processed N insns" from the log, when the verifier got that far.
    public var processedInstructions: Int?
    /// The log's last lines: where the reason is.
    public var lastLines: [String]
    /// The whole log, written to a file (0600) whose path this is; nil if it could not be written.
    public var logPath: String?

    /// Reads what the verifier said of `program` from its whole `log`, and
    /// writes the log to a private file in `directory`.
    init(program: String, log: String, directory: String) {
        self.program = program
        let lines = log.split(separator: "\n", omittingEmptySubsequences: true)
        lastLines = lines.suffix(8).map(String.init)
        processedInstructions = VerifierRejection.processedInstructions(in: lines.suffix(20))
        logPath = VerifierRejection.write(log, program: program, directory: directory)
    }

    /// The verifier's reason: its last line before the statistics.
    public var reason: String {
        lastLines.last { !$0.hasPrefix("processed ") && !$0.hasPrefix("verification time") && !$0.hasPrefix("stack depth") }
            ?? "no reason given"
    }

    /// One line: the program, how far the verifier got, its reason.
    public var summary: String {
        var text = "the kernel refused program \(program)"
        if let processedInstructions { text += " after \(processedInstructions) instructions" }
        return text + ": " + reason
    }

    /// The summary, then the log's last lines and where the whole log is.
    public var description: String {
        var text = summary + "\nthe verifier's last words:\n" + lastLines.map { "  " + $0 }.joined(separator: "\n")
        if let logPath { text += "\nthe whole verifier log: \(logPath)" }
        return text
    }

    /// "processed 105516 insns (limit 1000000) ..." -> 105516.
    static func processedInstructions<S: Sequence>(in lines: S) -> Int? where S.Element: StringProtocol {
        for line in lines.reversed() where line.hasPrefix("processed ") {
            if let number = line.dropFirst("processed ".count).split(separator: " ").first { return Int(number) }
        }
        return nil
    }

    private static func write(_ log: String, program: String, directory: String) -> String? {
        let path = "\(directory)/pipetrace-verifier-\(getpid())-\(program).log"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = Array(log.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { return nil }
            offset += n
        }
        bytes.removeAll()
        return path
    }
}
