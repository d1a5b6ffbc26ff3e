import Probe
import Glibc

/// A server the demo starts: spawned in its own process group with default
/// signal handling (the CLI blocks SIGINT and SIGTERM for `SignalWatcher`,
/// and a terminal's Ctrl-C must reach pipetrace, which then stops everything
/// in order, not the servers directly), output to a log file.
final class SpawnedProcess {
    let name: String
    let pid: pid_t
    let logPath: String
    private var status: Int32?

    /// Starts `argv` (argv[0] looked up in PATH) with stdout and stderr appended to `logPath`.
    init(name: String, _ argv: [String], logPath: String) throws {
        self.name = name
        self.logPath = logPath
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t(), defaults = sigset_t()
        sigemptyset(&empty)
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var child: pid_t = 0
        let result = posix_spawnp(&child, argv[0], &actions, &attributes, &cArgs, environ)
        guard result == 0 else {
            throw FailureMessage(text: "error: cannot start \(name) (\(argv[0])): \(String(cString: strerror(result)))")
        }
        pid = child
    }

    deinit { stop() }

    /// Whether it is still running (reaps it if not).
    var isRunning: Bool {
        if status != nil { return false }
        var s: Int32 = 0
        if waitpid(pid, &s, WNOHANG) == pid { status = s; return false }
        return true
    }

    /// SIGTERM, up to `grace` seconds to exit, then SIGKILL; always reaps.
    func stop(grace: Double = 3) {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Probe.monotonicNow() + UInt64(grace * 1e9)
        while isRunning && Probe.monotonicNow() < deadline { usleep(20_000) }
        if isRunning {
            kill(pid, SIGKILL)
            var s: Int32 = 0
            waitpid(pid, &s, 0)
            status = s
        }
    }

    /// The last lines of its log, for an error message.
    func logTail(lines: Int = 5) -> String {
        guard let file = fopen(logPath, "r") else { return "" }
        defer { fclose(file) }
        var text: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            text += buffer[..<n]
            if text.count > 64 << 10 { text.removeFirst(text.count - (32 << 10)) }
        }
        return String(decoding: text, as: UTF8.self).split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}
