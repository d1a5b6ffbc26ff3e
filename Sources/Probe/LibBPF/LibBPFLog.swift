internal import CLibBPF
import Glibc
import Synchronization

/// libbpf's messages. libbpf has one print hook per process, so this is the
/// one process-wide object of the wrapper: it keeps the last warnings so that
/// a `BPFError` can say what libbpf said, and echoes everything to stderr when
/// PIPETRACE_DEBUG is set.
final class LibBPFLog: Sendable {
    static let shared = LibBPFLog()

    private let lines = Mutex<[String]>([])
    private let echo = getenv("PIPETRACE_DEBUG") != nil

    private init() {
        libbpf_set_print { level, format, args in
            guard let format, let args else { return 0 }
            var buffer = [CChar](repeating: 0, count: 1024)
            _ = vsnprintf(&buffer, buffer.count, format, args)
            let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            LibBPFLog.shared.record(level: level, line)
            return 0
        }
    }

    /// Makes sure the hook is installed (first use of `shared`).
    static func install() { _ = shared }

    private func record(level: libbpf_print_level, _ line: String) {
        if echo { StandardError.write("libbpf: \(line)") }
        guard level != LIBBPF_DEBUG else { return }
        lines.withLock { lines in
            lines.append(line.hasSuffix("\n") ? String(line.dropLast()) : line)
            if lines.count > 20 { lines.removeFirst(lines.count - 20) }
        }
    }

    /// The warnings since the last call, oldest first.
    func drain() -> String {
        lines.withLock { lines in
            defer { lines.removeAll() }
            return lines.joined(separator: "\n")
        }
    }
}
