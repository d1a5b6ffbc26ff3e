/// A container as its cgroup path names it: the runtime that made the
/// cgroup, when the path says, and the container's 64-hex-digit id. Pure:
/// parsed from text alone, so every layout is tested without a runtime.
public struct ContainerID: Sendable, Hashable {
    /// Whose naming the cgroup follows; `unknown` for a bare id
    /// (`/kubepods/besteffort/pod…/<id>`, `/ecs/…/<id>`), which any runtime makes.
    public enum Runtime: String, Sendable {
        case docker, containerd, crio, podman, unknown
    }

    public let runtime: Runtime
    /// The full id, 64 lower-case hex digits.
    public let full: String

    /// The first 12 digits, as `docker ps` shows an id.
    public var short: String { String(full.prefix(12)) }

    /// The container a cgroup path names, or nil. The deepest component that
    /// is a container wins (docker in docker), and a runtime's monitor
    /// (`crio-conmon-<id>.scope`, `libpod-conmon-<id>.scope`) is not its container.
    ///
    ///     /docker/<id>                                       docker, cgroupfs driver (v1 and v2)
    ///     /system.slice/docker-<id>.scope                    docker, systemd driver
    ///     /kubepods.slice/…/cri-containerd-<id>.scope        containerd under Kubernetes
    ///     /system.slice/nerdctl-<id>.scope                   containerd's nerdctl
    ///     /kubepods/burstable/pod<uid>/<id>                  Kubernetes, cgroupfs driver
    ///     /kubepods.slice/…/crio-<id>.scope                  cri-o
    ///     /machine.slice/libpod-<id>.scope/container         podman (its payload cgroup below the scope)
    public init?(cgroupPath path: some StringProtocol) {
        let components = String(path).split(separator: "/")
        for (index, component) in components.enumerated().reversed() {
            var name = Substring(component)
            if name.hasSuffix(".scope") { name = name.dropLast(".scope".count) }
            if Self.monitors.contains(where: { name.hasPrefix($0) }) { continue }
            var runtime = Runtime.unknown
            if let (prefix, made) = Self.prefixes.first(where: { name.hasPrefix($0.0) }) {
                name = name.dropFirst(prefix.count)
                runtime = made
            }
            guard name.utf8.count == 64, name.utf8.allSatisfy(Self.isHexDigit) else { continue }
            if runtime == .unknown, index > 0, components[index - 1] == "docker" { runtime = .docker }
            self.runtime = runtime
            full = name.lowercased()
            return
        }
        return nil
    }

    /// The container a /proc/PID/cgroup file names, or nil: the cgroup v2
    /// line first (`0::/…`), then the v1 lines (hybrid and v1-only hosts,
    /// where docker's cgroupfs driver puts a container only in the v1 controllers).
    public init?(cgroupFile text: String) {
        let paths = text.split(separator: "\n").compactMap { line -> (Bool, Substring)? in
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { return nil }
            return (fields[0] == "0" && fields[1].isEmpty, fields[2])
        }
        for (_, path) in paths.sorted(by: { $0.0 && !$1.0 }) {
            if let id = ContainerID(cgroupPath: path) { self = id; return }
        }
        return nil
    }

    /// Scope and directory prefixes of the runtimes.
    private static let prefixes: [(String, Runtime)] = [
        ("docker-", .docker), ("cri-containerd-", .containerd), ("nerdctl-", .containerd), ("crio-", .crio),
        ("libpod-", .podman),
    ]
    /// The cgroups of a runtime's monitor process, named for the container it watches.
    private static let monitors = ["crio-conmon-", "libpod-conmon-"]

    private static func isHexDigit(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
    }
}
