import Foundation
import Glibc
import Synchronization

/// Two network namespaces, "server" and "client", joined by a veth pair:
/// the hosts of a test. Uniquely named per instance; `remove()` (also run
/// on deinit) deletes them, so a failing test leaves nothing behind.
public final class TestNetwork {
    public let server: String
    public let client: String
    public let serverAddress = "10.231.0.1"
    public let clientAddress = "10.231.0.2"
    public let serverAddress6 = "fd00:231::1"
    public let clientAddress6 = "fd00:231::2"
    private var removed = false
    private static let made = Atomic<Int>(0)

    public init() throws {
        let id = TestNetwork.uniqueID()
        server = "pt\(id)s"
        client = "pt\(id)c"
        do {
            try Shell.run(["ip", "netns", "add", server])
            try Shell.run(["ip", "netns", "add", client])
            try Shell.run(["ip", "link", "add", "pt\(id)a", "netns", server, "type", "veth",
                           "peer", "name", "pt\(id)b", "netns", client])
            for (ns, dev, address, address6) in [(server, "pt\(id)a", serverAddress, serverAddress6),
                                                 (client, "pt\(id)b", clientAddress, clientAddress6)] {
                try Shell.run(["ip", "-n", ns, "addr", "add", "\(address)/24", "dev", dev])
                try Shell.run(["ip", "-n", ns, "addr", "add", "\(address6)/64", "dev", dev, "nodad"])
                try Shell.run(["ip", "-n", ns, "link", "set", dev, "up"])
                try Shell.run(["ip", "-n", ns, "link", "set", "lo", "up"])
            }
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    /// A name part no other test network of this or another test process has
    /// at the same time: the pid, then a per-process count. Short enough for
    /// interface names (15 bytes: "pt" + id + one letter).
    public static func uniqueID() -> String {
        "\(getpid() % 100_000)x\(made.add(1, ordering: .relaxed).newValue % 10_000)"
    }

    public func remove() {
        guard !removed else { return }
        removed = true
        _ = try? Shell.run(["ip", "netns", "del", server])
        _ = try? Shell.run(["ip", "netns", "del", client])
    }

    /// A command line run inside namespace `ns`.
    public func exec(_ ns: String, _ command: [String]) -> [String] {
        ["ip", "netns", "exec", ns] + command
    }

    /// A counter of /proc/net/snmp ("Tcp", "RetransSegs") inside namespace `ns`.
    public func snmp(_ ns: String, _ group: String, _ field: String) throws -> Int {
        let text = try Shell.run(exec(ns, ["cat", "/proc/net/snmp"]))
        let lines = text.split(separator: "\n").filter { $0.hasPrefix(group + ":") }
        guard lines.count == 2 else { throw Shell.Failure(command: ["snmp"], status: -1, stderr: "no \(group) in /proc/net/snmp") }
        let names = lines[0].split(separator: " ")
        let values = lines[1].split(separator: " ")
        guard let i = names.firstIndex(of: Substring(field)), let v = Int(values[i]) else {
            throw Shell.Failure(command: ["snmp"], status: -1, stderr: "no \(field) in \(group)")
        }
        return v
    }
}
