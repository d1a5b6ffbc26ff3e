import Foundation
import Glibc

/// cgroups laid out as container runtimes lay them out (`system.slice/docker-<id>.scope`,
/// `docker/<id>`, `kubepods…/cri-containerd-<id>.scope`), made below a uniquely
/// named cgroup under the test process's own, in the cgroup v2 hierarchy and,
/// where the machine has it, the v1 memory controller. Commands are started
/// inside them. `remove()` (also run on deinit) moves anything left back to
/// the test's cgroup and deletes every directory made, so a failing test
/// leaves nothing behind.
public final class TestCgroups {
    /// Where cgroup v2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts).
    public static let v2Mount: String? = mountPoint { type, options in type == "cgroup2" }
    /// Where the v1 memory controller is mounted, on hybrid and v1-only hosts; nil on pure cgroup v2.
    public static let v1MemoryMount: String? = mountPoint { type, options in
        type == "cgroup" && options.split(separator: ",").contains("memory")
    }

    private let v2Base: String?
    private let v1Base: String?
    /// Directories made, parents first.
    private var made: [String] = []
    private var removed = false

    public init() throws {
        let name = "pipetrace-test-\(TestNetwork.uniqueID())"
        let own = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? ""
        func base(_ mount: String?, _ matches: (Substring, Substring) -> Bool) -> String? {
            guard let mount else { return nil }
            for line in own.split(separator: "\n") {
                let f = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
                guard f.count == 3, matches(f[0], f[1]) else { continue }
                return mount + (f[2] == "/" ? "" : String(f[2])) + "/" + name
            }
            return nil
        }
        v2Base = base(Self.v2Mount) { id, controllers in id == "0" && controllers.isEmpty }
        v1Base = base(Self.v1MemoryMount) { _, controllers in controllers.split(separator: ",").contains("memory") }
        for dir in [v2Base, v1Base].compactMap({ $0 }) { try makeDirectory(dir) }
    }

    deinit { remove() }

    /// The cgroup v2 directory of `path` (below this test's cgroup): its inode is the cgroup id.
    public func v2Directory(_ path: String) -> String? { v2Base.map { $0 + "/" + path } }

    /// `command`, started inside the cgroup `v2` of the v2 hierarchy and `v1` of
    /// the v1 memory controller (either may be nil), made here if missing. The
    /// process joins them before it runs, so its first event is already theirs.
    public func command(v2: String?, v1: String?, _ command: [String]) throws -> [String] {
        var files: [String] = []
        for (base, path) in [(v2Base, v2), (v1Base, v1)] {
            guard let path else { continue }
            guard let base else { throw Shell.Failure(command: command, status: -1, stderr: "no cgroup hierarchy for \(path)") }
            var dir = base
            for part in path.split(separator: "/") {
                dir += "/" + part
                try makeDirectory(dir)
            }
            files.append(dir + "/cgroup.procs")
        }
        let joins = files.map { "echo $$ > '\($0)'" }.joined(separator: " && ")
        return ["sh", "-c", "\(joins) && exec \"$@\"", "sh"] + command
    }

    public func remove() {
        guard !removed else { return }
        removed = true
        for dir in made.reversed() {
            // Whatever is left goes back to the test's own cgroup (its base's parent) in that hierarchy.
            guard let base = [v2Base, v1Base].compactMap({ $0 }).first(where: { dir.hasPrefix($0) }) else { continue }
            let home = (base as NSString).deletingLastPathComponent
            let procs = (try? String(contentsOfFile: dir + "/cgroup.procs", encoding: .utf8)) ?? ""
            for pid in procs.split(separator: "\n") {
                try? String(pid).write(toFile: home + "/cgroup.procs", atomically: false, encoding: .utf8)
            }
            rmdir(dir)
        }
    }

    private func makeDirectory(_ dir: String) throws {
        if mkdir(dir, 0o755) == 0 {
            made.append(dir)
        } else if errno != EEXIST {
            throw Shell.Failure(command: ["mkdir", dir], status: errno, stderr: String(cString: strerror(errno)))
        }
    }

    private static func mountPoint(_ matches: (Substring, Substring) -> Bool) -> String? {
        let mounts = (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? ""
        for line in mounts.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count > 3, matches(f[2], f[3]) { return String(f[1]) }
        }
        return nil
    }
}
