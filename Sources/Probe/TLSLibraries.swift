import GoBinary
import Glibc

/// A TLS implementation the probe reads plaintext from: a libssl file, or a
/// Go program's own crypto/tls.
public struct TLSLibrary: Sendable {
    public enum Kind: Sendable, Equatable {
        case openSSL
        /// A Go executable; its Go release when the binary names it ("go1.19.8").
        case goCryptoTLS(version: String?)
    }

    public var path: String
    public var kind: Kind
    /// Some of the processes it was found in (the first 16).
    public var processes: [(pid: Int32, comm: String)]
}

/// The TLS libraries the probe reads plaintext from: finds libssl in every
/// process (at start, after each exec, and again every few seconds for
/// libraries loaded later with dlopen, as Python's `ssl` is) and Go programs
/// that link crypto/tls (each process' executable), and attaches the TLS
/// object's uprobes to each file once. The kernel places a uprobe on the file
/// itself, so one attach covers every process that maps it, in any container
/// (the file is reached through /proc/PID/root or /proc/PID/exe).
final class TLSLibraries {
    typealias Library = TLSLibrary

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

    /// Which program attaches where in a Go binary: at the entry or at each return of Write or Read.
    static let goUprobes: [(program: String, function: String, atReturns: Bool)] = [
        ("handle_go_tls_write", GoTLSProbePoints.writeFunction, false),
        ("handle_go_tls_write_return", GoTLSProbePoints.writeFunction, true),
        ("handle_go_tls_read", GoTLSProbePoints.readFunction, false),
        ("handle_go_tls_read_return", GoTLSProbePoints.readFunction, true),
    ]

    /// Executables by device and inode, as fstat gives them.
    private struct ExecutableID: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    private let programs: [(program: BPFProgram, function: String)]
    /// Pids that ran a new program, filled by the kernel (tls.bpf.c's handle_exec).
    private let execs: BPFMap?
    private var nextExecCheck: UInt64 = 0
    private let goPrograms: [(program: BPFProgram, function: String, atReturns: Bool)]
    private var links: [BPFLink] = []
    private var seen: [FileID: Int] = [:]
    /// Every executable looked at, with its entry in `libraries` if it is a Go program with crypto/tls.
    private var executables: [ExecutableID: Int?] = [:]
    /// Processes whose executable was looked at (until they exec again).
    private var executableSeen: Set<Int32> = []
    private(set) var libraries: [Library] = []
    /// Files that could not be attached, with why (shown by `doctor`).
    private(set) var failures: [String] = []
    /// Processes to look at again, with when (CLOCK_MONOTONIC ns).
    private var due: [(pid: Int32, at: UInt64)] = []
    private var nextFullScan: UInt64 = 0
    /// Processes already found with libssl, not read again.
    private var covered: Set<Int32> = []

    static let fullScanInterval: UInt64 = 5_000_000_000

