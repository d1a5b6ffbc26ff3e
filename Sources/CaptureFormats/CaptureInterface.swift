/// A network device of one namespace, as a capture file names it: packets
/// are recorded per (namespace, device), since the same index means a
/// different device in each namespace.
public struct CaptureInterface: Sendable, Hashable {
    /// Inode of the network namespace.
    public var netns: UInt32
    /// The device's index in that namespace (0: none known).
    public var index: UInt32
    /// The device's name ("eth0"), or "if<index>" when it could not be read.
    public var name: String
    /// Where the namespace belongs: `ip netns` name, container id, or "host".
    public var container: String

    public init(netns: UInt32, index: UInt32, name: String, container: String) {
        self.netns = netns
        self.index = index
        self.name = name
        self.container = container
    }

    /// The interface's description for a reader: its namespace and container.
    public var comment: String { "Container: \(container)\nNetns: \(netns)" }
}
