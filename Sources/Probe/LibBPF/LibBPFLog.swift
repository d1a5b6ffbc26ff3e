internal import CLibBPF
import Glibc
import Synchronization

/// libbpf's messages. libbpf has one print hook per process, so this is the
/// one process-wide object of the wrapper: it keeps the last warnings so that
/// a `BPFError` can say what libbpf said, keeps the verifier's log of the
/// last program the kernel refused whole, and echoes everything to stderr
/// when PIPETRACE_DEBUG is set.
final class LibBPFLog: Sendable {
    static let shared = LibBPFLog()

    /// A program the kernel refused, with the verifier's whole log.
    struct Rejection: Sendable {
        var program: String
        var log: String
    }

    private struct State {
        var lines: [String] = []
        var rejection: Rejection?
    }

    private let state = Mutex(State())
    private let echo = getenv("PIPETRACE_DEBUG") != nil

    private init() {
        libbpf_set_print { level, format, args in
            guard let format, let args, let text = pt_format_message(format, args) else { return 0 }
            defer { free(text) }
            LibBPFLog.shared.record(level: level, String(cString: text))
            return 0
        }
    }

    /// Makes sure the hook is installed (first use of `shared`).
    static func install() { _ = shared }

    private static let programPrefix = "libbpf: prog '"
    private static let logStart = "': -- BEGIN PROG LOAD LOG --\n"
    private static let logEnd = "-- END PROG LOAD LOG --"

    private func record(level: libbpf_print_level, _ message: String) {
        if echo { StandardError.write("libbpf: \(message)") }
        guard level != LIBBPF_DEBUG else { return }
        // "libbpf: prog 'NAME': -- BEGIN PROG LOAD LOG --\n<log>-- END PROG LOAD LOG --\n": kept whole, apart.
        if message.hasPrefix(LibBPFLog.programPrefix), let start = message.firstRange(of: LibBPFLog.logStart) {
            let program = String(message[message.index(message.startIndex, offsetBy: LibBPFLog.programPrefix.count)..<start.lowerBound])
            var log = message[start.upperBound...]
            if let end = log.ranges(of: LibBPFLog.logEnd).last { log = log[..<end.lowerBound] }
            state.withLock { $0.rejection = Rejection(program: program, log: String(log)) }
            return
        }
        state.withLock { state in
            state.lines.append(message.hasSuffix("\n") ? String(message.dropLast()) : message)
            if state.lines.count > 20 { state.lines.removeFirst(state.lines.count - 20) }
        }
    }

    /// The warnings since the last call, oldest first.
    func drain() -> String {
        state.withLock { state in
            defer { state.lines.removeAll() }
            return state.lines.joined(separator: "\n")
        }
    }

    /// The last refused program and its verifier log, once.
    func takeRejection() -> Rejection? {
        state.withLock { state in
            defer { state.rejection = nil }
            return state.rejection
        }
    }
}
