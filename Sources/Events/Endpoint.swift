/// One end of a TCP connection.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// "10.0.0.1:80", "[::1]:80".
    public var description: String {
        address.isIPv4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }
}

/// A connection as seen from one of its ends: which end is this process's.
public struct SocketTuple: Hashable, Sendable {
    public var local: Endpoint
    public var remote: Endpoint

    public init(local: Endpoint, remote: Endpoint) {
        self.local = local
        self.remote = remote
    }

    /// The same connection seen from the other end.
    public var reversed: SocketTuple { SocketTuple(local: remote, remote: local) }
}
