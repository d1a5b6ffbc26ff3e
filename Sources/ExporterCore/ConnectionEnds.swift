/// A TCP connection's two ends, as addresses in text and ports: what the
/// HTTP client tells as it connects, and what `OwnTraffic` matches records by.
public struct ConnectionEnds: Sendable, Hashable {
    public var localIP: String
    public var localPort: UInt16
    public var remoteIP: String
    public var remotePort: UInt16

    public init(localIP: String, localPort: UInt16, remoteIP: String, remotePort: UInt16) {
        self.localIP = localIP
        self.localPort = localPort
        self.remoteIP = remoteIP
        self.remotePort = remotePort
    }
}
