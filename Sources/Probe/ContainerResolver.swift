import Glibc

/// Names where a process lives, the `container` everywhere in pipetrace:
/// the `ip netns` name of its network namespace when it has one, else a
/// container id from /proc/PID/cgroup (docker, containerd, cri-o), else
/// "host" (or "netns:<inode>" for an unnamed namespace that is not the host's).
/// Reads /run/netns and /proc, caching what it learnt.
public final class ContainerResolver {
    private let netnsDirectory: String
    private let procRoot: String
    private var netnsNames: [UInt32: String] = [:]
    private var lastNetnsScan: UInt64 = 0
    private var containerIDs: [UInt64: String?] = [:]
    /// Names already worked out, by namespace and cgroup. Forgotten every
    /// second (`forgetIfDue`), so renamed namespaces and new containers show.
    private var resolved: [ResolvedKey: String] = [:]
    private var resolvedSince: UInt64 = 0
    public let hostNetns: UInt32

    private struct ResolvedKey: Hashable {
        let netns: UInt32
        let cgroupID: UInt64
    }

    public init(netnsDirectory: String = "/run/netns", procRoot: String = "/proc") {
        self.netnsDirectory = netnsDirectory
        self.procRoot = procRoot
        // PID 1's namespace is the host's; where /proc/1 is hidden (a sandbox), ours is.
        hostNetns = ContainerResolver.inode(of: "\(procRoot)/1/ns/net")
            ?? ContainerResolver.inode(of: "\(procRoot)/self/ns/net") ?? 0
        scanNetns()
    }

    /// The container name for a process (pid may be 0 when unknown). The
    /// per-event path keeps the last names in front of this (`EventDecoder`).
    public func name(pid: UInt32, netns: UInt32, cgroupID: UInt64) -> String {
        guard cgroupID != 0 else { return resolve(pid: pid, netns: netns, cgroupID: cgroupID) }
        let key = ResolvedKey(netns: netns, cgroupID: cgroupID)
        if let name = resolved[key] { return name }
        let name = resolve(pid: pid, netns: netns, cgroupID: cgroupID)
        resolved[key] = name
        return name
    }

    /// Forgets the names worked out when they are a second old; says whether
    /// it did, so that names kept in front of this are forgotten too.
    public func forgetIfDue() -> Bool {
        let now = ContainerResolver.monotonicMilliseconds()
        guard now - resolvedSince >= 1000 else { return false }
        resolved.removeAll(keepingCapacity: true)
        resolvedSince = now
        return true
    }

    private func resolve(pid: UInt32, netns: UInt32, cgroupID: UInt64) -> String {
        if let name = netnsName(netns) { return name }
        if let id = containerID(pid: pid, cgroupID: cgroupID) { return id }
        return netns == hostNetns || netns == 0 ? "host" : "netns:\(netns)"
    }

    private static func monotonicMilliseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
    }

    /// The network namespace inode of an `ip netns` name, or nil.
    public func netns(named name: String) -> UInt32? {
        guard !name.contains("/") else { return nil }
        return ContainerResolver.inode(of: "\(netnsDirectory)/\(name)")
    }

    /// cgroup ids of the running processes whose container id starts with `prefix`.
    public func cgroups(ofContainer prefix: String) -> Set<UInt64> {
        var found: Set<UInt64> = []
        for pid in ContainerResolver.pids(procRoot: procRoot) {
            guard let text = readText("\(procRoot)/\(pid)/cgroup"),
                  let id = ContainerResolver.containerID(inCgroupFile: text), id.hasPrefix(prefix),
                  let path = ContainerResolver.unifiedCgroupPath(inCgroupFile: text),
                  let cgroup = ContainerResolver.cgroupID(path: path) else { continue }
            found.insert(cgroup)
        }
        return found
    }

    private func netnsName(_ netns: UInt32) -> String? {
        if let name = netnsNames[netns] { return name }
        // A namespace created after the last scan: look again, at most every 100 ms.
        let ms = ContainerResolver.monotonicMilliseconds()
        if ms - lastNetnsScan >= 100 {
            lastNetnsScan = ms
            scanNetns()
        }
        return netnsNames[netns]
    }

    private func scanNetns() {
        var names: [UInt32: String] = [:]
        guard let dir = opendir(netnsDirectory) else { netnsNames = names; return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name != ".", name != "..", let inode = ContainerResolver.inode(of: "\(netnsDirectory)/\(name)") else { continue }
            names[inode] = name
        }
        netnsNames = names
    }

    private func containerID(pid: UInt32, cgroupID: UInt64) -> String? {
        if let cached = containerIDs[cgroupID] { return cached }
        guard pid != 0, let text = readText("\(procRoot)/\(pid)/cgroup") else { return nil }
        let id = ContainerResolver.containerID(inCgroupFile: text)
        if cgroupID != 0 { containerIDs[cgroupID] = id }
        return id
    }

    /// The short (12 hex digit) container id in a /proc/PID/cgroup file, or nil.
    /// Knows docker (`/docker/<id>`, `docker-<id>.scope`), containerd
    /// (`cri-containerd-<id>.scope`, `/kubepods/.../<id>`) and cri-o (`crio-<id>.scope`).
    public static func containerID(inCgroupFile text: String) -> String? {
        for line in text.split(separator: "\n") {
            guard let path = line.split(separator: ":", maxSplits: 2).last else { continue }
            for component in path.split(separator: "/").reversed() {
                var c = Substring(component)
                for prefix in ["docker-", "cri-containerd-", "crio-", "libpod-"] where c.hasPrefix(prefix) {
                    c = c.dropFirst(prefix.count)
                }
                if c.hasSuffix(".scope") { c = c.dropLast(".scope".count) }
                if c.count == 64, c.allSatisfy(\.isHexDigit) { return String(c.prefix(12)) }
            }
        }
        return nil
    }

    /// The cgroup v2 path ("0::/path") in a /proc/PID/cgroup file.
    static func unifiedCgroupPath(inCgroupFile text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("0::") {
            return String(line.dropFirst(3))
        }
        return nil
    }

    /// A cgroup v2 id is the inode of its directory.
    static func cgroupID(path: String) -> UInt64? {
        for root in ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"] {
            var st = stat()
            if stat(root + "/cgroup.controllers", &st) == 0 || root == "/sys/fs/cgroup/unified",
               stat(root + path, &st) == 0 {
                return UInt64(st.st_ino)
            }
        }
        return nil
    }

    static func inode(of path: String) -> UInt32? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return UInt32(truncatingIfNeeded: st.st_ino)
    }

    static func pids(procRoot: String) -> [Int32] {
        guard let dir = opendir(procRoot) else { return [] }
        defer { closedir(dir) }
        var pids: [Int32] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let pid = Int32(name) { pids.append(pid) }
        }
        return pids
    }
}

/// A small text file read whole (/proc and /sys files), or nil.
func readText(_ path: String, limit: Int = 1 << 16) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while out.count < limit {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        out.append(contentsOf: buffer[0..<n])
    }
    return String(decoding: out, as: UTF8.self)
}
