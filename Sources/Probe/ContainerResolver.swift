import Events
import Glibc

/// Names where a process lives, the `container` everywhere in pipetrace:
/// its container (by name where the runtime's state is readable, else by
/// short id) when its cgroup is a container's, else the `ip netns` name of
/// its network namespace, else "host" (or "netns:<inode>" for an unnamed
/// namespace that is not the host's).
///
/// The container comes from the event's cgroup id first: the id is the inode
/// of the cgroup's directory in the v2 hierarchy, found by walking it once per
/// new id and remembered, so a process that has exited (or an event raised in
/// softirq context, which carries the socket owner's cgroup) is still named.
/// On hosts with cgroup v1 controllers, where a container may sit in a v1
/// controller only, /proc/PID/cgroup is read too, and remembered per process.
public final class ContainerResolver {
    private let netnsDirectory: String
    private let procRoot: String
    private let runtimeState: ContainerRuntimeState
    /// The cgroup v2 hierarchy's mount point; nil without one.
    private let cgroup2Root: String?
    /// Whether cgroup v1 controllers are mounted (hybrid and v1-only hosts).
    private let hasCgroupV1: Bool
    private var netnsNames: [UInt32: String] = [:]
    private var lastNetnsScan: UInt64 = 0
    /// The container of each cgroup v2 id seen (nil: a cgroup that is no container's).
    private var cgroupContainers: [UInt64: ContainerID?] = [:]
    /// cgroup ids a walk of the hierarchy did not find (removed before they were seen).
    private var missingCgroups: Set<UInt64> = []
    /// The container of processes found by /proc/PID/cgroup, kept for when they have exited.
    private var processContainers: [UInt32: ContainerID] = [:]
    /// Names from the runtimes' state, by full id (nil: none readable).
    private var names: [String: String?] = [:]
    /// Labels already worked out. Forgotten every second (`forgetIfDue`), so
    /// renamed namespaces and new containers show.
    private var resolved: [ResolvedKey: ContainerLabel] = [:]
    private var resolvedSince: UInt64 = 0
    public let hostNetns: UInt32
    /// The container pipetrace itself runs in, if any: its processes are named
    /// as on a host (pipetrace run inside a CI job's container, say).
    private let ownContainer: ContainerID?
    /// Entries each cache keeps at most; a full cache starts again.
    private static let cacheLimit = 16_384

    private struct ResolvedKey: Hashable {
        let pid: UInt32
        let netns: UInt32
        let cgroupID: UInt64
    }

    /// `stateRoot`: where the container runtimes' state lies ("/" on a host).
    public init(netnsDirectory: String = "/run/netns", procRoot: String = "/proc", stateRoot: String = "/") {
        self.netnsDirectory = netnsDirectory
        self.procRoot = procRoot
        runtimeState = ContainerRuntimeState(root: stateRoot)
        let mounts = readText("/proc/self/mounts", limit: 1 << 20) ?? ""
        cgroup2Root = KernelFilesystems.mountPoint(ofType: "cgroup2", in: mounts)
        hasCgroupV1 = KernelFilesystems.mountPoint(ofType: "cgroup", in: mounts) != nil
        // PID 1's namespace is the host's; where /proc/1 is hidden (a sandbox), ours is.
        hostNetns = ContainerResolver.inode(of: "\(procRoot)/1/ns/net")
            ?? ContainerResolver.inode(of: "\(procRoot)/self/ns/net") ?? 0
        ownContainer = readText("\(procRoot)/self/cgroup").flatMap(ContainerID.init(cgroupFile:))
        scanNetns()
    }

    /// The label for a process (pid may be 0 when unknown). The per-event
    /// path keeps the last labels in front of this (`EventDecoder`).
    public func label(pid: UInt32, netns: UInt32, cgroupID: UInt64) -> ContainerLabel {
        let key = ResolvedKey(pid: pid, netns: netns, cgroupID: cgroupID)
        if let label = resolved[key] { return label }
        let label = resolve(pid: pid, netns: netns, cgroupID: cgroupID)
        if resolved.count >= Self.cacheLimit { resolved.removeAll(keepingCapacity: true) }
        resolved[key] = label
        return label
    }

    /// Forgets the labels worked out when they are a second old; says whether
    /// it did, so that labels kept in front of this are forgotten too.
    public func forgetIfDue() -> Bool {
        let now = Probe.monotonicNow() / 1_000_000
        guard now - resolvedSince >= 1000 else { return false }
        resolved.removeAll(keepingCapacity: true)
        resolvedSince = now
        return true
    }

    private func resolve(pid: UInt32, netns: UInt32, cgroupID: UInt64) -> ContainerLabel {
        if let container = container(pid: pid, cgroupID: cgroupID), container != ownContainer {
            return ContainerLabel(name: name(of: container) ?? container.short, id: container.short)
        }
        if let name = netnsName(netns) { return ContainerLabel(name: name) }
        return ContainerLabel(name: netns == hostNetns || netns == 0 ? "host" : "netns:\(netns)")
    }

