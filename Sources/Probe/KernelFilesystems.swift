import Glibc

/// The pseudo-filesystems the probe needs: tracefs (tracepoint ids for
/// attaching) and bpffs. Mounted on demand, as a user expects of a tool run with sudo.
public enum KernelFilesystems {
    public static let tracefs = "/sys/kernel/tracing"
    public static let bpffs = "/sys/fs/bpf"

    /// Whether `path` has a filesystem of `type` mounted on it.
    public static func isMounted(_ path: String, type: String) -> Bool {
        guard let mounts = readText("/proc/self/mounts", limit: 1 << 20) else { return false }
        return mounts.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 2 && fields[1] == path && fields[2] == type
        }
    }

    /// Mounts tracefs and bpffs where they are missing; returns what it mounted.
    @discardableResult
    public static func mountIfNeeded() throws(ProbeError) -> [String] {
        var mounted: [String] = []
        for (path, type) in [(tracefs, "tracefs"), (bpffs, "bpf")] where !isMounted(path, type: type) {
            if mount(type, path, type, 0, nil) != 0 {
                throw .mountFailed(what: type, path: path, errno: errno)
            }
            mounted.append("\(type) on \(path)")
        }
        return mounted
    }

    /// Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or
    /// /sys/fs/cgroup/unified on hybrid systems), or nil.
    public static func cgroup2Root() -> String? {
        readText("/proc/self/mounts", limit: 1 << 20).flatMap { mountPoint(ofType: "cgroup2", in: $0) }
    }

    /// The first mount point of a filesystem type in a mounts table (/proc/self/mounts), or nil.
    static func mountPoint(ofType type: String, in mounts: String) -> String? {
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count > 2, fields[2] == type { return String(fields[1]) }
        }
        return nil
    }

    /// Whether the kernel has tracepoint `category/name` (tracefs must be mounted).
    public static func hasTracepoint(_ category: String, _ name: String) -> Bool {
        access("\(tracefs)/events/\(category)/\(name)/id", F_OK) == 0
    }
}
