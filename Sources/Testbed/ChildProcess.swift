import Glibc
import Synchronization

/// A program run as a child process: the one process runner of the demo,
/// the tests and the benches. Started with posix_spawn (argv[0] looked up in
/// PATH) with an empty signal mask and default dispositions for the signals
/// that stop it, so SIGTERM reaches it even when the parent blocks SIGTERM
/// (the CLI blocks it for `SignalWatcher`, test runners inherit it blocked).
/// Standard input is /dev/null or bytes; each output goes to a pipe read
/// here, a log file, or nowhere. A child still running at deinit is killed
/// (SIGKILL) and reaped.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: one thread uses an instance at a time (a test, the demo's run loop).

    /// Where one of the child's outputs goes.
    public enum Output: Sendable {
        /// A pipe this object reads (`readLine`, `readAll`).
        case pipe
        /// Appended to a file (created if missing); standard error joins standard output there.
        case appendTo(path: String)
        /// /dev/null.
        case discard

        var isPipe: Bool { if case .pipe = self { true } else { false } }
    }

    /// A command that could not start or did not exit 0.
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public let command: [String]
        public let status: Int32
        public let stderr: String

        public init(command: [String], status: Int32, stderr: String) {
            self.command = command
            self.status = status
            self.stderr = stderr
        }

        public var description: String { "`\(command.joined(separator: " "))` exited \(status): \(stderr)" }
    }

    /// What a command run to completion left: its exit status and both outputs.
    public struct Result: Sendable {
        /// The exit code, or 128 + the signal that ended it.
        public var status: Int32
        public var stdoutBytes: [UInt8]
        public var stderr: String
        public var stdout: String { String(decoding: stdoutBytes, as: UTF8.self) }
    }

    public let command: [String]
    public let pid: pid_t
    private var status: Int32?
    private var stdinPipe: Int32 = -1
    private var stdoutPipe: Int32 = -1
    private var stderrPipe: Int32 = -1
    private var stdoutBuffer: [UInt8] = []
    private var stderrBuffer: [UInt8] = []

    /// Starts `command` (leading NAME=value words set its environment, as
    /// with env(1)). `processGroup`: in a process group of its own, so a
    /// terminal's Ctrl-C reaches only the parent, which stops it in order.
    public convenience init(_ command: [String], output: Output = .pipe, processGroup: Bool = false) throws {
        try self.init(command, output: output, processGroup: processGroup, input: false)
    }

    /// `input`: standard input is a pipe whose write end is `stdinPipe`.
    private init(_ command: [String], output: Output, processGroup: Bool, input: Bool) throws {
        self.command = command
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t(), defaults = sigset_t()
        sigemptyset(&empty)
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if processGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        switch output {
        case .pipe: break
        case .appendTo(let path):
            posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        case .discard:
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        // Leading NAME=value words set the environment, as env(1) takes them.
        let argv = command.first?.contains("=") == true ? ["env"] + command : command
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        // Pipes are made and the child started under one lock: a child another thread
        // started in between would inherit these pipes' ends (pipe2's O_CLOEXEC is not
        // in Swift's Glibc module) and hold them open after this child ends.
        var pipes: [Int32] = [-1, -1, -1] // the parent's ends: stdin, stdout, stderr
        var childEnds: [Int32] = []
        var child: pid_t = 0
        let result: Int32 = ChildProcess.spawning.withLock { _ in
            let wanted = [input, output.isPipe, output.isPipe]
            for (fd, wanted) in wanted.enumerated() where wanted {
                var ends: [Int32] = [0, 0]
                guard Glibc.pipe(&ends) == 0 else { return errno }
                for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
                // stdin's read end goes to the child; stdout's and stderr's write ends.
                let (mine, theirs) = fd == 0 ? (ends[1], ends[0]) : (ends[0], ends[1])
                pipes[fd] = mine
                childEnds.append(theirs)
                posix_spawn_file_actions_adddup2(&actions, theirs, Int32(fd))
            }
            if !input { posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) }
            if argv.isEmpty { return ENOENT }
            return posix_spawnp(&child, argv[0], &actions, &attributes, &cArgs, environ)
        }
        for fd in childEnds { close(fd) }
        (stdinPipe, stdoutPipe, stderrPipe) = (pipes[0], pipes[1], pipes[2])
        guard result == 0 else {
            for fd in pipes where fd >= 0 { close(fd) }
            throw Failure(command: command, status: -1, stderr: "cannot start \(command.first ?? "nothing"): \(String(cString: strerror(result)))")
        }
        pid = child
    }

    /// Serializes making pipes and starting children (see `init`).
    private static let spawning = Mutex(())

    deinit {
        if isRunning {
            Glibc.kill(pid, SIGKILL)
            _ = wait()
        }
        for fd in [stdinPipe, stdoutPipe, stderrPipe] where fd >= 0 { close(fd) }
    }

    /// Runs `command` to its end with `input` on its standard input; both
    /// outputs are read as they come (poll), so no pipe fills up.
    public static func run(_ command: [String], input: [UInt8] = []) throws -> Result {
        let child = try ChildProcess(command, output: .pipe, processGroup: false, input: true)
        var writer = child.stdinPipe, written = 0
        child.stdinPipe = -1
        if input.isEmpty {
            close(writer)
            writer = -1
        } else {
            _ = fcntl(writer, F_SETFL, O_NONBLOCK)
        }
        // A child that exits without reading its input must not take this process with it:
        // SIGPIPE is blocked on this thread while it writes (a write then fails with EPIPE)
        // and one it raised is taken before the mask is restored.
        var pipeSignal = sigset_t(), previousMask = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, &previousMask)
        defer {
            var info = siginfo_t(), zero = timespec()
            while sigtimedwait(&pipeSignal, &info, &zero) == SIGPIPE {}
            pthread_sigmask(SIG_SETMASK, &previousMask, nil)
        }
        var open = [child.stdoutPipe, child.stderrPipe]
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while open.contains(where: { $0 >= 0 }) || writer >= 0 {
            var fds = [pollfd(fd: open[0], events: Int16(POLLIN), revents: 0), pollfd(fd: open[1], events: Int16(POLLIN), revents: 0),
                       pollfd(fd: writer, events: Int16(POLLOUT), revents: 0)]
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for i in 0..<2 where open[i] >= 0 && fds[i].revents != 0 {
                let n = read(open[i], &chunk, chunk.count)
                if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                if n <= 0 { open[i] = -1; continue }
                if i == 0 { child.stdoutBuffer += chunk[..<n] } else { child.stderrBuffer += chunk[..<n] }
            }
            if writer >= 0 && fds[2].revents != 0 {
                let n = input[written...].withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }
                if n > 0 { written += n }
                if (n < 0 && errno != EINTR && errno != EAGAIN) || written == input.count { close(writer); writer = -1 }
            }
        }
        let status = child.wait()
        return Result(status: status, stdoutBytes: child.stdoutBuffer,
                      stderr: String(decoding: child.stderrBuffer, as: UTF8.self))
    }

    /// Runs `command` to its end; its standard output, or a `Failure` with its standard error if it did not exit 0.
    @discardableResult
    public static func check(_ command: [String]) throws -> String {
        let result = try run(command)
        guard result.status == 0 else { throw Failure(command: command, status: result.status, stderr: result.stderr) }
        return result.stdout
    }

    /// The full path of `name` in PATH (and the sbin directories sudo may leave out), or nil.
    public static func find(_ name: String) -> String? {
        let path = (getenv("PATH").map { String(cString: $0) } ?? "") + ":/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Whether it is still running (reaps it if not).
    public var isRunning: Bool {
        if status != nil { return false }
        var s: Int32 = 0
        if waitpid(pid, &s, WNOHANG) == pid { status = s; return false }
        return true
    }

    public func signal(_ number: Int32) {
        if status == nil { Glibc.kill(pid, number) }
    }

    /// Waits for it to end: its exit code, or 128 + the signal that ended it.
    @discardableResult
    public func wait() -> Int32 {
        if status == nil {
            var s: Int32 = 0
            while waitpid(pid, &s, 0) < 0 && errno == EINTR {}
            status = s
        }
        let s = status ?? 0
        return s & 0x7f == 0 ? (s >> 8) & 0xff : 128 + (s & 0x7f)
    }

    /// SIGTERM, up to `grace` seconds to exit, then SIGKILL; always reaps.
    public func stop(grace: Double = 3) {
        guard isRunning else { return }
        Glibc.kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + .milliseconds(Int(grace * 1000))
        while isRunning && ContinuousClock.now < deadline { usleep(20_000) }
        if isRunning { Glibc.kill(pid, SIGKILL) }
        wait()
    }

    /// The next line of standard output (blocking), or nil at its end.
    public func readLine() -> String? { ChildProcess.nextLine(stdoutPipe, &stdoutBuffer) }

    /// The next line of standard error (blocking), or nil at its end.
    public func readErrorLine() -> String? { ChildProcess.nextLine(stderrPipe, &stderrBuffer) }

    /// Standard output to its end (blocking).
    public func readAll() -> String { ChildProcess.rest(stdoutPipe, &stdoutBuffer) }

    /// Standard error to its end (blocking).
    public func readAllErrors() -> String { ChildProcess.rest(stderrPipe, &stderrBuffer) }

    private static func nextLine(_ fd: Int32, _ buffer: inout [UInt8]) -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0a) {
                defer { buffer.removeSubrange(...newline) }
                return String(decoding: buffer[..<newline], as: UTF8.self)
            }
            guard readMore(fd, &buffer) else {
                if buffer.isEmpty { return nil }
                defer { buffer = [] }
                return String(decoding: buffer, as: UTF8.self)
            }
        }
    }

    private static func rest(_ fd: Int32, _ buffer: inout [UInt8]) -> String {
        while readMore(fd, &buffer) {}
        defer { buffer = [] }
        return String(decoding: buffer, as: UTF8.self)
    }

    /// Appends what the pipe has (blocking); false at its end (or with no pipe).
    private static func readMore(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
        guard fd >= 0 else { return false }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            buffer += chunk[..<n]
            return true
        }
    }
}