    /// `openSSL`, `go`: whether those features' programs are loaded (and so attached here).
    init(object: BPFObject, openSSL: Bool, go: Bool) {
        programs = openSSL ? TLSLibraries.uprobes.compactMap { pair in
            object.program(named: pair.program).map { ($0, pair.function) }
        } : []
        goPrograms = go ? TLSLibraries.goUprobes.compactMap { probe in
            object.program(named: probe.program).map { ($0, probe.function, probe.atReturns) }
        } : []
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
            if !covered.contains(pid) || !executableSeen.contains(pid) { scan(pid: pid) }
        }
        covered.formIntersection(alive)
        executableSeen.formIntersection(alive)
    }

    /// A process ran a new program: its executable now (a short-lived Go program is gone in milliseconds; once its
    /// file is attached, its next runs are seen), its libraries shortly, once mapped, and again a second later.
    func noteExec(pid: Int32, now: UInt64) {
        covered.remove(pid)
        executableSeen.remove(pid)
        if !goPrograms.isEmpty { scanExecutable(pid: pid) }
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
        for (pid, _) in ready where !covered.contains(pid) || !executableSeen.contains(pid) { scan(pid: pid) }
    }

    private func scan(pid: Int32) {
        if !goPrograms.isEmpty && !executableSeen.contains(pid) { scanExecutable(pid: pid) }
        guard !programs.isEmpty, !covered.contains(pid), let maps = TLSLibraries.read("/proc/\(pid)/maps") else { return }
        for line in maps.split(separator: "\n") {
            // address perms offset dev inode path
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, let inode = UInt64(fields[4]), inode != 0 else { continue }
            let path = fields[5].trimmingLeadingSpaces
            guard TLSLibraries.isLibSSL(path) else { continue }
            covered.insert(pid)
            let id = FileID(device: String(fields[3]), inode: inode)
            if let index = seen[id] {
                addProcess(pid, to: index)
                continue
            }
            seen[id] = libraries.count
            libraries.append(Library(path: String(path), kind: .openSSL, processes: [(pid, TLSLibraries.comm(of: pid))]))
            attach("/proc/\(pid)/root\(path)", shownAs: String(path))
        }
    }

    private func addProcess(_ pid: Int32, to index: Int) {
        guard libraries[index].processes.count < 16, !libraries[index].processes.contains(where: { $0.pid == pid }) else { return }
        libraries[index].processes.append((pid, TLSLibraries.comm(of: pid)))
    }

    private static func comm(of pid: Int32) -> String {
        (read("/proc/\(pid)/comm") ?? "").split(separator: "\n").first.map(String.init) ?? ""
    }

    /// Looks at the process' executable: a Go program with crypto/tls gets the Go uprobes, once per file.
    private func scanExecutable(pid: Int32) {
        let path = "/proc/\(pid)/exe"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return } // gone, or a kernel thread
        defer { close(fd) }
        executableSeen.insert(pid)
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return }
        let id = ExecutableID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        if let known = executables[id] {
            if let index = known { addProcess(pid, to: index) }
            return
        }
        executables[id] = .some(nil)
        let shown = TLSLibraries.link(path) ?? path
        let points: GoTLSProbePoints
        do {
            points = try TLSLibraries.withMapped(fd, size: Int(st.st_size)) { (bytes) throws(GoTLSProbePoints.Failure) in
                try GoTLSProbePoints(file: bytes)
            }
        } catch {
            switch error {
            case .notELF, .notGo, .noCryptoTLS, .unsupportedMachine: break // nothing to read plaintext from
            default:
                // Looked at again by a later scan, not given up on for good; said once.
                executables[id] = nil
                executableSeen.remove(pid)
                let failure = "\(shown): \(error)"
                if !failures.contains(failure) { failures.append(failure) }
            }
            return
        }
        executables[id] = libraries.count
        failures.removeAll { $0.hasPrefix("\(shown): ") } // an earlier try's, if any
        libraries.append(Library(path: shown, kind: .goCryptoTLS(version: points.goVersion), processes: [(pid, TLSLibraries.comm(of: pid))]))
        var attached: [BPFLink] = []
        for (program, function, atReturns) in goPrograms {
            let target = function == GoTLSProbePoints.writeFunction ? points.write : points.read
            for offset in atReturns ? target.returns : [target.entry] {
                do {
                    attached.append(try program.attach(uprobe: path, offset: offset))
                } catch {
                    // All or nothing: an entry without its returns would leave calls open.
                    failures.append("\(shown): \(error.operation): \(String(cString: strerror(error.errno)))")
                    return
                }
            }
        }
        links += attached
    }

    /// Runs `body` on the file's bytes, mapped read-only (only the pages read are loaded). Shared, not private: the
    /// kernel writes the breakpoints of every uprobe already on the file (another tracer's, another pipetrace's)
    /// into each private mapping of it, a read-only one too, so the rets would read as int3; it never does into
    /// a shared one (uprobes' valid_vma).
    private static func withMapped<T>(_ fd: Int32, size: Int, _ body: (UnsafeRawBufferPointer) throws(GoTLSProbePoints.Failure) -> T) throws(GoTLSProbePoints.Failure) -> T {
        guard size > 0, let base = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), base != MAP_FAILED else { throw .notELF }
        defer { munmap(base, size) }
        return try body(UnsafeRawBufferPointer(start: base, count: size))
    }

    private static func link(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
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
