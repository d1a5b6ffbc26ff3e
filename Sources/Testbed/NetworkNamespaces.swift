import Glibc
import Synchronization

/// Network namespaces joined by veth pairs and bridges, built with `ip`:
/// the hosts of the demo, the tests and the benches, so nothing is added to
/// the host's network (links are made inside the namespaces, where their
/// names cannot clash with the host's). `remove()` (also run on deinit) kills
/// whatever still runs in them and deletes them, so a failed run leaves
/// nothing behind; building cleans up after itself when a step fails.
public final class NetworkNamespaces: @unchecked Sendable {
    // @unchecked: built and removed by one thread.

    /// The namespaces, in the order they were added.
    public private(set) var names: [String] = []
    private var removed = false

    public init() {}

    deinit { remove() }

    /// A name part no other namespace of this or another process of ours has
    /// at the same time: the pid, then a per-process count. Short enough for
    /// interface names (15 bytes: a two-letter prefix + id + one letter).
    public static func uniqueID() -> String {
        "\(getpid() % 100_000)x\(made.add(1, ordering: .relaxed).newValue % 10_000)"
    }

    private static let made = Atomic<Int>(0)

    /// Adds namespace `name` with its loopback up.
    public func add(_ name: String) throws {
        try ChildProcess.check(["ip", "netns", "add", name])
        names.append(name)
        try ip(name, "link", "set", "lo", "up")
    }

    /// Adds a bridge `device` inside namespace `ns`, up.
    public func addBridge(_ device: String, in ns: String) throws {
        try ip(ns, "link", "add", device, "type", "bridge")
        try ip(ns, "link", "set", device, "up")
    }

    /// A veth pair: `a` in namespace `aNamespace`, `b` in `bNamespace`, both up
    /// (with no address yet). `bridge`: `b` is made a port of that bridge in `bNamespace`.
    public func link(_ a: String, in aNamespace: String, to b: String, in bNamespace: String, bridge: String? = nil) throws {
        try ChildProcess.check(["ip", "link", "add", a, "netns", aNamespace, "type", "veth", "peer", "name", b, "netns", bNamespace])
        try ip(aNamespace, "link", "set", a, "up")
        if let bridge {
            try ip(bNamespace, "link", "set", b, "master", bridge, "up")
        } else {
            try ip(bNamespace, "link", "set", b, "up")
        }
    }

    /// Gives `device` in `ns` an address with its prefix ("10.0.0.1/24", "fd00::1/64"; IPv6 without duplicate detection).
    public func address(_ address: String, device: String, in ns: String) throws {
        try ip(ns, "addr", "add", address, "dev", device, address.contains(":") ? "nodad" : "")
    }

    /// A command line run inside namespace `ns`.
    public static func exec(_ ns: String, _ command: [String]) -> [String] {
        ["ip", "netns", "exec", ns] + command
    }

    /// Kills what runs in the namespaces and deletes them (once).
    public func remove() {
        guard !removed else { return }
        removed = true
        NetworkNamespaces.delete(names)
        names = []
    }

    /// Kills what runs in the namespaces that exist among `names` and deletes them:
    /// also what a crashed run left behind under fixed names.
    public static func delete(_ names: [String]) {
        for ns in names where access("/run/netns/\(ns)", F_OK) == 0 {
            let pids = ((try? ChildProcess.check(["ip", "netns", "pids", ns])) ?? "").split(separator: "\n").compactMap { Int32($0) }
            for pid in pids { kill(pid, SIGKILL) }
            _ = try? ChildProcess.run(["ip", "netns", "del", ns])
        }
    }

    private func ip(_ ns: String, _ arguments: String...) throws {
        try ChildProcess.check(["ip", "-n", ns] + arguments.filter { !$0.isEmpty })
    }
}
