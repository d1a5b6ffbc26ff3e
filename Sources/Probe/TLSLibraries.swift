import Glibc

/// The TLS libraries the probe reads plaintext from: finds libssl in every
/// process (at start, after each exec, and again every few seconds for
/// libraries loaded later with dlopen, as Python's `ssl` is) and attaches the
/// TLS object's uprobes to each library file once. The kernel places a
/// uprobe on the file itself, so one attach covers every process that maps
/// it, in any container (the file is reached through /proc/PID/root).
final class TLSLibraries {
    /// A libssl file found, and the processes it was first found in.
    struct Library: Sendable {
        var path: String
        var processes: [(pid: Int32, comm: String)]
    }

    /// Which program attaches to which function.
    static let uprobes: [(program: String, function: String)] = [
        ("handle_ssl_write", "SSL_write"), ("handle_ssl_write_return", "SSL_write"),
        ("handle_ssl_write_ex", "SSL_write_ex"), ("handle_ssl_write_ex_return", "SSL_write_ex"),
        ("handle_ssl_read", "SSL_read"), ("handle_ssl_read_return", "SSL_read"),
        ("handle_ssl_read_ex", "SSL_read_ex"), ("handle_ssl_read_ex_return", "SSL_read_ex"),
        ("handle_ssl_do_handshake", "SSL_do_handshake"), ("handle_ssl_do_handshake_return", "SSL_do_handshake"),
    ]

    /// Files by device and inode, as /proc/PID/maps names them.
    private struct FileID: Hashable {
        var device: String
        var inode: UInt64
    }

    private let programs: [(program: BPFProgram, function: String)]
    /// Pids that ran a new program, filled by the kernel (tls.bpf.c's handle_exec).
    private let execs: BPFMap?
    private var nextExecCheck: UInt64 = 0
    private var links: [BPFLink] = []
    private var seen: [FileID: Int] = [:]
    private(set) var libraries: [Library] = []
    /// Files that could not be attached, with why (shown by `doctor`).
    private(set) var failures: [String] = []
    /// Processes to look at again, with when (CLOCK_MONOTONIC ns).
    private var due: [(pid: Int32, at: UInt64)] = []
    private var nextFullScan: UInt64 = 0
    /// Processes already found with libssl, not read again.
    private var covered: Set<Int32> = []

    static let fullScanInterval: UInt64 = 5_000_000_000

    init(object: BPFObject) {
        programs = TLSLibraries.uprobes.compactMap { pair in
            object.program(named: pair.program).map { ($0, pair.function) }
        }
        execs = object.maps.execs
    }

    /// Looks at every process now.
    func scanAll(now: UInt64) {
        nextFullScan = now + TLSLibraries.fullScanInterval
        guard let dir = opendir("/proc") else { return }
        defer { closedir(dir) }
        var alive: Set<Int32> = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = Int32(name) else { continue }
            alive.insert(pid)
            if !covered.contains(pid) { scan(pid: pid) }
        }
        covered.formIntersection(alive)
    }

    /// A process ran a new program: look at it shortly, once its libraries are mapped, and again a second later.
    func noteExec(pid: Int32, now: UInt64) {
        covered.remove(pid)
        if due.count < 4096 {
            due.append((pid, now + 100_000_000))
            due.append((pid, now + 1_000_000_000))
        }
    }

    /// Does what is due: processes after their exec, and the periodic full scan.
    func work(now: UInt64) {
        if now >= nextFullScan { scanAll(now: now) }
        if now >= nextExecCheck, let execs {
            nextExecCheck = now + 50_000_000
            for pid in execs.takeKeys(UInt32.self, limit: 4096) { noteExec(pid: Int32(bitPattern: pid), now: now) }
        }
        guard due.contains(where: { $0.at <= now }) else { return }
        let ready = due.filter { $0.at <= now }
        due.removeAll { $0.at <= now }
        for (pid, _) in ready where !covered.contains(pid) { scan(pid: pid) }
    }

    private func scan(pid: Int32) {
        guard let maps = TLSLibraries.read("/proc/\(pid)/maps") else { return }
        for line in maps.split(separator: "\n") {
            // address perms offset dev inode path
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, let inode = UInt64(fields[4]), inode != 0 else { continue }
            let path = fields[5].trimmingLeadingSpaces
            guard TLSLibraries.isLibSSL(path) else { continue }
            covered.insert(pid)
            let id = FileID(device: String(fields[3]), inode: inode)
            let comm = (TLSLibraries.read("/proc/\(pid)/comm") ?? "").split(separator: "\n").first.map(String.init) ?? ""
            if let index = seen[id] {
                if libraries[index].processes.count < 16, !libraries[index].processes.contains(where: { $0.pid == pid }) {
                    libraries[index].processes.append((pid, comm))
                }
                continue
            }
            seen[id] = libraries.count
            libraries.append(Library(path: String(path), processes: [(pid, comm)]))
            attach("/proc/\(pid)/root\(path)", shownAs: String(path))
        }
    }

    private func attach(_ path: String, shownAs name: String) {
        var attached: [BPFLink] = []
        for (program, function) in programs {
            do {
                attached.append(try program.attach(uprobe: path, function: function))
            } catch {
                // SSL_read_ex and SSL_write_ex are OpenSSL 1.1.1+; an older libssl goes without them.
                if function.hasSuffix("_ex") { continue }
                failures.append("\(name): \(error.operation): \(String(cString: strerror(error.errno)))")
                return
            }
        }
        links += attached
    }

    /// "libssl.so.3", "libssl.so.1.1", "libssl.so": OpenSSL's library, not libssl3.so (NSS).
    static func isLibSSL<S: StringProtocol>(_ path: S) -> Bool {
        guard let name = path.split(separator: "/").last else { return false }
        return name == "libssl.so" || name.hasPrefix("libssl.so.")
    }

    private static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buffer[..<n]
            if out.count > 8 << 20 { break }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

private extension Substring {
    var trimmingLeadingSpaces: Substring { drop { $0 == " " } }
}
