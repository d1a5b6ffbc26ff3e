import Testbed

/// Two network namespaces, "server" and "client", joined by a veth pair:
/// the hosts of a test. Uniquely named per instance; `remove()` (also run
/// on deinit) deletes them, so a failing test leaves nothing behind.
/// Built by Testbed's `NetworkNamespaces`.
public final class TestNetwork {
    public let server: String
    public let client: String
    public let serverAddress = "10.231.0.1"
    public let clientAddress = "10.231.0.2"
    public let serverAddress6 = "fd00:231::1"
    public let clientAddress6 = "fd00:231::2"
    private let namespaces = NetworkNamespaces()

    public init() throws {
        let id = TestNetwork.uniqueID()
        server = "pt\(id)s"
        client = "pt\(id)c"
        try namespaces.add(server)
        try namespaces.add(client)
        try namespaces.link("pt\(id)a", in: server, to: "pt\(id)b", in: client)
        for (ns, dev, address, address6) in [(server, "pt\(id)a", serverAddress, serverAddress6),
                                             (client, "pt\(id)b", clientAddress, clientAddress6)] {
            try namespaces.address("\(address)/24", device: dev, in: ns)
            try namespaces.address("\(address6)/64", device: dev, in: ns)
        }
    }

    /// A name part no other test network of this or another test process has at the same time.
    public static func uniqueID() -> String { NetworkNamespaces.uniqueID() }

    public func remove() { namespaces.remove() }

    /// A command line run inside namespace `ns`.
    public func exec(_ ns: String, _ command: [String]) -> [String] {
        NetworkNamespaces.exec(ns, command)
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