    private func container(pid: UInt32, cgroupID: UInt64) -> ContainerID? {
        let known = cgroupID == 0 ? nil : cgroupContainer(cgroupID)
        if case .some(.some(let container)) = known { return container }
        // The cgroup v2 names no container: on a host with v1 controllers the
        // process may still be in one there; with no cgroup known, ask /proc.
        guard pid != 0, hasCgroupV1 || known == nil else { return nil }
        guard let text = readText("\(procRoot)/\(pid)/cgroup") else { return processContainers[pid] }
        let container = ContainerID(cgroupFile: text)
        if processContainers.count >= Self.cacheLimit { processContainers.removeAll(keepingCapacity: true) }
        processContainers[pid] = container
        return container
    }

    /// The container of a cgroup v2 id; nil when the id is not found in the hierarchy.
    private func cgroupContainer(_ cgroupID: UInt64) -> ContainerID?? {
        if let known = cgroupContainers[cgroupID] { return known }
        guard !missingCgroups.contains(cgroupID), let root = cgroup2Root else { return nil }
        // A new id: the cgroup was made since the last walk (or before, unseen). Walk again.
        if cgroupContainers.count >= Self.cacheLimit { cgroupContainers.removeAll(keepingCapacity: true) }
        ContainerResolver.walkCgroups(root) { id, path in
            if cgroupContainers[id] == nil { cgroupContainers[id] = .some(ContainerID(cgroupPath: path)) }
        }
        if let known = cgroupContainers[cgroupID] { return known }
        if missingCgroups.count >= Self.cacheLimit { missingCgroups.removeAll(keepingCapacity: true) }
        missingCgroups.insert(cgroupID)
        return nil
    }

    private func name(of container: ContainerID) -> String? {
        if let known = names[container.full] { return known }
        let name = runtimeState.name(of: container)
        if names.count >= Self.cacheLimit { names.removeAll(keepingCapacity: true) }
        names[container.full] = name
        return name
    }

    /// The network namespace inode of an `ip netns` name, or nil.
    public func netns(named name: String) -> UInt32? {
        guard !name.contains("/") else { return nil }
        return ContainerResolver.inode(of: "\(netnsDirectory)/\(name)")
    }

    /// The cgroup v2 ids of the containers whose name is `query` or whose id
    /// starts with it (a podman container's payload cgroup below its scope included).
    public func cgroups(ofContainer query: String) -> Set<UInt64> {
        guard let root = cgroup2Root, !query.isEmpty else { return [] }
        var found: Set<UInt64> = []
        ContainerResolver.walkCgroups(root) { id, path in
            guard let container = ContainerID(cgroupPath: path) else { return }
            if container.full.hasPrefix(query.lowercased()) || name(of: container) == query { found.insert(id) }
        }
        return found
    }

    private func netnsName(_ netns: UInt32) -> String? {
        if let name = netnsNames[netns] { return name }
        // A namespace created after the last scan: look again, at most every 100 ms.
        let ms = Probe.monotonicNow() / 1_000_000
        if ms - lastNetnsScan >= 100 {
            lastNetnsScan = ms
            scanNetns()
        }
        return netnsNames[netns]
    }

    private func scanNetns() {
        var names: [UInt32: String] = [:]
        for name in ContainerResolver.entries(of: netnsDirectory) {
            if let inode = ContainerResolver.inode(of: "\(netnsDirectory)/\(name)") { names[inode] = name }
        }
        netnsNames = names
    }

    /// Every cgroup below `root` (itself included) with its id, the inode of
    /// its directory (kernfs reports it as each entry's d_ino), and its path
    /// from the root ("/" for the root). Breadth first, at most 1M cgroups.
    static func walkCgroups(_ root: String, _ body: (UInt64, String) -> Void) {
        guard let rootID = inode64(of: root) else { return }
        body(rootID, "/")
        var queue = [""]
        var next = 0
        while next < queue.count, queue.count < 1 << 20 {
            let relative = queue[next]
            next += 1
            guard let dir = opendir(root + relative) else { continue }
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                guard entry.pointee.d_type == UInt8(DT_DIR) else { continue }
                let name = entryName(entry)
                guard name != ".", name != ".." else { continue }
                let path = relative + "/" + name
                body(UInt64(entry.pointee.d_ino), path)
                queue.append(path)
            }
        }
    }

    /// The names in a directory, without "." and "..".
    static func entries(of path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = entryName(entry)
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    private static func entryName(_ entry: UnsafeMutablePointer<dirent>) -> String {
        withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    static func inode(of path: String) -> UInt32? {
        inode64(of: path).map { UInt32(truncatingIfNeeded: $0) }
    }

    static func inode64(of path: String) -> UInt64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return UInt64(st.st_ino)
    }
}

/// A small text file read whole (/proc and /sys files), or nil.
func readText(_ path: String, limit: Int = 1 << 16) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while out.count < limit {
        let n = read(fd, &buffer, min(buffer.count, limit - out.count))
        if n <= 0 { break }
        out.append(contentsOf: buffer[0..<n])
    }
    return String(decoding: out, as: UTF8.self)
}
